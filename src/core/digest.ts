import { compareBytes, isBytes } from "./bytes.js";
import { checkHeader, DIGEST_BYTES, invalid } from "./header-check.js";
import { defaultHasher, type Hasher } from "./hasher.js";
import { type EventRef, NIL_INTENT } from "./types.js";
import { writeUuid } from "./uuid.js";

/** The domain tag that opens the material of causal digest v1. */
export const DIGEST_DOMAIN_TAG = "toka-events/event/v1";
export { DIGEST_BYTES };

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
  /** BLAKE3 implementation; {@link defaultHasher} by default. */
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
  checkFields(fields, payload);
  return digestOf(fields, payload, opts);
}

// Up to this payload size the material is hashed as one buffer: one aligned update is faster
// than two, and the copy is cheap next to the hash.
const ONE_BUFFER_MAX = 64 * 1024;

/**
 * {@link computeDigest} for fields already checked by the caller (createEvent, validateEvent);
 * `idBytes`, when the caller has them, saves parsing the id again.
 */
export function digestOf(fields: DigestFields, payload: Uint8Array, opts?: HasherOptions, idBytes?: Uint8Array): Uint8Array {
  const hasher = opts?.hasher ?? defaultHasher;
  if (payload.length <= ONE_BUFFER_MAX) {
    const material = encodePrefix(fields, payload, true, idBytes, true);
    return hasher.hash ? hasher.hash(material) : hasher.create().update(material).digest();
  }
  return hasher.create().update(encodePrefix(fields, payload, false, idBytes)).update(payload).digest();
}

/**
 * The exact bytes that causal digest v1 hashes, for checking a digest with any BLAKE3 tool
 * (e.g. `b3sum`). {@link computeDigest} hashes the same bytes without building this copy.
 */
export function digestMaterial(fields: DigestFields, payload: Uint8Array): Uint8Array {
  checkFields(fields, payload);
  return encodePrefix(fields, payload, true);
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
  const h = (opts?.hasher ?? defaultHasher).create().update(payload);
  for (const d of [...parentDigests].sort(compareBytes)) h.update(d);
  return h.digest();
}

/** Throws `invalid_argument` for fields that causal digest v1 cannot encode. */
function checkFields(f: DigestFields, payload: Uint8Array): void {
  if (typeof f !== "object" || f === null) throw invalid("digest fields must be an object");
  checkHeader(f, payload, false);
  // A UTF-16 unit is at most 3 UTF-8 bytes: only very long kinds need encoding to check.
  if (f.kind.length > 0x5555 && utf8.encode(f.kind).length > 0xffff) throw invalid("kind is longer than 65535 bytes", f.id);
}

// Reused for material that is hashed at once and never handed out: hashing is synchronous, so
// no two users can overlap, and it spares an allocation per event.
let scratch = new Uint8Array(1024);

/**
 * The material before the payload bytes (header fields, sorted parents, payload length), followed
 * by the payload itself when `inline`.
 */
function encodePrefix(
  f: DigestFields,
  payload: Uint8Array,
  inline: boolean,
  idBytes?: Uint8Array,
  transient = false,
): Uint8Array {
  const { id, kind, intent, timestamp, parents } = f;
  const sorted = sortParents(parents);
  const kindBytes = isAscii(kind) ? undefined : utf8.encode(kind);
  const kindLength = kindBytes ? kindBytes.length : kind.length;
  const size = 2 + TAG.length + 16 + 2 + kindLength + 16 + 8 + 4 + sorted.length * 48 + 8;
  const total = inline ? size + payload.length : size;
  let out: Uint8Array;
  if (transient) {
    if (scratch.length < total) scratch = new Uint8Array(Math.max(total, scratch.length * 2));
    out = scratch.subarray(0, total);
    out.fill(0, 0, size);
  } else out = new Uint8Array(total);
  let o = 0;
  out[o++] = 0;
  out[o++] = TAG.length;
  out.set(TAG, o);
  o += TAG.length;
  if (idBytes) out.set(idBytes, o);
  else writeUuid(id, out, o);
  o += 16;
  out[o++] = kindLength >>> 8;
  out[o++] = kindLength;
  if (kindBytes) out.set(kindBytes, o);
  else for (let i = 0; i < kindLength; i++) out[o + i] = kind.charCodeAt(i);
  o += kindLength;
  if (intent !== NIL_INTENT) writeUuid(intent, out, o); // the nil UUID is the zeros already there
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
  if (inline) out.set(payload, size);
  return out;
}

/**
 * Parents in digest order; ties (two parents claiming one digest, which only a forger can make)
 * by id, so the order never depends on how the creator listed them. Lowercase hex ids compare as
 * strings exactly as their bytes do.
 */
function sortParents(parents: readonly EventRef[]): readonly EventRef[] {
  if (parents.length < 2) return parents;
  if (parents.length === 2) {
    const [a, b] = parents as [EventRef, EventRef];
    return compareParents(a, b) <= 0 ? parents : [b, a];
  }
  return [...parents].sort(compareParents);
}

function compareParents(a: EventRef, b: EventRef): number {
  return compareBytes(a.digest, b.digest) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
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

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}
