import { describe, expect, it } from "vitest";
import vectors from "../../docs/digest-vectors.json" with { type: "json" };
import { blake3 as nobleBlake3 } from "@noble/hashes/blake3.js";
import { computeDigest, defaultHasher, digestMaterial, fromHex, toHex, verifyEvent } from "./index.js";

// A hasher with no one-shot path: digests must not depend on which path hashes them.
const incrementalOnly = { create: () => defaultHasher.create() };
// An independent BLAKE3 implementation (@noble/hashes): the vectors do not depend on ours.
const noble = { create: () => nobleBlake3.create() };

type Payload = { utf8?: string; hex?: string; repeat?: { hex: string; count: number } };

function payloadOf(p: Payload): Uint8Array {
  if (p.utf8 !== undefined) return new TextEncoder().encode(p.utf8);
  if (p.hex !== undefined) return fromHex(p.hex)!;
  const unit = fromHex(p.repeat!.hex)!;
  const out = new Uint8Array(unit.length * p.repeat!.count);
  for (let i = 0; i < out.length; i += unit.length) out.set(unit, i);
  return out;
}

describe("published causal digest v1 vectors", () => {
  it("has at least the 8 required cases", () => {
    expect(vectors.vectors.length).toBeGreaterThanOrEqual(8);
  });
  for (const v of vectors.vectors) {
    it(v.name, () => {
      const fields = { ...v, parents: v.parents.map((p) => ({ id: p.id, digest: fromHex(p.digest)! })) };
      const payload = payloadOf(v.payload as Payload);
      expect(toHex(computeDigest(fields, payload))).toBe(v.digest);
      expect(toHex(computeDigest(fields, payload, { hasher: incrementalOnly }))).toBe(v.digest);
      expect(toHex(computeDigest(fields, payload, { hasher: noble }))).toBe(v.digest);
      if ("material" in v) expect(toHex(digestMaterial(fields, payload))).toBe(v.material);
      if (/^[a-z0-9_.@]+$/.test(v.kind)) {
        expect(verifyEvent({ header: { ...fields, digest: fromHex(v.digest)! }, payload })).toBe(true);
      }
    });
  }
});
