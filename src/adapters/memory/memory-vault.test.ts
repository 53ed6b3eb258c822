import { describe, expect, it } from "vitest";
import { makeEvent, vaultContract } from "../_contract/index.js";
import { createMemoryVault } from "./memory-vault.js";

describe("memory vault", () => {
  vaultContract({ test: (name, fn) => it(name, fn) }, (opts) => createMemoryVault(opts));

  it("rejects every call once closed", async () => {
    const vault = createMemoryVault();
    await vault.commit([makeEvent()]);
    await vault.close();
    const closed = expect.objectContaining({ name: "EventError", code: "failed_precondition" });
    await expect(vault.commit([makeEvent()])).rejects.toEqual(closed);
    await expect(vault.head()).rejects.toEqual(closed);
    await expect(vault.read()[Symbol.asyncIterator]().next()).rejects.toEqual(closed);
  });
});
