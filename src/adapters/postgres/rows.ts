import { decodeParentRefs, type EventHeader, kindFilter, type StoredEvent } from "../../core/index.js";

/** The columns every event query selects, in the order {@link rowToEvent} expects. */
export const EVENT_COLUMNS = "seq, id, digest, parents, kind, intent, ts, payload";

/** A bytea as a plain Uint8Array view (pg gives Buffers; results never expose Buffer). */
export function bytes(x: unknown): Uint8Array {
  const b = x as Uint8Array;
  return b.constructor === Uint8Array ? b : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * Byte strings as one blob and their zero-based start offsets (n + 1, the last one the total):
 * one binary parameter, where an array of byteas would travel as an array literal of hex text.
 */
export function blob(parts: readonly Uint8Array[]): { bytes: Uint8Array; offsets: number[] } {
  const offsets = [0];
  let total = 0;
  for (const p of parts) offsets.push((total += p.length));
  const out = new Uint8Array(total);
  parts.forEach((p, i) => out.set(p, offsets[i]));
  return { bytes: out, offsets };
}

export function rowToHeader(r: Record<string, unknown>): EventHeader {
  return {
    id: r.id as string,
    parents: decodeParentRefs(bytes(r.parents)),
    timestamp: Number(r.ts),
    digest: bytes(r.digest),
    intent: r.intent as string,
    kind: r.kind as string,
  };
}

export function rowToEvent(r: Record<string, unknown>): StoredEvent {
  return { seq: Number(r.seq), header: rowToHeader(r), payload: bytes(r.payload) };
}

/**
 * A SQL condition on `kind` for validated kind patterns, with its params numbered from `first`;
 * empty when every kind matches. Patterns mean what `matchKind` says: `a.b` also matches
 * `a.b@2`, `a.*` matches `a.b` and `a.b.c`.
 */
export function kindCondition(patterns: readonly string[] | undefined, first: number): { sql: string; params: unknown[] } {
  kindFilter(patterns);
  if (!patterns || patterns.length === 0 || patterns.includes("*")) return { sql: "", params: [] };
  const exact: string[] = [];
  const like: string[] = [];
  const esc = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);
  for (const p of patterns) {
    if (p.endsWith(".*")) like.push(`${esc(p.slice(0, -1))}%`);
    else if (p.includes("@")) exact.push(p);
    else {
      exact.push(p);
      like.push(`${esc(p)}@%`);
    }
  }
  return { sql: ` AND (kind = ANY ($${first}::text[]) OR kind LIKE ANY ($${first + 1}::text[]))`, params: [exact, like] };
}
