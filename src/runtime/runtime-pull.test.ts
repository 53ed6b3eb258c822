// The pull side of the runtime: remote events are committed in order with the cursor, published
// locally once, own events acknowledge the outbox, and a failed subscription is reopened from the
// persisted cursor with backoff. A fake remote hands out subscriptions the test feeds by hand.
import { createRouterTransport } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";
import { createRemoteStore } from "../adapters/connect/client/index.js";
import { createEventStoreHandler } from "../adapters/connect/server/index.js";
import { createMemoryBus, createMemoryVault } from "../adapters/memory/index.js";
import {
  type BusMessage,
  createEvent,
  createEventStore,
  ErrorCode,
  type Event,
  type EventBus,
  type LocalCommitOptions,
  type LocalVault,
  EventError,
  json,
  type StoredEvent,
  type SubscriberQueue,
  verifyEvent,
} from "../core/index.js";
import { METRICS } from "./index.js";
import { fakeClock, type FakeRemote, fakeRemote, hang, runtimes } from "../../test/support/runtime-doubles.js";

// ---------------------------------------------------------------------------------------------
// Test doubles

const { runtime, closeAll } = runtimes();
afterEach(closeAll);

let counter = 0;
function event(kind = "test.item", parents: Event[] = []): Event {
  return createEvent({ kind, payload: json.encode({ n: counter++ }), parents: parents.map((p) => p.header) });
}

/** Commits events on the server ("another client") and returns them with their server seqs. */
async function onServer(remote: FakeRemote, events: Event[]): Promise<StoredEvent[]> {
  const r = await remote.store.commit(events);
  return events.map((e, i) => ({ ...e, seq: r[i]!.seq }));
}

function feed(sub: { queue: SubscriberQueue }, events: StoredEvent[], caughtUp?: number): void {
  for (const event of events) void sub.queue.push({ type: "event", event });
  if (caughtUp !== undefined) void sub.queue.push({ type: "caught-up", seq: caughtUp });
}

async function localIds(vault: { read(): AsyncIterable<StoredEvent> }): Promise<string[]> {
  const out: string[] = [];
  for await (const e of vault.read()) out.push(e.header.id);
  return out;
}

/** Collects what a bus publishes. */
function watch(bus: EventBus): { events: StoredEvent[]; stop(): void } {
  const sub = bus.subscribe({ bufferSize: 10_000, overflow: "block" });
  const events: StoredEvent[] = [];
  void (async () => {
    for await (const m of sub as AsyncIterable<BusMessage>) if (m.type === "event") events.push(m.event);
  })();
  return { events, stop: () => sub.close() };
}

const ids = (events: Event[]) => events.map((e) => e.header.id);

// ---------------------------------------------------------------------------------------------

