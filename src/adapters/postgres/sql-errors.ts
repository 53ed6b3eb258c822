import { ErrorCode, EventError } from "../../core/index.js";

// SQLSTATEs raised by toka_commit, and the classes that mean "the database is not reachable".
const OWN: Record<string, ErrorCode> = {
  TK001: ErrorCode.failed_precondition,
  TK002: ErrorCode.failed_precondition,
  TK003: ErrorCode.already_exists,
  "23505": ErrorCode.already_exists,
  "40001": ErrorCode.aborted,
  "40P01": ErrorCode.aborted,
  "53300": ErrorCode.unavailable,
  "57P01": ErrorCode.unavailable,
  "57P02": ErrorCode.unavailable,
  "57P03": ErrorCode.unavailable,
};
const NETWORK = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "ENOTFOUND", "EHOSTUNREACH", "EAI_AGAIN"]);
const GONE = /connection terminated|connection (is )?closed|terminating connection|client has encountered a connection error|not queryable|Client was closed|timeout exceeded when trying to connect/i;

/** A SQL client's error as an EventError: constraint outcomes keep their meaning, outages are `unavailable`. */
export function fromSqlError(err: unknown): EventError {
  if (err instanceof EventError) return err;
  const e = (err ?? {}) as { code?: unknown; message?: unknown };
  const code = typeof e.code === "string" ? e.code : "";
  const message = typeof e.message === "string" ? e.message : String(err);
  const mapped = OWN[code] ?? (code.startsWith("08") || NETWORK.has(code) || GONE.test(message) ? ErrorCode.unavailable : undefined);
  if (mapped) return new EventError(mapped, mapped === ErrorCode.unavailable ? `database unavailable: ${message}` : message, { cause: err });
  return new EventError(ErrorCode.internal, `database error: ${message}`, { cause: err });
}
