import { ErrorCode, EventError } from "../../core/index.js";

/** Postgres' type OID of `bytea`. */
const BYTEA = 17;

const HEX_DIGITS = new TextEncoder().encode("0123456789abcdef");
const ascii = new TextDecoder("latin1");

/**
 * A `bytea` parameter as Postgres' hex text (`\x0a1b…`). PGlite sends every parameter as text;
 * its own serializer builds the string a byte at a time (`toString(16)`, `padStart`, `join`),
 * which cost more than the database's own work for the Postgres store's payload blobs. This
 * writes the ASCII into one buffer and decodes it once.
 */
export function byteaToHex(value: unknown): string {
  if (!(value instanceof Uint8Array)) throw new EventError(ErrorCode.invalid_argument, "a bytea parameter must be a Uint8Array");
  const out = new Uint8Array(2 + value.length * 2);
  out[0] = 0x5c; // "\"
  out[1] = 0x78; // "x"
  for (let i = 0, o = 2; i < value.length; i++, o += 2) {
    const b = value[i]!;
    out[o] = HEX_DIGITS[b >> 4]!;
    out[o + 1] = HEX_DIGITS[b & 15]!;
  }
  return ascii.decode(out);
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

/**
 * Options for `PGlite.create(dir, { ...pgliteTypes })` that convert `bytea` values in one pass
 * instead of PGlite's byte-at-a-time defaults: the Postgres store commits payloads as one blob
 * per batch, whose hex text cost a PGlite-backed server more than the database's own work.
 *
 * @example
 * const db = await PGlite.create("./toka-data", { ...pgliteTypes });
 * await migrate(db);
 * const store = createPostgresStore({ client: db });
 */
export const pgliteTypes = {
  serializers: { [BYTEA]: byteaToHex },
  parsers: { [BYTEA]: byteaFromHex },
} as const;
