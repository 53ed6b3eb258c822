/**
 * Error codes: the gRPC canonical names, mapped 1:1 to Connect codes on the wire.
 *
 * @example
 * if (err instanceof EventError && err.code === ErrorCode.already_exists) { ... }
 */
export const ErrorCode = {
  canceled: "canceled",
  unknown: "unknown",
  invalid_argument: "invalid_argument",
  deadline_exceeded: "deadline_exceeded",
  not_found: "not_found",
  already_exists: "already_exists",
  permission_denied: "permission_denied",
  resource_exhausted: "resource_exhausted",
  failed_precondition: "failed_precondition",
  aborted: "aborted",
  out_of_range: "out_of_range",
  unimplemented: "unimplemented",
  internal: "internal",
  unavailable: "unavailable",
  data_loss: "data_loss",
  unauthenticated: "unauthenticated",
} as const;

/** One of the {@link ErrorCode} values. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const codes = new Set<string>(Object.values(ErrorCode));

const retryable = new Set<string>([
  ErrorCode.unavailable,
  ErrorCode.deadline_exceeded,
  ErrorCode.aborted,
  ErrorCode.resource_exhausted,
]);

/** Optional extras of an {@link EventError}. */
export interface EventErrorOptions {
  /** Machine-readable context, e.g. `{ id }` of the offending event. */
  details?: Record<string, unknown>;
  /** The underlying error, kept as `Error.cause`. */
  cause?: unknown;
}

/**
 * The one error class of toka-events. Its `code` survives the wire.
 *
 * @example
 * throw new EventError("failed_precondition", `unknown parent ${id}`, { details: { id } });
 */
export class EventError extends Error {
  override name = "EventError";
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: EventErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = codes.has(code) ? code : ErrorCode.unknown;
    this.details = options.details;
  }

  /**
   * Turns anything thrown into an EventError: an EventError (also from another realm, by shape)
   * keeps its code; anything else becomes `fallback` with the original as `cause`.
   */
  static from(err: unknown, fallback: ErrorCode = ErrorCode.internal): EventError {
    try {
      if (err instanceof EventError) return err;
    } catch {
      // instanceof throws on a revoked proxy: treat it as anything else
    }
    const code = codeOf(err);
    if (code !== undefined) {
      const e = new EventError(code, messageOf(err), { cause: err });
      return e;
    }
    return new EventError(fallback, messageOf(err), { cause: err });
  }
}

// Both read whatever was thrown, which may be hostile (throwing getters, revoked proxies): they
// never throw themselves, so error handling cannot fail.
function codeOf(err: unknown): ErrorCode | undefined {
  try {
    if (typeof err !== "object" || err === null) return undefined;
    const { name, code } = err as { name?: unknown; code?: unknown };
    return name === "EventError" && typeof code === "string" && codes.has(code) ? (code as ErrorCode) : undefined;
  } catch {
    return undefined;
  }
}

function messageOf(err: unknown): string {
  try {
    return err instanceof Error ? String(err.message) : String(err);
  } catch {
    return "unprintable error";
  }
}

/**
 * True for errors worth retrying: `unavailable`, `deadline_exceeded`, `aborted`, `resource_exhausted`.
 * Accepts anything; non-EventErrors are not retryable.
 */
export function isRetryable(err: unknown): boolean {
  let code: ErrorCode | undefined;
  try {
    code = err instanceof EventError ? err.code : codeOf(err);
  } catch {
    return false;
  }
  return code !== undefined && retryable.has(code);
}

/** Throws `canceled` if the signal is aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw new EventError(ErrorCode.canceled, "operation was aborted", { cause: signal.reason });
  }
}
