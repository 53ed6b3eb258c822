import { Blake3, blake3 } from "./blake3.js";

/** One running BLAKE3-256 computation. */
export interface HashState {
  update(data: Uint8Array): HashState;
  /** The 32-byte digest; the state is finished afterwards. */
  digest(): Uint8Array;
}

/**
 * Incremental BLAKE3-256 (plain hash mode). Injectable so that another implementation (a WASM or
 * native one, or an audited library) can replace the portable default.
 *
 * @example
 * // `blake3` from @noble/hashes, as an example of another implementation:
 * const nobleHasher: Hasher = { create: () => blake3.create() };
 */
export interface Hasher {
  create(): HashState;
  /** Optional one-shot hash of one buffer, when the implementation has a faster path for it. */
  hash?(data: Uint8Array): Uint8Array;
}

/**
 * The default {@link Hasher}: the core's own portable BLAKE3 (src/core/blake3.ts), which runs on
 * every platform, WASM or not, and is checked against the BLAKE3 test vectors.
 *
 * @example
 * const d = defaultHasher.create().update(bytes).digest();
 */
export const defaultHasher: Hasher = { create: () => new Blake3(), hash: blake3 };
