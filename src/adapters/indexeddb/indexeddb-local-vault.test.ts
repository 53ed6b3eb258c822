import "fake-indexeddb/auto";
import { describe, it } from "vitest";
import { uuidv4 } from "../../core/index.js";
import { localVaultContract } from "../_contract/index.js";
import { openIndexedDbVault } from "./index.js";

describe("indexeddb vault as a LocalVault (fake-indexeddb)", () => {
  localVaultContract({ test: (name, fn) => it(name, fn) }, () => openIndexedDbVault({ name: `t-${uuidv4()}` }));
});
