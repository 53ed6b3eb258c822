import { ErrorCode, EventError, fromHex } from "../../core/index.js";
import type { SqlClient } from "./sql-client.js";

/** Postgres' type OID of `bytea`. */
const BYTEA = 17;

/** The per-query options of PGlite's `query(text, params, options)` that the store passes. */
export interface PgliteQueryOptions {
  serializers: Record<number, (value: unknown) => string>;
  parsers: Record<number, (text: string) => unknown>;
}

/**
 * A `bytea` parameter handed to PGlite as its bytes: PGlite sends a parameter whose serialized
 * value is an ArrayBuffer view in binary format (as `pg` does with Buffers), where its default
 * serializer writes hex text a byte at a time — for the store's payload blobs, more CPU than the
 * database's own work. Per query only: an instance-wide serializer would also be used for the
 * elements of `bytea[]` parameters, which PGlite joins as text.
 */
function byteaParam(value: unknown): string {
  if (!(value instanceof Uint8Array)) throw new EventError(ErrorCode.invalid_argument, "a bytea parameter must be a Uint8Array");
  return value as unknown as string;
}

/** A `bytea` column value from Postgres' hex text output (`bytea_output = 'hex'`, the default). */
export function byteaFromHex(text: string): Uint8Array {
  const bytes = text.startsWith("\\x") ? fromHex(text.slice(2)) : undefined;
  if (!bytes) throw new EventError(ErrorCode.data_loss, "a bytea value is not Postgres hex output (is bytea_output set to 'escape'?)");
  return bytes;
}

const PGLITE_OPTIONS: PgliteQueryOptions = { serializers: { [BYTEA]: byteaParam }, parsers: { [BYTEA]: byteaFromHex } };

/**
 * The options to pass with each query when `client` is a PGlite instance (it has PGlite's
 * `execProtocol` and per-type `serializers` and `parsers`), else `undefined`: other clients get
 * exactly `query(text, params)` (a `pg` Pool would take a third argument for a callback).
 */
export function pgliteQueryOptions(client: SqlClient): PgliteQueryOptions | undefined {
  const c = client as Partial<Record<"execProtocol" | "serializers" | "parsers", unknown>>;
  const isPglite = typeof c.execProtocol === "function" && typeof c.serializers === "object" && typeof c.parsers === "object";
  return isPglite ? PGLITE_OPTIONS : undefined;
}