describe("pull", () => {
  it("commits remote events in order with the cursor, and publishes each newly stored one once", async () => {
    const remote = fakeRemote("manual");
    const vault = createMemoryVault();
    const bus = createMemoryBus();
    const seen = watch(bus);
    const rt = runtime(remote, { vault, bus });
    await expect.poll(() => remote.subs.length).toBe(1);
    expect(remote.subs[0]!.opts.after).toBe(0);
    const first = await onServer(remote, [event(), event(), event()]);
    feed(remote.subs[0]!, first);
    await expect.poll(() => vault.cursor("remote")).toBe(3);
    expect(rt.status().caughtUp).toBe(false);
    const second = await onServer(remote, [event(), event()]);
    feed(remote.subs[0]!, second, 5);
    await expect.poll(() => rt.status().caughtUp).toBe(true);
    expect(await vault.cursor("remote")).toBe(5);
    expect(rt.status().cursors.remote).toBe(5);
    expect(await localIds(vault)).toEqual(ids([...first, ...second]));
    await expect.poll(() => seen.events.length).toBe(5);
    expect(ids(seen.events)).toEqual(ids([...first, ...second]));
    expect(seen.events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]); // local seqs
    expect(rt.metrics().counters[METRICS.pulled]).toBe(5);
    expect(rt.status().lastPullAt).toEqual(expect.any(Number));
    expect(rt.status().online).toBe(true);
    seen.stop();
  });

  it("own events that come back are not stored or published again, and acknowledge the outbox", async () => {
    const remote = fakeRemote("feed");
    // The push never answers, so only the pull can acknowledge.
    remote.commitImpl = (_events, o) => hang(o?.signal);
    const vault = createMemoryVault();
    const bus = createMemoryBus();
    const seen = watch(bus);
    const rt = runtime(remote, { vault, bus });
    const mine = await rt.commit("test.mine", { mine: true });
    await expect.poll(() => remote.calls.length).toBe(1);
    const foreign = await onServer(remote, [event()]);
    expect(rt.status().pending).toBe(1);
    // The server got it anyway (the answer is what is lost).
    await remote.store.commit([{ header: mine.header, payload: mine.payload }]);
    const later = await onServer(remote, [event()]);
    await expect.poll(() => vault.cursor("remote")).toBe(3);
    expect(await vault.outboxSize()).toBe(0);
    expect(await vault.remoteSeq(mine.header.id)).toBe(2);
    await expect.poll(() => rt.status().pending).toBe(0);
    await rt.flush();
    expect(await localIds(vault)).toEqual([mine.header.id, foreign[0]!.header.id, later[0]!.header.id]);
    await expect.poll(() => seen.events.length).toBe(3);
    expect(ids(seen.events).sort()).toEqual([mine.header.id, foreign[0]!.header.id, later[0]!.header.id].sort());
    expect(rt.metrics().counters[METRICS.pulled]).toBe(2);
    seen.stop();
  });

  it("own pushed events come back without passing through the vault; those pushed by an earlier runtime still go through it", async () => {
    const remote = fakeRemote("feed");
    const vault = createMemoryVault();
    const pulled: string[][] = []; // what the puller hands the vault (commits that move the cursor)
    const spied: LocalVault = Object.assign(Object.create(vault), {
      commit: (events: Event[], o?: LocalCommitOptions) => (o?.cursor && pulled.push(events.map((e) => e.header.id)), vault.commit(events, o)),
    });
    const first = runtime(remote, { vault: spied });
    const early = await first.commit("test.mine", { n: 1 });
    await first.flush();
    await expect.poll(() => vault.cursor("remote")).toBe(1);
    await first.close();
    pulled.length = 0;
    // A new runtime on the same vault: it did not push `early`, and its own `late` it did push.
    remote.commitImpl = async (events, o) => {
      if (events.some((e) => e.header.id === early.header.id)) throw new Error("pushed twice");
      return remote.store.commit(events, o);
    };
    const foreign = await onServer(remote, [event()]);
    const second = runtime(remote, { vault: spied });
    const late = await second.commit("test.mine", { n: 2 });
    await second.flush();
    await expect.poll(() => vault.cursor("remote")).toBe(3);
    expect(pulled.flat()).toContain(foreign[0]!.header.id);
    expect(pulled.flat()).not.toContain(late.header.id);
    expect(await vault.remoteSeq(late.header.id)).toBe(3);
    expect(await localIds(vault)).toEqual([early.header.id, late.header.id, foreign[0]!.header.id]);
    // `early` came back once, to the first runtime; a resubscription from 0 hands it to the vault.
    await vault.commit([], { cursor: { name: "remote", value: 0 } });
    await second.close();
    pulled.length = 0;
    const third = runtime(remote, { vault: spied });
    await expect.poll(() => third.status().caughtUp).toBe(true);
    expect(pulled.flat().sort()).toEqual([early.header.id, late.header.id, foreign[0]!.header.id].sort());
    expect(await localIds(vault)).toHaveLength(3);
  });

  it("after the subscription fails with unavailable, resubscribes from the persisted cursor with backoff", async () => {
    const { clock, sleeps } = fakeClock([0, 0.5, 1 - 1e-9]);
    const remote = fakeRemote("manual");
    const vault = createMemoryVault();
    const bus = createMemoryBus();
    const seen = watch(bus);
    const rt = runtime(remote, { vault, bus, clock, retry: { baseMs: 10, maxMs: 30 } });
    const all = await onServer(remote, Array.from({ length: 8 }, () => event()));

    await expect.poll(() => remote.subs.length).toBe(1);
    feed(remote.subs[0]!, all.slice(0, 3));
    await expect.poll(() => vault.cursor("remote")).toBe(3);
    remote.subs[0]!.queue.end(new EventError(ErrorCode.unavailable, "connection lost"));

    await expect.poll(() => remote.subs.length).toBe(2);
    expect(remote.subs[1]!.opts.after).toBe(3);
    expect(rt.status()).toMatchObject({ online: false, caughtUp: false, lastError: { code: ErrorCode.unavailable } });
    remote.subs[1]!.queue.end(new EventError(ErrorCode.unavailable, "still down"));
    await expect.poll(() => remote.subs.length).toBe(3);
    expect(remote.subs[2]!.opts.after).toBe(3);
    remote.subs[2]!.queue.end(new EventError(ErrorCode.unavailable, "still down"));
    await expect.poll(() => remote.subs.length).toBe(4);
    expect(remote.subs[3]!.opts.after).toBe(3);
    // attempt n: cap = min(30, 10 * 2^n), delay = cap/2 + cap/2 * random
    expect(sleeps).toHaveLength(3);
    expect(sleeps[0]).toBeCloseTo(5, 6);
    expect(sleeps[1]).toBeCloseTo(15, 6);
    expect(sleeps[2]).toBeCloseTo(30, 3);
    expect(sleeps[2]).toBeLessThan(30);

    feed(remote.subs[3]!, all.slice(3), 8);
    await expect.poll(() => rt.status().caughtUp).toBe(true);
    expect(await vault.cursor("remote")).toBe(8);
    expect(await localIds(vault)).toEqual(ids(all));
    await expect.poll(() => seen.events.length).toBe(8);
    expect(ids(seen.events)).toEqual(ids(all));
    expect(rt.status().online).toBe(true);

    // A success resets the backoff.
    remote.subs[3]!.queue.end(new EventError(ErrorCode.unavailable, "again"));
    await expect.poll(() => remote.subs.length).toBe(5);
    expect(remote.subs[4]!.opts.after).toBe(8);
    expect(sleeps[3]).toBeCloseTo(5, 6);
    seen.stop();
  });

  it("a server that ends the stream while the runtime leads is reopened, paced like a failure", async () => {
    const { clock, sleeps } = fakeClock([0]);
    const remote = fakeRemote("manual");
    runtime(remote, { clock, retry: { baseMs: 8, maxMs: 100 } });
    await expect.poll(() => remote.subs.length).toBe(1);
    remote.subs[0]!.queue.end();
    await expect.poll(() => remote.subs.length).toBe(2);
    expect(sleeps).toEqual([4]);
  });

  it("converges while commits race with repeated subscription failures: nothing duplicated or missed", async () => {
    const remote = fakeRemote("feed");
    const vault = createMemoryVault();
    const bus = createMemoryBus();
    const seen = watch(bus);
    const rt = runtime(remote, { vault, bus, pull: { maxBatch: 3 } });
    const all: StoredEvent[] = [];
    for (let round = 0; round < 5; round++) {
      all.push(...(await onServer(remote, Array.from({ length: 7 }, () => event()))));
      await expect.poll(() => remote.subs.length).toBeGreaterThan(round);
      // Kill the current subscription at some point of its replay.
      await new Promise((r) => setTimeout(r, round));
      remote.subs[remote.subs.length - 1]!.queue.end(new EventError(ErrorCode.unavailable, `cut ${round}`));
    }
    all.push(...(await onServer(remote, [event()])));
    await expect.poll(() => vault.cursor("remote")).toBe(all.length);
    await expect.poll(() => rt.status().caughtUp).toBe(true);
    const local = await localIds(vault);
    expect(local).toEqual(ids(all));
    await expect.poll(() => seen.events.length).toBe(all.length);
    expect(ids(seen.events)).toEqual(ids(all));
    expect(rt.metrics().counters[METRICS.pulled]).toBe(all.length);
    // Every resubscription started from what the vault had persisted.
    for (const s of remote.subs) expect(s.opts.after).toBeLessThanOrEqual(all.length);
    seen.stop();
  });

  it("a gap in the stream reopens the subscription from the cursor", async () => {
    const remote = fakeRemote("manual");
    const vault = createMemoryVault();
    runtime(remote, { vault });
    const all = await onServer(remote, Array.from({ length: 4 }, () => event()));
    await expect.poll(() => remote.subs.length).toBe(1);
    feed(remote.subs[0]!, all.slice(0, 2));
    void remote.subs[0]!.queue.push({ type: "gap", from: 3, to: 3 });
    await expect.poll(() => remote.subs.length).toBe(2);
    expect(remote.subs[1]!.opts.after).toBe(2);
    expect(remote.subs[0]!.opts.signal?.aborted || remote.subs[0]!.queue.closed).toBe(true);
    feed(remote.subs[1]!, all.slice(2), 4);
    await expect.poll(() => vault.cursor("remote")).toBe(4);
    expect(await localIds(vault)).toEqual(ids(all));
  });

  it("status().caughtUp is false while replaying and true once the remote says caught-up", async () => {
    const remote = fakeRemote("manual");
    const rt = runtime(remote);
    await expect.poll(() => remote.subs.length).toBe(1);
    expect(rt.status().caughtUp).toBe(false);
    const evs = await onServer(remote, [event()]);
    feed(remote.subs[0]!, evs);
    await expect.poll(() => rt.status().cursors.remote).toBe(1);
    expect(rt.status().caughtUp).toBe(false);
    void remote.subs[0]!.queue.push({ type: "caught-up", seq: 1 });
    await expect.poll(() => rt.status().caughtUp).toBe(true);
    remote.subs[0]!.queue.end(new EventError(ErrorCode.unavailable, "lost"));
    await expect.poll(() => rt.status().caughtUp).toBe(false);
  });

  it.each([
    ["a string", () => "nope"],
    ["a TypeError", () => new TypeError("bad")],
    ["an object with a throwing getter", () => ({ get name(): never { throw new Error("getter exploded"); } })],
  ] as [string, () => unknown][])("survives a remote whose subscribe() throws %s", async (_name, make) => {
    const remote = fakeRemote("feed");
    remote.subscribeThrows.push(make());
    const vault = createMemoryVault();
    runtime(remote, { vault });
    await onServer(remote, [event()]);
    await expect.poll(() => vault.cursor("remote"), { timeout: 1000 }).toBe(1);
  });

  it("a pulled event the vault refuses is retried, not skipped, and the loop carries on once it fits", async () => {
    // The remote sends a child before its parent could be stored: the full replica refuses it.
    const remote = fakeRemote("manual");
    const vault = createMemoryVault();
    const rt = runtime(remote, { vault });
    const parent = event();
    const child = event("test.item", [parent]);
    await expect.poll(() => remote.subs.length).toBe(1);
    feed(remote.subs[0]!, [{ ...child, seq: 2 }]);
    await expect.poll(() => rt.status().lastError?.code).toBe(ErrorCode.failed_precondition);
    expect(await vault.cursor("remote")).toBe(0);
    await expect.poll(() => remote.subs.length).toBeGreaterThan(1);
    feed(remote.subs[remote.subs.length - 1]!, [{ ...parent, seq: 1 }, { ...child, seq: 2 }], 2);
    await expect.poll(() => vault.cursor("remote")).toBe(2);
    expect(await localIds(vault)).toEqual(ids([parent, child]));
  });
});

