import { DIGEST_BYTES } from "./digest.js";
import type { EventRef } from "./types.js";
import { uuidFromBytes, uuidToBytes } from "./uuid.js";

/** Parents as stores keep them in one column: per parent, its 16 id bytes then its 32 digest bytes. */
export function encodeParentRefs(parents: readonly EventRef[]): Uint8Array {
  const out = new Uint8Array(parents.length * 48);
  parents.forEach((p, i) => {
    out.set(uuidToBytes(p.id), i * 48);
    out.set(p.digest, i * 48 + 16);
  });
  return out;
}

/** The inverse of {@link encodeParentRefs}. */
export function decodeParentRefs(b: Uint8Array): EventRef[] {
  const out: EventRef[] = [];
  for (let o = 0; o + 48 <= b.length; o += 48) {
    out.push({ id: uuidFromBytes(b.subarray(o, o + 16)), digest: b.slice(o + 16, o + 16 + DIGEST_BYTES) });
  }
  return out;
}
