// The conformance suites: one set of assertions, registered on any ContractRunner and run unchanged
// in Node (vitest), Deno (Deno.test), workerd, a Chromium page and a Chromium dedicated worker.
// Every toka-events API comes from the package by its name, so each runtime exercises the built
// dist/ through the exports map. The contract suites are test-only (not published) and come from
// src/adapters/_contract; their own `../../core/index.js` import is pointed at the package too
// (bundles: the resolve plugin in ./support/bundle.ts; vitest: a vi.mock in each test file).
import {
  bytes,
  computeDigest,
  createEventStore,
  digestMaterial,
  fromHex,
  json,
  defaultHasher,
  text,
  toHex,
  verifyEvent,
} from "toka-events";
import { createMemoryBus, createMemoryVault } from "toka-events/adapters/memory";
import vectors from "../../docs/digest-vectors.json" with { type: "json" };
import {
  busContract,
  type ContractRunner,
  deepEqual,
  equal,
  historyContract,
  localVaultContract,
  ok,
  orderContract,
  rejectsWithCode,
  vaultContract,
} from "../../src/adapters/_contract/index.js";

/**
 * Registers every runtime-independent suite on `run`: the published digest vectors, the codecs,
 * and the vault, local vault, bus, catch-up and ordered-commit contracts over the memory adapters.
 *
 * @example
 * registerSuites({ test: (name, fn) => Deno.test(name, fn) });
 */
export function registerSuites(run: ContractRunner): void {
  digestVectorSuite(run);
  codecSuite(run);
  vaultContract(run, (opts) => createMemoryVault(opts));
  localVaultContract(run, () => createMemoryVault());
  busContract(run, () => {
    const bus = createMemoryBus();
    return { bus, close: () => bus.close() };
  });
  historyContract(run, () => {
    const store = createEventStore({ vault: createMemoryVault(), bus: createMemoryBus() });
    return { commit: store.commit, subscribe: store.subscribe, close: store.close };
  });
  orderContract(run, () => createEventStore({ vault: createMemoryVault(), bus: createMemoryBus() }));
}

type Payload = { utf8?: string; hex?: string; repeat?: { hex: string; count: number } };

function payloadOf(p: Payload): Uint8Array {
  if (p.utf8 !== undefined) return new TextEncoder().encode(p.utf8);
  if (p.hex !== undefined) return fromHex(p.hex)!;
  const unit = fromHex(p.repeat!.hex)!;
  const out = new Uint8Array(unit.length * p.repeat!.count);
  for (let i = 0; i < out.length; i += unit.length) out.set(unit, i);
  return out;
}

/** docs/digest-vectors.json, the published causal digest v1 vectors, through both hashing paths. */
function digestVectorSuite(run: ContractRunner): void {
  // A hasher with no one-shot path: digests must not depend on which path hashes them.
  const incrementalOnly = { create: () => defaultHasher.create() };
  run.test("digest: the published file has at least the 8 required vectors", async () => {
    ok(vectors.vectors.length >= 8, `only ${vectors.vectors.length} vectors`);
  });
  for (const v of vectors.vectors) {
    run.test(`digest: ${v.name}`, async () => {
      const fields = { ...v, parents: v.parents.map((p) => ({ id: p.id, digest: fromHex(p.digest)! })) };
      const payload = payloadOf(v.payload as Payload);
      equal(toHex(computeDigest(fields, payload)), v.digest, "digest");
      equal(toHex(computeDigest(fields, payload, { hasher: incrementalOnly })), v.digest, "digest, incremental hashing");
      if ("material" in v) equal(toHex(digestMaterial(fields, payload)), v.material, "material");
      if (/^[a-z0-9_.@]+$/.test(v.kind)) {
        equal(verifyEvent({ header: { ...fields, digest: fromHex(v.digest)! }, payload }), true, "verifyEvent");
      }
    });
  }
}

/** Things that are not a Uint8Array, which every codec's decode (and bytes.encode) refuses. */
const notBytes = (): unknown[] => ["abc", [1, 2], null, undefined, new Uint16Array(2), new ArrayBuffer(2)];

/**
 * A deterministic stream of strings over the whole code point range (astral planes and
 * U+FEFF included, lone surrogates excluded): the runner-independent stand-in for fast-check.
 */
