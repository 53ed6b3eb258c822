import { ErrorCode, EventError } from "../../../core/index.js";

/** What one server accepts. Every limit has a default; all are positive integers. */
export interface ServerLimits {
  /** Largest payload of one event (default 1 MiB). */
  maxPayloadBytes: number;
  /** Most events in one Commit (default 1,000). */
  maxBatchEvents: number;
  /** Largest request body (default 16 MiB). */
  maxRequestBytes: number;
  /** Open Subscribe streams at once, per principal when auth is set (default 1,000). */
  maxSubscriptions: number;
  /** Most events in one Read page (default 1,000). */
  maxPageEvents: number;
  /**
   * Most events in one Subscribe message (default 256). A backlog goes out in several messages so
   * that the client decodes one while the server encodes the next; one message costs ~40 µs.
   */
  maxStreamEvents: number;
  /** Events queued per subscriber before the oldest are re-read from the store (default 4,096). */
  subscriberBuffer: number;
  /** Idle time after which a Subscribe stream sends a heartbeat (default 15 s). */
  heartbeatMs: number;
}

export const DEFAULT_LIMITS: Readonly<ServerLimits> = Object.freeze({
  maxPayloadBytes: 1 << 20,
  maxBatchEvents: 1000,
  maxRequestBytes: 16 << 20,
  maxSubscriptions: 1000,
  maxPageEvents: 1000,
  maxStreamEvents: 256,
  subscriberBuffer: 4096,
  heartbeatMs: 15_000,
});

/** The defaults overridden by `given`; `invalid_argument` for a limit that is not a positive integer. */
export function resolveLimits(given: Partial<ServerLimits> = {}): ServerLimits {
  const out = { ...DEFAULT_LIMITS, ...given };
  for (const [k, v] of Object.entries(out)) {
    if (!Number.isSafeInteger(v) || v < 1) {
      throw new EventError(ErrorCode.invalid_argument, `limit ${k} must be a positive integer, got ${String(v)}`);
    }
  }
  return out;
}
