import { ErrorCode, EventError } from "./errors.js";

const KIND_RE = /^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*(@[1-9][0-9]*)?$/;
const BASE_RE = /^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$/;

/** Longest kind, in UTF-8 bytes (kinds are ASCII, so also in characters). */
export const MAX_KIND_BYTES = 128;

/** True for a valid kind: dotted lowercase, optional `@version`, at most 128 bytes. */
export function isValidKind(kind: unknown): kind is string {
  return typeof kind === "string" && kind.length <= MAX_KIND_BYTES && KIND_RE.test(kind);
}

/** Throws `invalid_argument` unless {@link isValidKind}. */
export function assertKind(kind: unknown): asserts kind is string {
  if (!isValidKind(kind)) {
    const shown = typeof kind === "string" ? JSON.stringify(kind.slice(0, 140)) : typeof kind;
    throw new EventError(
      ErrorCode.invalid_argument,
      `invalid kind ${shown}: expected dotted lowercase like "chat.msg" or "chat.msg@2", at most ${MAX_KIND_BYTES} bytes`,
    );
  }
}

/** The kind without its `@version` suffix. */
export function baseKind(kind: string): string {
  const at = kind.indexOf("@");
  return at < 0 ? kind : kind.slice(0, at);
}

/**
 * True for a valid kind pattern: `*`, a `prefix.*` wildcard, or an exact kind
 * (without a version it matches every version; with one, only that version).
 */
export function isValidKindPattern(pattern: unknown): pattern is string {
  if (typeof pattern !== "string" || pattern.length > MAX_KIND_BYTES) return false;
  if (pattern === "*") return true;
  if (pattern.endsWith(".*")) return BASE_RE.test(pattern.slice(0, -2));
  return KIND_RE.test(pattern);
}

/**
 * Whether `kind` matches `pattern`: exact (`chat.msg`), prefix wildcard (`chat.*` matches
 * `chat.msg` and `chat.room.open`, not `chat`), `*` for all. A version suffix on the kind is
 * ignored by a pattern that names no version.
 *
 * @example
 * matchKind("chat.*", "chat.msg@2"); // true
 */
export function matchKind(pattern: string, kind: string): boolean {
  if (pattern === "*") return true;
  if (pattern.endsWith(".*")) {
    const prefix = pattern.slice(0, -1); // keeps the dot
    return kind.length > prefix.length && kind.startsWith(prefix) && kind[prefix.length] !== "@";
  }
  if (pattern.includes("@")) return kind === pattern;
  return kind === pattern || (kind.startsWith(pattern) && kind[pattern.length] === "@");
}

/**
 * Compiles a list of patterns into one predicate; `undefined` or an empty list means all kinds.
 * Throws `invalid_argument` naming the first bad pattern.
 */
export function kindFilter(patterns: readonly string[] | undefined): (kind: string) => boolean {
  if (patterns === undefined) return () => true;
  if (!Array.isArray(patterns)) {
    throw new EventError(ErrorCode.invalid_argument, "kinds must be an array of kind patterns");
  }
  for (const p of patterns) {
    if (!isValidKindPattern(p)) {
      const shown = typeof p === "string" ? JSON.stringify(p.slice(0, 140)) : typeof p;
      throw new EventError(
        ErrorCode.invalid_argument,
        `invalid kind pattern ${shown}: expected "*", "prefix.*" or a kind`,
      );
    }
  }
  if (patterns.length === 0 || patterns.includes("*")) return () => true;
  const list = [...patterns];
  if (list.length === 1) {
    const p = list[0]!;
    return (kind) => matchKind(p, kind);
  }
  return (kind) => list.some((p) => matchKind(p, kind));
}
