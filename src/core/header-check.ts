import { isBytes } from "./bytes.js";
import { ErrorCode, EventError } from "./errors.js";
import { isValidKind } from "./kind.js";
import { NIL_INTENT } from "./types.js";
import { isUuid } from "./uuid.js";

/** Byte length of every digest. */
export const DIGEST_BYTES = 32;

/** The header fields the causal digest covers, unchecked. */
interface HeaderLike {
  id?: unknown;
  kind?: unknown;
  intent?: unknown;
  timestamp?: unknown;
  parents?: unknown;
}

/**
 * Checks header fields and the payload, throwing `invalid_argument` that names the event.
 * `strict` also applies the kind grammar and rejects duplicate and self parents (events);
 * without it only what the digest encoding needs is checked (computeDigest).
 */
export function checkHeader(h: HeaderLike, payload: unknown, strict: boolean, idChecked = false): void {
  const { id, kind, intent, timestamp, parents } = h;
  if (!idChecked && !isUuid(id)) throw invalid(`event id must be a lowercase canonical UUID, got ${show(id)}`);
  const fail = (message: string) => invalid(`event ${id}: ${message}`, id as string);
  if (strict ? !isValidKind(kind) : typeof kind !== "string") {
    throw fail(`invalid kind ${show(kind)}: expected dotted lowercase like "chat.msg" or "chat.msg@2", at most 128 bytes`);
  }
  if (intent !== NIL_INTENT && !isUuid(intent)) throw fail("intent must be a lowercase canonical UUID");
  if (!Number.isSafeInteger(timestamp) || (timestamp as number) < 0) {
    throw fail(`timestamp must be a non-negative integer of ms, got ${show(timestamp)}`);
  }
  if (!isBytes(payload)) throw fail("payload must be a Uint8Array (use a codec for other values)");
  if (!Array.isArray(parents)) throw fail("parents must be an array");
  // Pairwise for the usual few parents (no allocation); a set for many, so a hostile list is cheap.
  const seen = strict && parents.length > 16 ? new Set<string>() : undefined;
  for (let i = 0; i < parents.length; i++) {
    const p = parents[i] as { id?: unknown; digest?: unknown } | null;
    if (typeof p !== "object" || p === null || !isUuid(p.id)) throw fail("every parent needs a lowercase canonical UUID id");
    if (!isBytes(p.digest) || p.digest.length !== DIGEST_BYTES) throw fail(`parent ${p.id} needs a ${DIGEST_BYTES}-byte digest`);
    if (!strict) continue;
    if (p.id === id) throw fail("an event cannot be its own parent");
    let twice = false;
    if (seen) twice = seen.size === seen.add(p.id).size;
    else for (let j = 0; j < i && !twice; j++) twice = (parents[j] as { id: string }).id === p.id;
    if (twice) throw fail(`parent ${p.id} is listed twice`);
  }
}

export function invalid(message: string, id?: string): EventError {
  return new EventError(ErrorCode.invalid_argument, message, id === undefined ? {} : { details: { id } });
}

export function show(v: unknown): string {
  return typeof v === "string" ? JSON.stringify(v.length > 140 ? `${v.slice(0, 140)}…` : v) : typeof v === "number" ? String(v) : typeof v;
}
