/**
 * In-memory adapters: the reference vault and the in-process bus.
 *
 * @module
 */
export { createMemoryBus, type MemoryBus } from "./memory-bus.js";
export { createMemoryVault, type MemoryVaultOptions } from "./memory-vault.js";