describe("pull: partial sync", () => {
  it("with pull.kinds and allowMissingParents, only matching kinds arrive and every held event verifies (over Connect)", async () => {
    const store = createEventStore({ vault: createMemoryVault(), bus: createMemoryBus() });
    const transport = createRouterTransport(createEventStoreHandler({ store }).routes);
    const remote = createRemoteStore({ transport });
    // Interleaved kinds; "doc.*" events have "chat.*" parents the replica will never hold.
    const all: Event[] = [];
    let lastChat: Event | undefined;
    let lastDoc: Event | undefined;
    for (let i = 0; i < 12; i++) {
      if (i % 3 === 0) all.push((lastChat = event("chat.msg", lastChat ? [lastChat] : [])));
      else all.push((lastDoc = event(i % 2 ? "doc.edit" : "doc.create", [lastDoc, lastChat].filter((e): e is Event => !!e))));
    }
    await store.commit(all);
    const vault = createMemoryVault({ allowMissingParents: true });
    const bus = createMemoryBus();
    const seen = watch(bus);
    const rt = runtime(remote, { vault, bus, pull: { kinds: ["doc.*"] } });
    const docs = all.filter((e) => e.header.kind.startsWith("doc."));
    const lastDocSeq = all.indexOf(docs[docs.length - 1]!) + 1;
    await expect.poll(() => rt.status().caughtUp).toBe(true);
    expect(await vault.cursor("remote")).toBe(lastDocSeq);
    const held: StoredEvent[] = [];
    for await (const e of vault.read()) held.push(e);
    expect(ids(held)).toEqual(ids(docs));
    for (const e of held) expect(verifyEvent(e)).toBe(true);
    // A partial replica: some held events name parents it does not hold.
    const heldIds = new Set(ids(held));
    expect(held.some((e) => e.header.parents.some((p) => !heldIds.has(p.id)))).toBe(true);

    // Live events of other kinds stay out as well.
    const more = [event("chat.msg"), event("doc.edit", [docs[docs.length - 1]!]), event("other.thing")];
    await store.commit(more);
    await expect.poll(() => vault.cursor("remote")).toBe(all.length + 2);
    expect(await localIds(vault)).toEqual(ids([...docs, more[1]!]));
    await expect.poll(() => seen.events.length).toBe(docs.length + 1);
    expect(seen.events.every((e) => e.header.kind.startsWith("doc."))).toBe(true);
    seen.stop();
  });
});
