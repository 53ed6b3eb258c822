/**
 * The IndexedDB vault: durable, shared by the tabs of an origin.
 *
 * @module
 */
export { type IndexedDbVaultOptions, openIndexedDbVault } from "./indexeddb-vault.js";
export { SCHEMA_VERSION } from "./schema.js";
