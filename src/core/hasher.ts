import { blake3 } from "@noble/hashes/blake3.js";

/** One running BLAKE3-256 computation. */
export interface HashState {
  update(data: Uint8Array): HashState;
  /** The 32-byte digest; the state is finished afterwards. */
  digest(): Uint8Array;
}

/**
 * Incremental BLAKE3-256 (plain hash mode). Injectable so a faster implementation (e.g. WASM)
 * can replace the portable default where the platform allows it.
 *
 * @example
 * const d = nobleHasher.create().update(bytes).digest();
 */
export interface Hasher {
  create(): HashState;
}

/** The default {@link Hasher}: @noble/hashes' pure-JS BLAKE3, which runs on every platform. */
export const nobleHasher: Hasher = {
  create: () => blake3.create(),
};
