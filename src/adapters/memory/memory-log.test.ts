import { describe, expect, it } from "vitest";
import { createEvent, equalBytes, type Event, NIL_INTENT, uuidv4 } from "../../core/index.js";
import { createMemoryLog } from "./memory-log.js";

function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)));
  return out;
}

describe("memory log", () => {
  it("gives back every payload byte for byte across chunk boundaries and oversized payloads", () => {
    const log = createMemoryLog();
    // Sizes that fill chunks unevenly, hit the quarter-chunk limit exactly and go past it.
    const sizes = [0, 1, 64 * 1024, 64 * 1024 + 1, 200 * 1024, 3, 256 * 1024, 1 << 20];
    for (let i = 0; i < 300; i++) sizes.push((i * 7919) % 70_000);
    const events = sizes.map((n) => createEvent({ kind: "t.blob", payload: randomBytes(n) }));
    for (const e of events) log.append(e.header, e.payload);
    expect(log.size).toBe(events.length);
    events.forEach((e, i) => {
      const out = log.event(i);
      expect(equalBytes(out.payload, e.payload), `payload ${i} (${e.payload.length} B)`).toBe(true);
      expect(equalBytes(log.payload(i), e.payload), `payload(${i})`).toBe(true);
      expect(out.header).toEqual(e.header);
      expect(out.seq).toBe(i + 1);
    });
  });

  it("keeps its own copies: changing what went in or came out changes nothing stored", () => {
    const log = createMemoryLog();
    const parent = createEvent({ kind: "t.parent", payload: new Uint8Array([1, 2, 3]) });
    const child = createEvent({ kind: "t.child", payload: new Uint8Array([4, 5, 6]), parents: [parent.header], intent: uuidv4() });
    const pristine = structuredClone([parent, child]) as Event[];
    log.append(parent.header, parent.payload);
    log.append(child.header, child.payload);
    for (const e of [parent, child]) {
      e.payload.fill(0);
      e.header.digest.fill(0);
      for (const p of e.header.parents) p.digest.fill(0);
    }
    const out = log.event(1);
    out.payload.fill(9);
    out.header.digest.fill(9);
    out.header.parents[0]!.digest.fill(9);
    expect(log.event(0)).toEqual({ seq: 1, ...pristine[0] });
    expect(log.event(1)).toEqual({ seq: 2, ...pristine[1] });
    expect(log.digestIs(1, pristine[1]!.header.digest)).toBe(true);
    expect(log.digestIs(1, new Uint8Array(32))).toBe(false);
  });

  it("finds events by id and reads kinds, ids and intents back", () => {
    const log = createMemoryLog();
    const events = Array.from({ length: 3000 }, (_, i) => createEvent({ kind: `t.k${i % 3}`, payload: new Uint8Array([i & 255]) }));
    for (const e of events) log.append(e.header, e.payload);
    events.forEach((e, i) => {
      expect(log.indexOf(e.header.id)).toBe(i);
      expect(log.idAt(i)).toBe(e.header.id);
      expect(log.kindAt(i)).toBe(`t.k${i % 3}`);
      expect(log.digest(i)).toEqual(e.header.digest);
      expect(log.header(i).intent).toBe(NIL_INTENT);
    });
    expect(log.indexOf(uuidv4())).toBeUndefined();
    log.clear();
    expect(log.size).toBe(0);
    expect(log.indexOf(events[0]!.header.id)).toBeUndefined();
  });
});
