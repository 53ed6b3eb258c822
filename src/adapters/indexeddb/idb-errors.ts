import { ErrorCode, EventError } from "../../core/index.js";

/**
 * An IndexedDB failure as an EventError: a full disk is `resource_exhausted`, a database closed
 * or deleted under the vault (eviction, "Clear site data", another tab's upgrade) is
 * `unavailable` (the vault reopens on the next call), a newer schema is `failed_precondition`.
 */
export function fromIdbError(err: unknown): EventError {
  if (err instanceof EventError) return err;
  const name = (err as { name?: unknown })?.name;
  const message = err instanceof Error ? err.message : String(err);
  switch (name) {
    case "QuotaExceededError":
      return new EventError(ErrorCode.resource_exhausted, `storage quota exceeded: ${message}`, { cause: err });
    case "InvalidStateError":
    case "TransactionInactiveError":
    case "UnknownError":
      return new EventError(ErrorCode.unavailable, `database is not available (closed, cleared or evicted): ${message}`, { cause: err });
    case "VersionError":
      return new EventError(ErrorCode.failed_precondition, `database was upgraded by a newer version of this app: ${message}`, { cause: err });
    case "AbortError":
      // The vault aborts its own transactions only for EventErrors, which it rethrows as they
      // are: a raw AbortError means the browser aborted it (database closed or cleared).
      return new EventError(ErrorCode.unavailable, `transaction aborted by the browser: ${message}`, { cause: err });
    default:
      return new EventError(ErrorCode.internal, `IndexedDB error: ${message}`, { cause: err });
  }
}
