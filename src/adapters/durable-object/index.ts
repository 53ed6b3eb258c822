/**
 * The Durable Object vault: an event log in a SQLite-backed Durable Object, for Cloudflare Workers.
 *
 * @module
 */
export {
  createDurableObjectVault,
  type DurableObjectStorageLike,
  type DurableObjectVaultOptions,
  type SqlStorageLike,
} from "./durable-object-vault.js";
