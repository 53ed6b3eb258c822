import fc from "fast-check";
import { describe, it } from "vitest";
import { blake3 } from "@noble/hashes/blake3.js";
import { equalBytes, toHex } from "./bytes.js";
import { computeDigest, type DigestFields, digestMaterial } from "./digest.js";
import type { EventRef } from "./types.js";
import { uuidFromBytes, uuidToBytes } from "./uuid.js";

const uuid = fc.uint8Array({ minLength: 16, maxLength: 16 }).map(uuidFromBytes);
const digest = fc.uint8Array({ minLength: 32, maxLength: 32 });
const kind = fc.stringMatching(/^[a-z][a-z0-9_]{0,8}(\.[a-z0-9_]{1,6}){0,3}(@[1-9][0-9]{0,2})?$/);
const parent: fc.Arbitrary<EventRef> = fc.record({ id: uuid, digest });
const fields: fc.Arbitrary<DigestFields> = fc.record({
  id: uuid,
  kind,
  intent: uuid,
  timestamp: fc.maxSafeNat(),
  parents: fc.uniqueArray(parent, { maxLength: 5, selector: (p) => p.id }),
});
const payload = fc.uint8Array({ maxLength: 64 });
const RUNS = { numRuns: 200 };

const hex = (f: DigestFields, p: Uint8Array) => toHex(computeDigest(f, p));

/** `bytes` with bit `bit` (taken modulo its length in bits) flipped, as a copy. */
function flip(bytes: Uint8Array, bit: number): Uint8Array {
  const out = bytes.slice();
  const i = bit % (bytes.length * 8);
  out[i >> 3]! ^= 1 << (i & 7);
  return out;
}

const flipUuid = (id: string, bit: number) => uuidFromBytes(flip(uuidToBytes(id), bit));

describe("causal digest v1 properties", () => {
  it("is the BLAKE3 of digestMaterial", () => {
    fc.assert(fc.property(fields, payload, (f, p) => equalBytes(computeDigest(f, p), blake3(digestMaterial(f, p)))), RUNS);
  });

  it("does not depend on the order parents are listed in", () => {
    const withOrder = fields.chain((f) =>
      fc.tuple(fc.constant(f), fc.shuffledSubarray([...f.parents], { minLength: f.parents.length, maxLength: f.parents.length })),
    );
    fc.assert(fc.property(withOrder, payload, ([f, shuffled], p) => hex(f, p) === hex({ ...f, parents: shuffled }, p)), RUNS);
  });

  it("does not depend on parent order even when two parents name the same digest", () => {
    // Not possible for real parents, but a forged header can do it; the encoding must stay canonical.
    const same = new Uint8Array(32).fill(7);
    fc.assert(
      fc.property(fields, uuid, uuid, payload, (f, a, b, p) => {
        fc.pre(a !== b && a !== f.id && b !== f.id);
        const x = { id: a, digest: same };
        const y = { id: b, digest: same };
        return hex({ ...f, parents: [x, y] }, p) === hex({ ...f, parents: [y, x] }, p);
      }),
      RUNS,
    );
  });

  describe("changes when any single bit changes", () => {
    const bit = fc.nat();
    const changes = (f: DigestFields, p: Uint8Array, g: DigestFields, q: Uint8Array) => hex(f, p) !== hex(g, q);

    it("of the id", () => {
      fc.assert(fc.property(fields, payload, bit, (f, p, b) => changes(f, p, { ...f, id: flipUuid(f.id, b) }, p)), RUNS);
    });

    it("of the intent", () => {
      fc.assert(fc.property(fields, payload, bit, (f, p, b) => changes(f, p, { ...f, intent: flipUuid(f.intent, b) }, p)), RUNS);
    });

    it("of the kind (any bit of any UTF-16 unit, the kind staying a string)", () => {
      fc.assert(
        fc.property(fields, payload, fc.nat(), fc.integer({ min: 0, max: 15 }), (f, p, at, b) => {
          const i = at % f.kind.length;
          const k = f.kind.slice(0, i) + String.fromCharCode(f.kind.charCodeAt(i) ^ (1 << b)) + f.kind.slice(i + 1);
          return changes(f, p, { ...f, kind: k }, p);
        }),
        RUNS,
      );
    });

    it("of the timestamp", () => {
      fc.assert(
        fc.property(fields, payload, fc.integer({ min: 0, max: 52 }), (f, p, b) => {
          const t = Number(BigInt(f.timestamp) ^ (1n << BigInt(b)));
          return changes(f, p, { ...f, timestamp: t }, p);
        }),
        RUNS,
      );
    });

    it("of any parent id or parent digest", () => {
      const withParent = fields.filter((f) => f.parents.length > 0);
      fc.assert(
        fc.property(withParent, payload, fc.nat(), bit, fc.boolean(), (f, p, at, b, inId) => {
          const parents = f.parents.map((x) => ({ ...x }));
          const target = parents[at % parents.length]!;
          if (inId) target.id = flipUuid(target.id, b);
          else target.digest = flip(target.digest, b);
          return changes(f, p, { ...f, parents }, p);
        }),
        RUNS,
      );
    });

    it("of the payload", () => {
      const nonEmpty = fc.uint8Array({ minLength: 1, maxLength: 64 });
      fc.assert(fc.property(fields, nonEmpty, bit, (f, p, b) => changes(f, p, f, flip(p, b))), RUNS);
    });
  });

  it("changes when a parent is added or removed", () => {
    fc.assert(
      fc.property(fields, parent, payload, (f, extra, p) => {
        fc.pre(!f.parents.some((x) => x.id === extra.id));
        return hex(f, p) !== hex({ ...f, parents: [...f.parents, extra] }, p);
      }),
      RUNS,
    );
  });
});
