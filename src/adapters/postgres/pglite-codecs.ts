import { ErrorCode, EventError } from "../../core/index.js";
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
  if (text.charCodeAt(0) !== 0x5c || text.charCodeAt(1) !== 0x78 || text.length % 2 !== 0) {
    throw new EventError(ErrorCode.data_loss, "a bytea value is not in hex format (is bytea_output set to 'escape'?)");
  }
  const out = new Uint8Array((text.length - 2) / 2);
  for (let i = 0, c = 2; i < out.length; i++, c += 2) {
    const hi = nibble(text.charCodeAt(c));
    const lo = nibble(text.charCodeAt(c + 1));
    if ((hi | lo) < 0) throw new EventError(ErrorCode.data_loss, `a bytea value has a non-hex character at ${hi < 0 ? c : c + 1}`);
    out[i] = (hi << 4) | lo;
  }
  return out;
}

function nibble(c: number): number {
  if (c >= 48 && c <= 57) return c - 48; // 0-9
  if (c >= 97 && c <= 102) return c - 87; // a-f
  if (c >= 65 && c <= 70) return c - 55; // A-F
  return -1;
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
