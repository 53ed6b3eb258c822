import { ErrorCode, EventError } from "./errors.js";
import type { CallOptions, EventId } from "./types.js";
import { isUuid } from "./uuid.js";

/** Options of an event store's commit. */
export interface CommitOptions extends CallOptions {
  /**
   * Commit only once the event with this id is stored: a client with several batches in flight
   * names the last event of the batch before, so the store keeps them in the order they were sent
   * even when they arrive out of order. The store waits a bounded time (2 s) for that event, and
   * fails at once when that event's batch failed in this process; then `aborted` (retryable).
   */
  after?: EventId;
}

/** How long a batch waits for the event it must follow. */
const ORDER_WAIT_MS = 2000;
/** How many recent batches (in flight or settled) a store remembers. */
const REMEMBERED = 4096;
/** How often a batch whose predecessor is unknown here looks for it in the store. */
const RECHECK_MS = 25;

/** Throws `invalid_argument` for an `after` that is not an event id. */
export function checkAfter(after: unknown): void {
  if (after !== undefined && !isUuid(after)) {
    throw new EventError(ErrorCode.invalid_argument, `commit option after must be an event id (a UUID), got ${JSON.stringify(after)?.slice(0, 80)}`);
  }
}

/** Keeps batches that name `after` in the order their client sent them; see {@link createCommitSequencer}. */
export interface CommitSequencer {
  /** Runs `commit` once the event `opts.after` (if any) is stored; registers the batch's last event while it runs. */
  run<R>(events: unknown, opts: CommitOptions | undefined, commit: () => Promise<R>): Promise<R>;
}

/**
 * The ordering of one store's commits. Each batch registers its last event id while it commits; a
 * batch that names `after` waits for that batch when it runs in this process (and fails at once
 * when it failed), or else looks for the event with `has` until it shows up (it may come through
 * another connection, or another server on the same database) or {@link ORDER_WAIT_MS} runs out.
 */
export function createCommitSequencer(has: (id: EventId, o: CallOptions) => Promise<boolean>, waitMs = ORDER_WAIT_MS): CommitSequencer {
  /** Last event id of a batch → whether that batch was stored (pending while it commits). */
  const recent = new Map<string, Promise<boolean>>();
  /** Batches waiting for an id to be registered here. */
  const waiting = new Map<string, Set<() => void>>();

  function register(id: string, outcome: Promise<boolean>): void {
    recent.delete(id);
    recent.set(id, outcome);
    if (recent.size > REMEMBERED) recent.delete(recent.keys().next().value!);
    for (const wake of waiting.get(id) ?? []) wake();
  }

  /** Resolves when `id` is registered here, after `ms`, or when `signal` aborts. */
  function arrival(id: string, ms: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve) => {
      const set = waiting.get(id) ?? new Set();
      waiting.set(id, set);
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        set.delete(done);
        if (set.size === 0) waiting.delete(id);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener("abort", done, { once: true });
      set.add(done);
    });
  }

  async function follow(after: string, signal: AbortSignal | undefined): Promise<void> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const before = recent.get(after);
      if (before) {
        if (await before) return;
        throw new EventError(ErrorCode.aborted, `event ${after}, which this batch must follow, was not stored: its batch failed`, { details: { after } });
      }
      if (await has(after, { signal })) return;
      if (signal?.aborted) throw new EventError(ErrorCode.canceled, "operation was aborted", { cause: signal.reason });
      if (Date.now() >= deadline) {
        throw new EventError(ErrorCode.aborted, `event ${after}, which this batch must follow, is not stored (waited ${waitMs} ms)`, { details: { after } });
      }
      await arrival(after, Math.min(RECHECK_MS, deadline - Date.now()), signal);
    }
  }

  return {
    async run(events, opts, commit) {
      const after = opts?.after;
      checkAfter(after);
      // The batch itself is checked by `commit`; here only its last id matters, if it has one.
      const last = Array.isArray(events) ? (events.at(-1) as { header?: { id?: unknown } } | null)?.header?.id : undefined;
      let settle: ((stored: boolean) => void) | undefined;
      if (typeof last === "string") register(last, new Promise((resolve) => (settle = resolve)));
      try {
        if (after !== undefined) await follow(after, opts?.signal);
        const r = await commit();
        settle?.(true);
        return r;
      } catch (err) {
        settle?.(false);
        throw err;
      }
    },
  };
}
