import { ErrorCode, EventError } from "./errors.js";
import { kindFilter } from "./kind.js";
import type { ReadOptions } from "./types.js";

/** Validates read options, with defaults filled in. Shared by every vault so they all reject the same input. */
export function checkReadOptions(opts: ReadOptions): { after: number; limit: number; matches: (kind: string) => boolean } {
  const after = opts.after ?? 0;
  const limit = opts.limit ?? Infinity;
  if (!Number.isSafeInteger(after) || after < 0) {
    throw new EventError(ErrorCode.invalid_argument, `after must be a non-negative integer seq, got ${String(after)}`);
  }
  if (limit !== Infinity && (!Number.isSafeInteger(limit) || limit < 0)) {
    throw new EventError(ErrorCode.invalid_argument, `limit must be a non-negative integer, got ${String(limit)}`);
  }
  return { after, limit, matches: kindFilter(opts.kinds) };
}
