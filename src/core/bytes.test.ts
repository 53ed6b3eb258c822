import { describe, expect, it } from "vitest";
import { fromHex, toHex } from "./bytes.js";

describe("hex", () => {
  it("fromHex reads what toHex writes, and either case", () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    expect(fromHex(toHex(all))).toEqual(all);
    expect(fromHex(toHex(all).toUpperCase())).toEqual(all);
    expect(fromHex("")).toEqual(new Uint8Array(0));
    expect(fromHex("0aF1")).toEqual(new Uint8Array([0x0a, 0xf1]));
  });

  it("fromHex is undefined for odd length or any non-hex character", () => {
    for (const bad of ["0", "abc", "0g", "g0", "0 ", "-1", "\u00e9\u00e9", "0x10"]) expect(fromHex(bad), bad).toBeUndefined();
  });
});
