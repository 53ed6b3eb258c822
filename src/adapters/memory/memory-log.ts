import { DIGEST_BYTES, type EventHeader, type EventRef, NIL_INTENT, type StoredEvent } from "../../core/index.js";

// Payload bytes are packed into chunks of this size; a payload over a quarter of it gets a
// buffer of its own, so a chunk never wastes more than a quarter.
const CHUNK_BYTES = 256 * 1024;

/**
 * The memory vault's log, kept in columns rather than as an object graph per event: ids, kinds
 * and intents in arrays (kinds interned), timestamps and digests in typed arrays, payloads as
 * views into shared chunks, parents only for the events that have any. A long log is then a few
 * objects per event instead of about ten, which is what the garbage collector walks on every
 * pass. Appends copy the caller's bytes in; every read hands out fresh copies.
 */
export interface MemoryLog {
  /** Events in the log (the highest seq). */
  readonly size: number;
  /** Index (seq - 1) of the event with this id. */
  indexOf(id: string): number | undefined;
  /** Whether the stored event at `index` has this digest. */
  digestIs(index: number, digest: Uint8Array): boolean;
  idAt(index: number): string;
  kindAt(index: number): string;
  /** Appends a copy of the event; returns its seq. */
  append(header: EventHeader, payload: Uint8Array): number;
  /** A copy of the event at `index`. */
  event(index: number): StoredEvent;
  /** A copy of the digest of the event at `index`. */
  digest(index: number): Uint8Array;
  header(index: number): EventHeader;
  payload(index: number): Uint8Array;
  /** Forgets everything. */
  clear(): void;
}

export function createMemoryLog(): MemoryLog {
  let ids: string[] = [];
  let kinds: string[] = [];
  let intents: string[] = [];
  let payloads: Uint8Array[] = [];
  let parents = new Map<number, EventRef[]>();
  let timestamps = new Float64Array(1024);
  let digests = new Uint8Array(1024 * DIGEST_BYTES);
  let byId = new Map<string, number>();
  let internedKinds = new Map<string, string>();
  let chunk = new Uint8Array(CHUNK_BYTES);
  let used = 0;

  function keep(bytes: Uint8Array): Uint8Array {
    if (bytes.length > CHUNK_BYTES / 4) return bytes.slice();
    if (used + bytes.length > CHUNK_BYTES) {
      chunk = new Uint8Array(CHUNK_BYTES);
      used = 0;
    }
    const view = chunk.subarray(used, used + bytes.length);
    view.set(bytes);
    used += bytes.length;
    return view;
  }

  function grow(n: number): void {
    if (n <= timestamps.length) return;
    const t = new Float64Array(timestamps.length * 2);
    t.set(timestamps);
    timestamps = t;
    const d = new Uint8Array(digests.length * 2);
    d.set(digests);
    digests = d;
  }

  const digestAt = (i: number) => digests.slice(i * DIGEST_BYTES, (i + 1) * DIGEST_BYTES);

  function header(i: number): EventHeader {
    const refs = parents.get(i);
    return {
      id: ids[i]!,
      parents: refs ? refs.map((p) => ({ id: p.id, digest: p.digest.slice() })) : [],
      timestamp: timestamps[i]!,
      digest: digestAt(i),
      intent: intents[i]!,
      kind: kinds[i]!,
    };
  }

  return {
    get size() {
      return ids.length;
    },
    indexOf: (id) => byId.get(id),
    digestIs(i, digest) {
      const at = i * DIGEST_BYTES;
      for (let k = 0; k < DIGEST_BYTES; k++) if (digests[at + k] !== digest[k]) return false;
      return true;
    },
    idAt: (i) => ids[i]!,
    kindAt: (i) => kinds[i]!,
    append(h, payload) {
      const i = ids.length;
      grow(i + 1);
      ids.push(h.id);
      let kind = internedKinds.get(h.kind);
      if (kind === undefined) internedKinds.set(h.kind, (kind = h.kind));
      kinds.push(kind);
      intents.push(h.intent === NIL_INTENT ? NIL_INTENT : h.intent);
      timestamps[i] = h.timestamp;
      digests.set(h.digest, i * DIGEST_BYTES);
      payloads.push(keep(payload));
      if (h.parents.length > 0) parents.set(i, h.parents.map((p) => ({ id: p.id, digest: keep(p.digest) })));
      byId.set(h.id, i);
      return i + 1;
    },
    event: (i) => ({ seq: i + 1, header: header(i), payload: payloads[i]!.slice() }),
    header,
    digest: digestAt,
    payload: (i) => payloads[i]!.slice(),
    clear() {
      ids = [];
      kinds = [];
      intents = [];
      payloads = [];
      parents = new Map();
      timestamps = new Float64Array(1024);
      digests = new Uint8Array(1024 * DIGEST_BYTES);
      byId = new Map();
      internedKinds = new Map();
      chunk = new Uint8Array(0);
      used = 0;
    },
  };
}
