import { describe, expect, it } from "vitest";
import { countingClient, useMigratedPglite } from "../../../test/support/pglite.js";
import { type BusMessage, createEvent, type StoredEvent, type Subscription, text, uuidv4 } from "../../core/index.js";
import { createPostgresStore } from "./index.js";
import { createTail } from "./tail.js";

const stored = (seq: number, bytes = 10): StoredEvent => ({ ...createEvent({ kind: "t.e", payload: new Uint8Array(bytes) }), seq });

describe("tail", () => {
  it("gives a run only when every seq of it is there", () => {
    const tail = createTail();
    tail.add([1, 2, 3, 5].map((s) => stored(s)));
    expect(tail.run(0, 3)!.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(tail.run(1, 2)!.map((e) => e.seq)).toEqual([2]);
    expect(tail.run(3, 3)).toEqual([]);
    expect(tail.run(2, 5)).toBeUndefined(); // 4 is missing
    expect(tail.run(5, 6)).toBeUndefined();
  });

  it("keeps at most maxEvents and maxBytes, dropping the first added", () => {
    const byCount = createTail({ maxEvents: 3, maxBytes: 1 << 20 });
    byCount.add([1, 2, 3, 4, 5].map((s) => stored(s)));
    expect(byCount.run(0, 5)).toBeUndefined();
    expect(byCount.run(2, 5)!.map((e) => e.seq)).toEqual([3, 4, 5]);
    const byBytes = createTail({ maxEvents: 100, maxBytes: 250 });
    byBytes.add([1, 2, 3].map((s) => stored(s, 100)));
    expect(byBytes.run(0, 3)).toBeUndefined();
    expect(byBytes.run(1, 3)!.map((e) => e.seq)).toEqual([2, 3]);
  });

  it("stays bounded and consistent over many adds", () => {
    const tail = createTail({ maxEvents: 100, maxBytes: 1 << 20 });
    for (let b = 0; b < 200; b++) tail.add(Array.from({ length: 50 }, (_, i) => stored(b * 50 + i + 1)));
    expect(tail.run(10_000 - 100, 10_000)!.map((e) => e.seq)).toEqual(Array.from({ length: 100 }, (_, i) => 9_901 + i));
    expect(tail.run(10_000 - 101, 10_000)).toBeUndefined();
  });
});

describe("postgres store: its subscribers get its own commits from the tail", () => {
  const db = useMigratedPglite();

  /** The PGlite client, counting reads of event rows. */
  const counting = () => {
    const { client, count } = countingClient(db, /SELECT .* FROM \S*toka_events WHERE tenant = \$1 AND seq > \$2/);
    return { client, pageReads: count };
  };

  async function take(sub: Subscription, n: number): Promise<StoredEvent[]> {
    const out: StoredEvent[] = [];
    while (out.length < n) {
      const r: IteratorResult<BusMessage> = await sub.next();
      if (r.done) throw new Error("ended");
      if (r.value.type === "event") out.push(r.value.event);
    }
    return out;
  }

  it("a live subscriber receives a commit of this store without reading it back, as committed", async () => {
    const { client, pageReads } = counting();
    const store = createPostgresStore({ client, tenant: uuidv4() });
    try {
      const all = store.subscribe();
      const some = store.subscribe({ kinds: ["tail.b"] });
      for (const s of [all, some]) expect((await s.next()).value).toMatchObject({ type: "caught-up" });
      const before = pageReads();
      const events = Array.from({ length: 50 }, (_, i) => createEvent({ kind: i % 2 ? "tail.b" : "tail.a", payload: text.encode(`e${i}`) }));
      await store.commit(events);
      // The caller's own objects change afterwards: the subscribers must not see it.
      for (const e of events) e.payload.fill(0);
      const got = await take(all, 50);
      expect(got.map((e) => [e.seq, e.header.id, text.decode(e.payload)])).toEqual(events.map((e, i) => [i + 1, e.header.id, `e${i}`]));
      expect((await take(some, 25)).map((e) => e.seq)).toEqual(events.flatMap((_, i) => (i % 2 ? [i + 1] : [])));
      expect(pageReads() - before).toBe(0);
      all.close();
      some.close();
    } finally {
      await store.close();
    }
  });

  it("a commit of another store (another server) is read from the database once; later readers at that place get it from the tail", async () => {
    const { client, pageReads } = counting();
    const tenant = uuidv4();
    const store = createPostgresStore({ client, tenant, pollMs: 50 });
    const other = createPostgresStore({ client: db(), tenant });
    try {
      const first = store.subscribe();
      expect((await first.next()).value).toMatchObject({ type: "caught-up" });
      const before = pageReads();
      const events = Array.from({ length: 20 }, () => createEvent({ kind: "tail.other", payload: text.encode("x") }));
      await other.commit(events);
      const ids = events.map((e) => e.header.id);
      expect((await take(first, 20)).map((e) => e.header.id)).toEqual(ids);
      expect(pageReads() - before).toBe(1);
      const later = store.subscribe({ after: 0 });
      expect((await take(later, 20)).map((e) => e.header.id)).toEqual(ids);
      expect(pageReads() - before).toBe(1);
      first.close();
      later.close();
    } finally {
      await Promise.all([store.close(), other.close()]);
    }
  });
});
