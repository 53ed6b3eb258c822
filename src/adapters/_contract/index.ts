/**
 * Contract suites every vault and bus adapter runs, written against a tiny runner interface so
 * they run unchanged under vitest, in Chromium, Deno and workerd. Test-only: not published.
 *
 * @module
 */
export { deepEqual, equal, ok, rejectsWithCode } from "./assert.js";
export { busContract, type BusUnderTest } from "./bus-contract.js";
export {
  collect,
  type Collector,
  type ContractRunner,
  describeMessages,
  makeEvent,
  makeEvents,
  toStored,
} from "./harness.js";
export { historyContract, type HistoryUnderTest } from "./history-contract.js";
export { localVaultContract } from "./local-vault-contract.js";
export { orderContract, type OrderUnderTest } from "./order-contract.js";
export { vaultContract, type VaultContractOptions } from "./vault-contract.js";
