import { equalBytes, type Event, type EventRef, isBytes } from "../core/index.js";

/**
 * The events this runtime pushed, until the pull stream brings them back. An incoming event that
 * is byte for byte one of them is this runtime's own, already stored and verified in its vault:
 * the puller takes it as the duplicate it is without handing it to the vault, which would
 * recompute its digest only to find it stored. Anything else, or an event no longer remembered,
 * goes to the vault as usual.
 */
export interface Echoes {
  /** Remembers pushed events (the oldest are forgotten past the bound). */
  sent(events: readonly Event[]): void;
  /** True when `e` is identical to a pushed event, which is then forgotten. */
  take(e: Event): boolean;
}

/** Remembers up to `max` pushed events. */
export function createEchoes(max = 4096): Echoes {
  const pushed = new Map<string, Event>();
  return {
    sent(events) {
      for (const e of events) {
        pushed.delete(e.header.id);
        pushed.set(e.header.id, e);
      }
      for (const id of pushed.keys()) {
        if (pushed.size <= max) break;
        pushed.delete(id);
      }
    },
    take(e) {
      const mine = pushed.get(e.header.id);
      if (!mine || !sameEvent(mine, e)) return false;
      pushed.delete(e.header.id);
      return true;
    },
  };
}

/** Whether `b` (from the wire, unchecked) equals `a` (a pushed copy) field for field. */
function sameEvent(a: Event, b: Event): boolean {
  const x = a.header;
  const y = b.header;
  if (!isBytes(y.digest) || !isBytes(b.payload) || !Array.isArray(y.parents)) return false;
  return (
    x.kind === y.kind &&
    x.intent === y.intent &&
    x.timestamp === y.timestamp &&
    equalBytes(x.digest, y.digest) &&
    sameParents(x.parents, y.parents) &&
    equalBytes(a.payload, b.payload)
  );
}

function sameParents(a: readonly EventRef[], b: readonly EventRef[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const p = b[i] as Partial<EventRef> | null;
    if (!p || p.id !== a[i]!.id || !isBytes(p.digest) || !equalBytes(a[i]!.digest, p.digest)) return false;
  }
  return true;
}
