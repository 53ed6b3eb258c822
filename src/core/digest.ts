import { compareBytes, isBytes } from "./bytes.js";
import { ErrorCode, EventError } from "./errors.js";
import { type Hasher, nobleHasher } from "./hasher.js";
import type { EventRef } from "./types.js";
import { isUuid, writeUuid } from "./uuid.js";

/** The domain tag that opens the material of causal digest v1. */
export const DIGEST_DOMAIN_TAG = "toka-events/event/v1";
/** Byte length of every digest. */
export const DIGEST_BYTES = 32;

const TAG = new TextEncoder().encode(DIGEST_DOMAIN_TAG);
const utf8 = new TextEncoder();

/** The header fields the causal digest covers. */
export interface DigestFields {
  id: string;
  kind: string;
  intent: string;
  timestamp: number;
  parents: readonly EventRef[];
}

/** Options of digest functions. */
export interface HasherOptions {
  /** BLAKE3 implementation; @noble/hashes by default. */
  hasher?: Hasher;
}

/**
 * Causal digest v1 (docs/digest.md): BLAKE3-256 over the framed header fields, the parents sorted
 * by digest, and the payload. Throws `invalid_argument` for fields it cannot encode.
 *
 * @example
 * const digest = computeDigest({ id, kind: "chat.msg", intent: NIL_INTENT, timestamp, parents: [] }, payload);
 */
export function computeDigest(fields: DigestFields, payload: Uint8Array, opts?: HasherOptions): Uint8Array {
  const prefix = encodePrefix(fields, payload);
  return (opts?.hasher ?? nobleHasher).create().update(prefix).update(payload).digest();
}

/**
 * The exact bytes that causal digest v1 hashes, for checking a digest with any BLAKE3 tool
 * (e.g. `b3sum`). {@link computeDigest} hashes the same bytes without building this copy.
 */
export function digestMaterial(fields: DigestFields, payload: Uint8Array): Uint8Array {
  const prefix = encodePrefix(fields, payload);
  const out = new Uint8Array(prefix.length + payload.length);
  out.set(prefix);
  out.set(payload, prefix.length);
  return out;
}

/**
 * The pre-v1 digest of the Rust crates, for interop only: BLAKE3(payload ‖ parent digests sorted
 * ascending). Unframed and blind to id, kind, intent and time: do not use it for new data.
 */
export function legacyCausalHash(payload: Uint8Array, parentDigests: readonly Uint8Array[], opts?: HasherOptions): Uint8Array {
  if (!isBytes(payload)) throw invalid("payload must be a Uint8Array");
  if (!Array.isArray(parentDigests) || !parentDigests.every(isBytes)) {
    throw invalid("parent digests must be an array of Uint8Array");
  }
  const h = (opts?.hasher ?? nobleHasher).create().update(payload);
  for (const d of [...parentDigests].sort(compareBytes)) h.update(d);
  return h.digest();
}

/** Everything before the payload bytes: header fields, sorted parents, payload length. */
function encodePrefix(f: DigestFields, payload: Uint8Array): Uint8Array {
  if (typeof f !== "object" || f === null) throw invalid("digest fields must be an object");
  const { id, kind, intent, timestamp, parents } = f;
  if (!isUuid(id)) throw invalid(`id must be a lowercase canonical UUID, got ${show(id)}`);
  if (!isUuid(intent)) throw invalid(`intent must be a lowercase canonical UUID, got ${show(intent)}`, id);
  if (typeof kind !== "string") throw invalid("kind must be a string", id);
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
    throw invalid(`timestamp must be a non-negative integer of ms, got ${show(timestamp)}`, id);
  }
  if (!Array.isArray(parents)) throw invalid("parents must be an array", id);
  if (!isBytes(payload)) throw invalid("payload must be a Uint8Array", id);
  for (const p of parents) {
    if (typeof p !== "object" || p === null || !isUuid(p.id)) throw invalid("every parent needs a lowercase canonical UUID id", id);
    if (!isBytes(p.digest) || p.digest.length !== DIGEST_BYTES) {
      throw invalid(`parent ${p.id} needs a ${DIGEST_BYTES}-byte digest`, id);
    }
  }
  const sorted = parents.length < 2 ? parents : [...parents].sort((a, b) => compareBytes(a.digest, b.digest));
  const kindBytes = asciiOrUtf8(kind);
  if (kindBytes.length > 0xffff) throw invalid("kind is longer than 65535 bytes", id);

  const out = new Uint8Array(2 + TAG.length + 16 + 2 + kindBytes.length + 16 + 8 + 4 + sorted.length * 48 + 8);
  let o = 0;
  out[o++] = 0;
  out[o++] = TAG.length;
  out.set(TAG, o);
  o += TAG.length;
  writeUuid(id, out, o);
  o += 16;
  out[o++] = kindBytes.length >>> 8;
  out[o++] = kindBytes.length;
  out.set(kindBytes, o);
  o += kindBytes.length;
  writeUuid(intent, out, o);
  o += 16;
  o = writeU64(out, o, timestamp);
  const n = sorted.length;
  out[o++] = n >>> 24;
  out[o++] = n >>> 16;
  out[o++] = n >>> 8;
  out[o++] = n;
  for (const p of sorted) {
    writeUuid(p.id, out, o);
    out.set(p.digest, o + 16);
    o += 48;
  }
  writeU64(out, o, payload.length);
  return out;
}

function writeU64(out: Uint8Array, o: number, v: number): number {
  const hi = Math.floor(v / 0x100000000);
  const lo = v >>> 0;
  out[o] = hi >>> 24;
  out[o + 1] = hi >>> 16;
  out[o + 2] = hi >>> 8;
  out[o + 3] = hi;
  out[o + 4] = lo >>> 24;
  out[o + 5] = lo >>> 16;
  out[o + 6] = lo >>> 8;
  out[o + 7] = lo;
  return o + 8;
}

function asciiOrUtf8(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) return utf8.encode(s);
    out[i] = c;
  }
  return out;
}

function invalid(message: string, id?: string): EventError {
  return new EventError(ErrorCode.invalid_argument, id ? `event ${id}: ${message}` : message, id ? { details: { id } } : {});
}

function show(v: unknown): string {
  return typeof v === "string" ? JSON.stringify(v.slice(0, 64)) : typeof v === "number" ? String(v) : typeof v;
}
