import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bytes, json, text } from "./codec.js";

const invalid = expect.objectContaining({ name: "EventError", code: "invalid_argument" });
const notBytes: unknown[] = ["abc", [1, 2], null, undefined, new Uint16Array(2), new ArrayBuffer(2)];

describe("json codec", () => {
  it("round trips JSON values", () => {
    for (const v of [null, true, 0, -1.5, "héllo ✓", [], [1, "a", null], { a: { b: [1, { c: "d" }] } }]) {
      expect(json.decode(json.encode(v))).toEqual(v);
    }
    // Same value as JSON.parse(JSON.stringify(v)): JSON itself turns -0 into 0.
    const roundTrips = fc.property(fc.jsonValue(), (v) => {
      expect(json.decode(json.encode(v))).toStrictEqual(JSON.parse(JSON.stringify(v)));
    });
    fc.assert(roundTrips, { numRuns: 200 });
  });

  it("encodes as UTF-8 JSON text", () => {
    expect(new TextDecoder().decode(json.encode({ a: "é" }))).toBe('{"a":"é"}');
  });

  it("throws invalid_argument for values JSON cannot encode", () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const v of [undefined, () => 1, Symbol("s"), 1n, cyclic]) expect(() => json.encode(v)).toThrow(invalid);
  });

  it("throws invalid_argument for bytes that are not UTF-8 JSON", () => {
    const enc = new TextEncoder();
    for (const b of [new Uint8Array([0xff]), new Uint8Array([0x22, 0xc3]), enc.encode("{"), enc.encode("nul"), new Uint8Array()]) {
      expect(() => json.decode(b)).toThrow(invalid);
    }
    for (const v of notBytes) expect(() => json.decode(v as Uint8Array)).toThrow(invalid);
  });
});

describe("text codec", () => {
  it("round trips strings", () => {
    for (const s of ["", "hello", "héllo ✓ 🎉", "\u0000", "a\uFEFFb"]) expect(text.decode(text.encode(s))).toBe(s);
    const wellFormed = fc.string({ unit: "grapheme" });
    fc.assert(fc.property(wellFormed, (s) => text.decode(text.encode(s)) === s), { numRuns: 200 });
  });

  it("round trips a string that starts with U+FEFF", () => {
    // A decoder that strips a leading byte order mark would lose it.
    expect(text.decode(text.encode("\uFEFFhi"))).toBe("\uFEFFhi");
  });

  it("throws invalid_argument for non-strings and invalid UTF-8", () => {
    for (const v of [1, null, undefined, {}, new Uint8Array(1)]) expect(() => text.encode(v as string)).toThrow(invalid);
    for (const b of [new Uint8Array([0xff]), new Uint8Array([0xc3]), new Uint8Array([0xed, 0xa0, 0x80])]) {
      expect(() => text.decode(b)).toThrow(invalid);
    }
    for (const v of notBytes) expect(() => text.decode(v as Uint8Array)).toThrow(invalid);
  });
});

describe("bytes codec", () => {
  it("passes bytes through unchanged", () => {
    const b = new Uint8Array([0, 1, 255]);
    expect(bytes.encode(b)).toEqual(b);
    expect(bytes.decode(bytes.encode(b))).toEqual(b);
  });

  it("throws invalid_argument for anything but a Uint8Array", () => {
    for (const v of notBytes) {
      expect(() => bytes.encode(v as Uint8Array)).toThrow(invalid);
      expect(() => bytes.decode(v as Uint8Array)).toThrow(invalid);
    }
  });
});
