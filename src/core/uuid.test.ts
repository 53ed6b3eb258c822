import { describe, expect, it } from "vitest";
import { isUuid, uuidFromBytes, uuidToBytes, uuidv4, uuidv7 } from "./uuid.js";

const invalid = expect.objectContaining({ name: "EventError", code: "invalid_argument" });

/** The 48-bit Unix ms time of a UUIDv7. */
function msOf(id: string): number {
  return parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}

describe("uuidv7", () => {
  it("has the RFC 9562 layout: 48-bit ms time, version 7, variant 10", () => {
    const now = Date.now() + 60_000; // later than any id made so far, so the time is taken as is
    const id = uuidv7(now);
    expect(isUuid(id)).toBe(true);
    expect(msOf(id)).toBe(now);
    const b = uuidToBytes(id);
    expect(b[6]! >> 4).toBe(7);
    expect(b[8]! >> 6).toBe(0b10);
  });

  it("is monotonic within one millisecond across 10k ids, carrying the time forward", () => {
    const now = Date.now() + 120_000;
    const ids = Array.from({ length: 10_000 }, () => uuidv7(now));
    expect(ids.findIndex((id, i) => i > 0 && !(id > ids[i - 1]!))).toBe(-1);
    expect(ids.filter((id) => id[14] !== "7" || !"89ab".includes(id[19]!))).toEqual([]);
    // 12-bit counter, seeded at most 2040: at least 2055 ids fit in each carried millisecond.
    expect(msOf(ids[0]!)).toBe(now);
    expect(msOf(ids.at(-1)!)).toBeLessThanOrEqual(now + Math.ceil(10_000 / 2055));
  });

  it("stays monotonic when the clock steps back", () => {
    const now = Date.now() + 180_000;
    const a = uuidv7(now);
    const b = uuidv7(now - 5_000);
    expect(b > a).toBe(true);
    expect(msOf(b)).toBe(now);
  });
});

describe("uuidv4", () => {
  it("has version 4 and variant 10, and is random", () => {
    const ids = Array.from({ length: 100 }, () => uuidv4());
    for (const id of ids) {
      const b = uuidToBytes(id);
      expect(b[6]! >> 4).toBe(4);
      expect(b[8]! >> 6).toBe(0b10);
    }
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe("UUID bytes <-> string", () => {
  it("round trips", () => {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    expect(uuidToBytes(uuidFromBytes(bytes))).toEqual(bytes);
    const id = uuidv7();
    expect(uuidFromBytes(uuidToBytes(id))).toBe(id);
    expect(uuidFromBytes(new Uint8Array(16).fill(0xab))).toBe("abababab-abab-abab-abab-abababababab");
    expect(uuidToBytes("00010203-0405-0607-0809-0a0b0c0d0e0f")).toEqual(Uint8Array.from({ length: 16 }, (_, i) => i));
  });

  it("rejects uppercase and malformed strings with invalid_argument", () => {
    const id = uuidv7();
    const bad = [
      id.toUpperCase(),
      "A" + id.slice(1),
      id.replaceAll("-", ""),
      id.slice(0, 35),
      id + "0",
      "g" + id.slice(1),
      `{${id}}`,
      id.slice(0, 8) + "_" + id.slice(9),
      "",
    ];
    for (const s of bad) {
      expect(isUuid(s)).toBe(false);
      expect(() => uuidToBytes(s)).toThrow(invalid);
    }
    for (const v of [undefined, null, 42, {}]) expect(() => uuidToBytes(v as unknown as string)).toThrow(invalid);
  });

  it("rejects anything but 16 bytes with invalid_argument", () => {
    for (const v of [new Uint8Array(15), new Uint8Array(17), Array.from({ length: 16 }, () => 0), "x"]) {
      expect(() => uuidFromBytes(v as unknown as Uint8Array)).toThrow(invalid);
    }
  });
});
