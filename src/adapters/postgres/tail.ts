import type { Event, StoredEvent } from "../../core/index.js";

/** Bounds of a store's {@link Tail}. */
export interface TailLimits {
  /** Most events kept (default 4,096). */
  maxEvents: number;
  /** Most payload bytes kept (default 8 MiB). */
  maxBytes: number;
}

/**
 * The newest events of one log that this process committed or read, by seq, shared by the store's
 * subscribers: a commit reaches the subscribers of its own process without a read of the
 * database, and one read serves every subscriber at the same place. Bounded by events and bytes;
 * the first added go first. Only what the database confirmed goes in (committed rows with their seqs,
 * rows read), so a run found here is exactly what a read would return.
 */
export interface Tail {
  add(events: readonly StoredEvent[]): void;
  /** The events with seqs `after + 1 … upTo`, or undefined unless every one of them is here. */
  run(after: number, upTo: number): StoredEvent[] | undefined;
}

export function createTail(limits: TailLimits = { maxEvents: 4096, maxBytes: 8 << 20 }): Tail {
  const bySeq = new Map<number, StoredEvent>();
  // Seqs in the order they were added (about seq order): the first added go first. A queue of its
  // own, since taking the first key of a Map that had many deletions walks over their holes.
  let order: number[] = [];
  let first = 0;
  let bytes = 0;

  return {
    add(events) {
      for (const e of events) {
        if (bySeq.has(e.seq)) continue;
        bySeq.set(e.seq, e);
        order.push(e.seq);
        bytes += e.payload.length;
      }
      while (bySeq.size > limits.maxEvents || (bytes > limits.maxBytes && bySeq.size > 0)) {
        const seq = order[first++]!;
        bytes -= bySeq.get(seq)!.payload.length;
        bySeq.delete(seq);
      }
      if (first > 1024 && first * 2 > order.length) {
        order = order.slice(first);
        first = 0;
      }
    },
    run(after, upTo) {
      const out: StoredEvent[] = [];
      for (let s = after + 1; s <= upTo; s++) {
        const e = bySeq.get(s);
        if (!e) return undefined;
        out.push(e);
      }
      return out;
    },
  };
}

/** A committed event as the tail keeps it: a copy, so the caller's later changes do not show. */
export function storedCopy(e: Event, seq: number): StoredEvent {
  const h = e.header;
  return {
    seq,
    header: { id: h.id, parents: h.parents.map((p) => ({ id: p.id, digest: p.digest.slice() })), timestamp: h.timestamp, digest: h.digest.slice(), intent: h.intent, kind: h.kind },
    payload: e.payload.slice(),
  };
}
