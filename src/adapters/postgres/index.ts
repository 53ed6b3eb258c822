/**
 * The Postgres event store: PGlite as the embedded default, any Postgres server in production.
 *
 * @module
 */
export { migrate, SCHEMA_VERSION, type SchemaOptions } from "./migrations.js";
export { createPostgresStore, type PostgresStoreOptions } from "./postgres-store.js";
export {
  createPgClient,
  type PgClientOptions,
  type PgPoolClientLike,
  type PgPoolLike,
  type SqlClient,
  type SqlResult,
} from "./sql-client.js";
