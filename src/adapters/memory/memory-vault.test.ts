import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { createEvent } from "../../core/index.js";
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

  it("lets go of its events on close, though the vault object is still referenced", async () => {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    // V8 frees buffers in the background after a collection, so each look waits a little first.
    const settled = async () => (await new Promise((r) => setTimeout(r, 50)), gc(), process.memoryUsage().arrayBuffers);
    const base = await settled();
    const vault = createMemoryVault();
    for (let i = 0; i < 64; i++) await vault.commit([createEvent({ kind: "big.blob", payload: new Uint8Array(1 << 20) })], { outbox: true });
    expect((await settled()) - base).toBeGreaterThan(60 * (1 << 20)); // the vault's own copies
    await vault.close();
    let held = Infinity;
    for (let i = 0; i < 40 && held >= 4 * (1 << 20); i++) held = (await settled()) - base;
    expect(held).toBeLessThan(4 * (1 << 20));
    expect(vault).toBeDefined();
  });
});
