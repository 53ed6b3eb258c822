import { describe, it } from "vitest";
import { localVaultContract } from "../_contract/index.js";
import { createMemoryVault } from "./memory-vault.js";

describe("memory vault as a LocalVault", () => {
  localVaultContract({ test: (name, fn) => it(name, fn) }, () => createMemoryVault());
});