function* sampleStrings(count: number, seed = 0x70ca): Generator<string> {
  let s = seed >>> 0;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0), s);
  const planes = [0x7f, 0x7ff, 0xffff, 0x10ffff];
  for (let i = 0; i < count; i++) {
    let out = "";
    for (let n = next() % 12; n > 0; n--) {
      let cp = next() % (planes[next() % planes.length]! + 1);
      if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfeff;
      out += String.fromCodePoint(cp);
    }
    yield out;
  }
}

/** The essentials of src/core/codec.test.ts without a test runner: round trips and invalid_argument. */
function codecSuite(run: ContractRunner): void {
  const enc = new TextEncoder();

  run.test("codec: json round trips JSON values", async () => {
    const values = [null, true, 0, -1.5, "héllo ✓", [], [1, "a", null], { a: { b: [1, { c: "d" }] } }, ...sampleStrings(200)];
    for (const v of values) deepEqual(json.decode(json.encode(v)), v, `json round trip of ${JSON.stringify(v)}`);
    const nested = { s: [...sampleStrings(50, 7)], n: [Number.MAX_SAFE_INTEGER, -0.5, 1e-7], o: { "é": { "🎉": [false] } } };
    deepEqual(json.decode(json.encode(nested)), nested, "nested");
  });

  run.test("codec: json encodes as UTF-8 JSON text", async () => {
    equal(new TextDecoder().decode(json.encode({ a: "é" })), '{"a":"é"}', "encoded text");
    deepEqual(json.encode("é"), new Uint8Array([0x22, 0xc3, 0xa9, 0x22]), "encoded bytes");
  });

  run.test("codec: json refuses values JSON cannot encode with invalid_argument", async () => {
    const cyclic: Record<string, unknown> = {};
    cyclic["self"] = cyclic;
    for (const v of [undefined, () => 1, Symbol("s"), 1n, cyclic]) {
      await rejectsWithCode(() => json.encode(v), "invalid_argument", `json.encode(${typeof v})`);
    }
  });

  run.test("codec: json refuses bytes that are not UTF-8 JSON with invalid_argument", async () => {
    const bad = [new Uint8Array([0xff]), new Uint8Array([0x22, 0xc3]), enc.encode("{"), enc.encode("nul"), new Uint8Array()];
    for (const b of bad) await rejectsWithCode(() => json.decode(b), "invalid_argument", `json.decode(${toHex(b)})`);
    for (const v of notBytes()) await rejectsWithCode(() => json.decode(v as Uint8Array), "invalid_argument", `json.decode(${String(v)})`);
  });

  run.test("codec: text round trips strings, a leading U+FEFF included", async () => {
    for (const s of ["", "hello", "héllo ✓ 🎉", "\u0000", "a\uFEFFb", "\uFEFFhi", ...sampleStrings(300)]) {
      equal(text.decode(text.encode(s)), s, `text round trip of ${JSON.stringify(s)}`);
    }
    deepEqual(text.encode("\uFEFF"), new Uint8Array([0xef, 0xbb, 0xbf]), "U+FEFF is encoded, not dropped");
  });

  run.test("codec: text refuses non-strings and invalid UTF-8 with invalid_argument", async () => {
    for (const v of [1, null, undefined, {}, new Uint8Array(1)]) {
      await rejectsWithCode(() => text.encode(v as string), "invalid_argument", `text.encode(${String(v)})`);
    }
    for (const b of [new Uint8Array([0xff]), new Uint8Array([0xc3]), new Uint8Array([0xed, 0xa0, 0x80])]) {
      await rejectsWithCode(() => text.decode(b), "invalid_argument", `text.decode(${toHex(b)})`);
    }
    for (const v of notBytes()) await rejectsWithCode(() => text.decode(v as Uint8Array), "invalid_argument", `text.decode(${String(v)})`);
  });

  run.test("codec: bytes passes a Uint8Array through unchanged", async () => {
    const b = new Uint8Array([0, 1, 255]);
    deepEqual(bytes.encode(b), b, "encode");
    deepEqual(bytes.decode(bytes.encode(b)), b, "decode");
  });

  run.test("codec: bytes refuses anything but a Uint8Array with invalid_argument", async () => {
    for (const v of notBytes()) {
      await rejectsWithCode(() => bytes.encode(v as Uint8Array), "invalid_argument", `bytes.encode(${String(v)})`);
      await rejectsWithCode(() => bytes.decode(v as Uint8Array), "invalid_argument", `bytes.decode(${String(v)})`);
    }
  });
}
