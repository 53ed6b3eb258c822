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
  /** Optional one-shot hash of one buffer, when the implementation has a faster path for it. */
  hash?(data: Uint8Array): Uint8Array;
}

const initial = blake3.create();
// Scratch state for one-shot hashes: cloning the initial state into it allocates nothing, which
// saves about a tenth of the time for event-sized inputs. Hashing is synchronous, so no two
// one-shot hashes can overlap on it.
let scratch: ReturnType<typeof blake3.create> | undefined;

/** The default {@link Hasher}: @noble/hashes' pure-JS BLAKE3, which runs on every platform. */
export const nobleHasher: Hasher = {
  create: () => blake3.create(),
  hash(data) {
    scratch = initial._cloneInto(scratch);
    scratch.update(data);
    const out = new Uint8Array(32);
    scratch.digestInto(out);
    return out;
  },
};
