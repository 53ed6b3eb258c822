import { describe, expect, it } from "vitest";
import { createEvent, type Event, json } from "../core/index.js";
import { createEchoes } from "./echoes.js";

const make = (n: number, parents: Event[] = []) =>
  createEvent({ kind: "test.echo", payload: json.encode({ n }), parents: parents.map((p) => p.header) });
/** A copy as it comes off the wire: equal content, other objects. */
const copy = (e: Event): Event => structuredClone(e);

describe("echoes", () => {
  it("recognises a pushed event coming back unchanged, once", () => {
    const echoes = createEchoes();
    const parent = make(1);
    const child = make(2, [parent]);
    echoes.sent([parent, child]);
    expect(echoes.take(copy(child))).toBe(true);
    expect(echoes.take(copy(child))).toBe(false); // forgotten once taken
    expect(echoes.take(copy(parent))).toBe(true);
    expect(echoes.take(make(3))).toBe(false); // never pushed
  });

  it("does not take an event that differs in any field from what was pushed, nor a malformed one", () => {
    const echoes = createEchoes();
    const parent = make(1);
    const mine = make(2, [parent]);
    echoes.sent([mine]);
    const changes: ((e: Event) => void)[] = [
      (e) => (e.payload = json.encode({ n: 99 })),
      (e) => (e.header.digest = new Uint8Array(32)),
      (e) => (e.header.kind = "test.other"),
      (e) => (e.header.intent = createEvent({ kind: "x.y", payload: new Uint8Array() }).header.id),
      (e) => (e.header.timestamp += 1),
      (e) => (e.header.parents = []),
      (e) => (e.header.parents[0]!.digest = new Uint8Array(32)),
      (e) => (e.header.parents = [{ id: mine.header.id, digest: parent.header.digest }]),
      (e) => ((e as { payload: unknown }).payload = "bytes?"),
      (e) => ((e.header as { parents: unknown }).parents = null),
      (e) => ((e.header.parents as unknown[])[0] = null),
    ];
    for (const change of changes) {
      const e = copy(mine);
      change(e);
      expect(echoes.take(e), String(change)).toBe(false);
    }
    expect(echoes.take(copy(mine))).toBe(true);
  });

  it("remembers at most max events, forgetting the oldest pushed first", () => {
    const echoes = createEchoes(3);
    const events = [1, 2, 3, 4, 5].map((n) => make(n));
    echoes.sent(events.slice(0, 2));
    echoes.sent(events.slice(2));
    expect(events.map((e) => echoes.take(copy(e)))).toEqual([false, false, true, true, true]);
  });
});
