import { isBytes } from "./bytes.js";
import { ErrorCode, EventError } from "./errors.js";
import type { Codec } from "./types.js";

const encoder = new TextEncoder();
// ignoreBOM keeps a leading U+FEFF: the payload is the exact string that was encoded.
const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** JSON values as UTF-8 JSON text. Decoding malformed bytes throws `invalid_argument`. */
export const json: Codec<unknown> = {
  encode(value) {
    let s: string | undefined;
    try {
      s = JSON.stringify(value);
    } catch (cause) {
      throw new EventError(ErrorCode.invalid_argument, "value cannot be encoded as JSON", { cause });
    }
    if (s === undefined) throw new EventError(ErrorCode.invalid_argument, `a ${typeof value} cannot be encoded as JSON`);
    return encoder.encode(s);
  },
  decode(bytes) {
    try {
      return JSON.parse(strict.decode(checked(bytes)));
    } catch (cause) {
      if (cause instanceof EventError) throw cause;
      throw new EventError(ErrorCode.invalid_argument, "payload is not valid UTF-8 JSON", { cause });
    }
  },
};

/** Strings as UTF-8. Decoding invalid UTF-8 throws `invalid_argument`. */
export const text: Codec<string> = {
  encode(value) {
    if (typeof value !== "string") throw new EventError(ErrorCode.invalid_argument, "text codec encodes strings only");
    return encoder.encode(value);
  },
  decode(bytes) {
    try {
      return strict.decode(checked(bytes));
    } catch (cause) {
      if (cause instanceof EventError) throw cause;
      throw new EventError(ErrorCode.invalid_argument, "payload is not valid UTF-8", { cause });
    }
  },
};

/** Raw bytes, unchanged. */
export const bytes: Codec<Uint8Array> = {
  encode: checked,
  decode: checked,
};

function checked(b: Uint8Array): Uint8Array {
  if (!isBytes(b)) throw new EventError(ErrorCode.invalid_argument, "expected a Uint8Array");
  return b;
}
