import "fake-indexeddb/auto";
import { describe, it } from "vitest";
import { uuidv4 } from "../../core/index.js";
import { vaultContract } from "../_contract/index.js";
import { openIndexedDbVault } from "./index.js";

// The foundation's vault suite on fake-indexeddb; e2e/browser runs it on Chromium's IndexedDB.
describe("indexeddb vault (fake-indexeddb)", () => {
  vaultContract({ test: (name, fn) => it(name, fn) }, (opts) => openIndexedDbVault({ name: `t-${uuidv4()}`, ...opts }));
});
