// The push side of the runtime: batching, retries with backoff, refusals and dead letters, acks,
// flush and back-pressure. A fake remote (a real in-memory store behind a commit hook the test
// controls) and a fake clock (records every backoff it is asked to sleep) keep it deterministic.
import { createRouterTransport } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";
import { createRemoteStore } from "../adapters/connect/client/index.js";
import { createEventStoreHandler } from "../adapters/connect/server/index.js";
import { createMemoryBus, createMemoryVault } from "../adapters/memory/index.js";
import {
  createEvent,
  createEventStore,
  ErrorCode,
  type Event,
  EventError,
  type EventStore,
  json,
  type LocalVault,
  type StoredEvent,
} from "../core/index.js";
import { type EventRuntime, METRICS } from "./index.js";
import { abortable, fakeClock, fakeRemote, hang, runtimes, sleep } from "../../test/support/runtime-doubles.js";

// ---------------------------------------------------------------------------------------------
// Test doubles

function deferred<T = void>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Waits for `p`, or rejects with `canceled` when the signal aborts (as a real remote call does). */

const { runtime, closeAll } = runtimes({ idleMs: 20 });
afterEach(closeAll);

let counter = 0;
function event(opts: { parents?: Event[]; bytes?: number; kind?: string } = {}): Event {
  const payload = opts.bytes === undefined ? json.encode({ n: counter++ }) : new Uint8Array(opts.bytes).fill(counter++ % 256);
  return createEvent({ kind: opts.kind ?? "test.item", payload, parents: opts.parents?.map((p) => p.header) });
}

/** Commits events into a vault's outbox before any runtime exists. */
async function preload(vault: LocalVault, events: Event[]): Promise<void> {
  await vault.commit(events, { outbox: true });
}

async function serverIds(store: EventStore): Promise<string[]> {
  const ids: string[] = [];
  for await (const e of store.read()) ids.push(e.header.id);
  return ids;
}

const ids = (events: Event[]) => events.map((e) => e.header.id);
const payloadBytes = (events: Event[]) => events.reduce((n, e) => n + e.payload.length, 0);

/** flush(), but failing after `ms` instead of waiting for ever on a dead loop. */
async function flushWithin(rt: EventRuntime, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`flush did not finish in ${ms} ms`)), ms)));
  try {
    await Promise.race([rt.flush(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 2));
  return done;
}

// ---------------------------------------------------------------------------------------------

describe("push: batches", () => {
  it("never sends more than batch.maxEvents per commit, in outbox order", async () => {
    const remote = fakeRemote();
    const vault = createMemoryVault();
    const events = Array.from({ length: 23 }, () => event());
    await preload(vault, events);
    const rt = runtime(remote, { vault, batch: { maxEvents: 5 } });
    await rt.flush();
    expect(remote.calls.map((c) => c.length)).toEqual([5, 5, 5, 5, 3]);
    expect(remote.calls.flatMap(ids)).toEqual(ids(events));
    expect(await serverIds(remote.store)).toEqual(ids(events));
  });

  it("never sends more than batch.maxBytes of payload per commit; a bigger single event goes alone", async () => {
    const remote = fakeRemote();
    const vault = createMemoryVault();
    const small = Array.from({ length: 7 }, () => event({ bytes: 300 }));
    const big = event({ bytes: 5000 });
    const tail = Array.from({ length: 2 }, () => event({ bytes: 300 }));
    await preload(vault, [...small, big, ...tail]);
    const rt = runtime(remote, { vault, batch: { maxEvents: 100, maxBytes: 1000 } });
    await rt.flush();
    for (const c of remote.calls) {
      if (c.length > 1) expect(payloadBytes(c)).toBeLessThanOrEqual(1000);
    }
    expect(remote.calls.map((c) => c.length)).toEqual([3, 3, 1, 1, 2]);
    expect(remote.calls[3]).toHaveLength(1);
    expect(remote.calls[3]![0]!.header.id).toBe(big.header.id);
    expect(remote.calls.flatMap(ids)).toEqual(ids([...small, big, ...tail]));
  });

  it("with batch.delayMs, waits for more events and pushes them together", async () => {
    const remote = fakeRemote();
    const { clock, sleeps } = fakeClock();
    const rt = runtime(remote, { clock, batch: { delayMs: 7, maxEvents: 50 } });
    // The first commit wakes the pusher; the rest land while it waits delayMs.
    await Promise.all(Array.from({ length: 4 }, (_, i) => rt.commit("test.item", { i })));
    await rt.flush();
    expect(sleeps[0]).toBe(7);
    expect(remote.calls.flat()).toHaveLength(4);
    expect(remote.calls.length).toBeLessThan(4);
  });
});

describe("push: batches in flight", () => {
  it("keeps up to batch.maxInFlight pushes on the way, each naming the last event of the one before", async () => {
    const remote = fakeRemote();
    const vault = createMemoryVault();
    const events = Array.from({ length: 20 }, () => event());
    await preload(vault, events);
    const gate = deferred();
    const afters: (string | undefined)[] = [];
    let open = 0;
    let most = 0;
    remote.commitImpl = async (batch, o) => {
      afters.push(o?.after);
      most = Math.max(most, ++open);
      try {
        await abortable(gate.promise, o?.signal);
        return await remote.store.commit(batch, o);
      } finally {
        open--;
      }
    };
    const rt = runtime(remote, { vault, batch: { maxEvents: 4, maxInFlight: 3 } });
    await expect.poll(() => remote.calls.length).toBe(3);
    await sleep(20);
    expect(remote.calls).toHaveLength(3); // the window is full
    gate.resolve();
    await flushWithin(rt, 5000);
    expect(most).toBe(3);
    expect(remote.calls.map((c) => c.length)).toEqual([4, 4, 4, 4, 4]);
    expect(remote.calls.flatMap(ids)).toEqual(ids(events));
    // The first batch of a run names nothing; each later one names the batch sent before it.
    expect(afters[0]).toBeUndefined();
    for (let i = 1; i < 3; i++) expect(afters[i]).toBe(remote.calls[i - 1]!.at(-1)!.header.id);
    expect(await serverIds(remote.store)).toEqual(ids(events));
  });

  it("batch.maxInFlight 1 sends the next batch only after the last one's ack", async () => {
    const remote = fakeRemote();
    const vault = createMemoryVault();
    await preload(vault, Array.from({ length: 9 }, () => event()));
    let open = 0;
    let most = 0;
    remote.commitImpl = async (batch, o) => {
      most = Math.max(most, ++open);
      await sleep(3);
      open--;
      expect(o?.after).toBeUndefined();
      return remote.store.commit(batch, o);
    };
    const rt = runtime(remote, { vault, batch: { maxEvents: 2, maxInFlight: 1 } });
    await flushWithin(rt, 5000);
    expect(most).toBe(1);
    expect(remote.calls).toHaveLength(5);
  });

  it("a failed push: the ones behind it settle, then all is pushed again in outbox order, each event once", async () => {
    const remote = fakeRemote();
    const vault = createMemoryVault();
    const events = Array.from({ length: 12 }, () => event());
    await preload(vault, events);
    let calls = 0;
    remote.commitImpl = async (batch, o) => {
      // The second push fails after the server stored it (a lost reply); the third, sent behind
      // it, is stored too; the first fails outright.
      const n = ++calls;
      await sleep(5 * (4 - Math.min(n, 3)));
      if (n === 1) throw new EventError(ErrorCode.unavailable, "connection reset");
      const r = await remote.store.commit(batch, o);
      if (n === 2) throw new EventError(ErrorCode.deadline_exceeded, "reply lost");
      return r;
    };
    const rt = runtime(remote, { vault, batch: { maxEvents: 4, maxInFlight: 3 }, retry: { baseMs: 1, maxMs: 5 } });
    await flushWithin(rt, 5000);
    // The first attempt of batches 2 and 3 could not follow batch 1 (it failed): nothing of theirs
    // was stored out of order, and every event is on the server once, in outbox order.
    expect(await serverIds(remote.store)).toEqual(ids(events));
    expect(rt.status()).toMatchObject({ pending: 0, deadLetters: 0 });
    expect(rt.metrics().counters["toka.runtime.events.pushed"]).toBe(12);
  });

  it("a refused event in a pipelined run is dead-lettered alone; the rest arrive in order", async () => {
    const remote = fakeRemote();
    const vault = createMemoryVault();
    const before = Array.from({ length: 5 }, () => event());
    const bad = event({ kind: "test.refused" });
    const after = Array.from({ length: 6 }, () => event());
    await preload(vault, [...before, bad, ...after]);
    remote.commitImpl = async (batch, o) => {
      if (batch.some((e) => e.header.kind === "test.refused")) throw new EventError(ErrorCode.permission_denied, "kind not allowed");
      return remote.store.commit(batch, o);
    };
    const rt = runtime(remote, { vault, batch: { maxEvents: 3, maxInFlight: 4 } });
    await flushWithin(rt, 5000);
    expect(await serverIds(remote.store)).toEqual(ids([...before, ...after]));
    expect((await rt.deadLetters()).map((d) => d.event.header.id)).toEqual([bad.header.id]);
  });
});

describe("push: retries", () => {
  it.each([ErrorCode.unavailable, ErrorCode.deadline_exceeded, ErrorCode.resource_exhausted, ErrorCode.aborted])(
    "retries %s with growing, capped, jittered delays until it succeeds, then pushes once",
    async (code) => {
      const randoms = [0, 0.5, 0.99, 0.25, 0.75, 0.1];
      const { clock, sleeps } = fakeClock(randoms);
      const remote = fakeRemote();
      let failures = 6;
      remote.commitImpl = async (events, o) => {
        if (failures-- > 0) throw new EventError(code, `remote says ${code}`);
        return remote.store.commit(events, o);
      };
      const vault = createMemoryVault();
      const events = [event(), event(), event()];
      await preload(vault, events);
      const rt = runtime(remote, { vault, clock, retry: { baseMs: 10, maxMs: 60 } });
      await rt.flush();

      // attempt n waits cap/2 + cap/2 * random, cap = min(maxMs, baseMs * 2^n)
      const caps = [10, 20, 40, 60, 60, 60];
      expect(sleeps).toHaveLength(6);
      sleeps.forEach((ms, n) => expect(ms).toBeCloseTo(caps[n]! / 2 + (caps[n]! / 2) * randoms[n]!, 6));
      for (const [n, ms] of sleeps.entries()) {
        expect(ms).toBeGreaterThanOrEqual(caps[n]! / 2);
        expect(ms).toBeLessThan(caps[n]!);
        expect(ms).toBeLessThanOrEqual(60);
      }
      expect(remote.calls).toHaveLength(7); // 6 failures, 1 success: the same batch each time
      for (const c of remote.calls) expect(ids(c)).toEqual(ids(events));
      expect(await serverIds(remote.store)).toEqual(ids(events));
      expect(await vault.outboxSize()).toBe(0);
      expect(rt.metrics().counters[METRICS.retried]).toBe(6);
      expect(rt.metrics().counters[METRICS.pushed]).toBe(3);
      expect(rt.status().lastError?.code).toBe(code);
      await expect.poll(() => rt.status()).toMatchObject({ online: true, pending: 0, deadLetters: 0 });
      expect(await rt.deadLetters()).toEqual([]);
    },
  );

  it("resets the backoff after a success", async () => {
    const { clock, sleeps } = fakeClock([0]);
    const remote = fakeRemote();
    let failures = 3;
    remote.commitImpl = async (events, o) => {
      if (failures-- > 0) throw new EventError(ErrorCode.unavailable, "down");
      return remote.store.commit(events, o);
    };
    const rt = runtime(remote, { clock, retry: { baseMs: 8, maxMs: 1000 } });
    await rt.commit("test.item", 1);
    await rt.flush();
    expect(sleeps).toEqual([4, 8, 16]);
    failures = 2;
    await rt.commit("test.item", 2);
    await rt.flush();
    expect(sleeps).toEqual([4, 8, 16, 4, 8]);
    expect(await remote.store.head()).toBe(2);
  });

  it("a lost ack (stored remotely, then deadline_exceeded) is retried and still stored once", async () => {
    const remote = fakeRemote();
    let lose = true;
    remote.commitImpl = async (events, o) => {
      const r = await remote.store.commit(events, o);
      if (lose) {
        lose = false;
        throw new EventError(ErrorCode.deadline_exceeded, "the answer got lost");
      }
      return r;
    };
    const vault = createMemoryVault();
    const events = [event(), event()];
    await preload(vault, events);
    const rt = runtime(remote, { vault });
    await rt.flush();
    expect(remote.calls).toHaveLength(2);
    expect(await serverIds(remote.store)).toEqual(ids(events));
    expect(await vault.remoteSeq(events[0]!.header.id)).toBe(1);
    expect(await vault.remoteSeq(events[1]!.header.id)).toBe(2);
  });

  it("keeps the remote from being called while no event waits", async () => {
    const remote = fakeRemote();
    const rt = runtime(remote, { idleMs: 5 });
    await new Promise((r) => setTimeout(r, 40));
    expect(remote.calls).toHaveLength(0);
    await rt.commit("test.item", 1);
    await rt.flush();
    await new Promise((r) => setTimeout(r, 40));
    expect(remote.calls).toHaveLength(1);
  });
});

describe("push: the loop survives anything thrown", () => {
  const hostile: [string, () => unknown][] = [
    ["a string", () => "just a string"],
    ["undefined", () => undefined],
    ["an object with a throwing getter", () => ({ get code(): never { throw new Error("getter exploded"); }, get name(): never { throw new Error("getter exploded"); } })],
    ["a non-cloneable object", () => ({ fn: () => 1, sym: Symbol("x"), self: globalThis })],
    ["an object without a prototype", () => Object.create(null)],
    ["a TypeError", () => new TypeError("x is not a function")],
    // EventError.from reads `name`/`code`; when that throws, report() throws inside the pusher's
    // catch blocks and the loop promise rejects: nothing is ever pushed again.
    [
      "an object whose getter rethrows the object itself",
      () => {
        const evil: { readonly code: never } = {
          get code(): never {
            throw evil;
          },
        };
        return evil;
      },
    ],
  ];

  it.each(hostile)("a remote that throws %s once: nothing is lost and later events are pushed", async (_name, make) => {
    const remote = fakeRemote();
    let throwOnce = true;
    remote.commitImpl = async (events, o) => {
      if (throwOnce) {
        throwOnce = false;
        throw make();
      }
      return remote.store.commit(events, o);
    };
    const rt = runtime(remote);
    const first = await rt.commit("test.item", { first: true });
    await flushWithin(rt, 1000);
    expect(remote.calls.length).toBeGreaterThanOrEqual(1);
    expect(rt.status().lastError).toMatchObject({ code: expect.any(String), message: expect.any(String), at: expect.any(Number) });
    // Either retried and pushed, or visible as a dead letter: never silently gone.
    const dead = await rt.deadLetters();
    const onServer = await serverIds(remote.store);
    expect([...dead.map((d) => d.event.header.id), ...onServer]).toEqual([first.header.id]);

    // The loop is alive: a later event is pushed.
    const second = await rt.commit("test.item", { second: true });
    await flushWithin(rt, 1000);
    expect(await serverIds(remote.store)).toContain(second.header.id);

    // And whatever was parked comes back.
    await rt.retryDeadLetters();
    await flushWithin(rt, 1000);
    expect((await serverIds(remote.store)).sort()).toEqual([first.header.id, second.header.id].sort());
    expect(await rt.deadLetters()).toEqual([]);
  });

  it("survives a vault whose outbox() fails once", async () => {
    const { clock, sleeps } = fakeClock([0]);
    const inner = createMemoryVault();
    let fail = true;
    const vault: LocalVault = {
      ...inner,
      async outbox(o) {
        if (fail) {
          fail = false;
          throw new Error("disk hiccup");
        }
        return inner.outbox(o);
      },
    };
    const events = [event(), event()];
    await preload(inner, events);
    const remote = fakeRemote();
    const rt = runtime(remote, { vault, clock, retry: { baseMs: 6, maxMs: 60 } });
    await rt.flush();
    expect(await serverIds(remote.store)).toEqual(ids(events));
    expect(sleeps[0]).toBe(3);
    expect(rt.status().lastError).toMatchObject({ code: ErrorCode.internal, message: "disk hiccup" });
    await expect.poll(() => rt.status().pending).toBe(0);
  });
});

describe("push: refusals and dead letters", () => {
  it.each([ErrorCode.invalid_argument, ErrorCode.failed_precondition])(
    "%s for one event of a batch of 10: the other 9 are pushed, it and its descendants are dead letters",
    async (code) => {
      const remote = fakeRemote();
      const vault = createMemoryVault();
      const batch = Array.from({ length: 10 }, () => event());
      const bad = batch[4]!;
      await preload(vault, batch);
      let refuse = true;
      const gate = deferred();
      remote.commitImpl = async (events, o) => {
        await abortable(gate.promise, o?.signal);
        if (refuse && events.some((e) => e.header.id === bad.header.id)) {
          throw new EventError(code, `event ${bad.header.id}: refused`, { details: { id: bad.header.id } });
        }
        return remote.store.commit(events, o);
      };
      const rt = runtime(remote, { vault, batch: { maxEvents: 10 } });
      await expect.poll(() => remote.calls.length).toBe(1); // the batch of 10 is on its way
      // Descendants of the refused event, committed later through the runtime, and an unrelated child.
      const child = await rt.commit("test.child", { of: 4 }, { parents: [bad.header] });
      const grandchild = await rt.commit("test.child", { of: "child" }, { parents: [child.header] });
      const greatGrandchild = await rt.commit("test.child", { of: "grandchild" }, { parents: [grandchild.header, batch[2]!.header] });
      const unrelated = await rt.commit("test.child", { of: 3 }, { parents: [batch[3]!.header] });
      gate.resolve();
      await rt.flush();

      expect(remote.calls[0]).toHaveLength(10);
      const others = batch.filter((e) => e !== bad);
      expect(await serverIds(remote.store)).toEqual([...ids(others), unrelated.header.id]);
      // The refused event was pinned down alone; its descendants were never sent at all.
      expect(remote.calls.some((c) => c.length === 1 && c[0]!.header.id === bad.header.id)).toBe(true);
      const descendants = [child, grandchild, greatGrandchild].map((e) => e.header.id);
      for (const c of remote.calls) for (const id of descendants) expect(ids(c)).not.toContain(id);

      const dead = await rt.deadLetters();
      expect(dead.map((d) => d.event.header.id)).toEqual([bad.header.id, ...descendants]);
      expect(dead[0]!.error).toEqual({ code, message: `event ${bad.header.id}: refused` });
      for (const d of dead.slice(1)) {
        expect(d.error.code).toBe(code);
        expect(d.error.message).toContain(bad.header.id);
      }
      await expect.poll(() => rt.status()).toMatchObject({ deadLetters: 4, pending: 0, online: true });
      expect(rt.metrics().counters[METRICS.rejected]).toBe(4);
      expect(rt.status().lastError?.code).toBe(code);
      expect(await vault.outboxSize()).toBe(0);

      // The app fixed the cause: retry them.
      refuse = false;
      await rt.retryDeadLetters();
      expect(rt.status().deadLetters).toBe(0);
      await rt.flush();
      const all = await serverIds(remote.store);
      expect(all).toHaveLength(14);
      expect(new Set(all).size).toBe(14);
      expect(all.slice(10)).toEqual([bad.header.id, ...descendants]);
      expect(await rt.deadLetters()).toEqual([]);
      expect(await vault.remoteSeq(greatGrandchild.header.id)).toBe(14);
      await expect.poll(() => rt.status()).toMatchObject({ deadLetters: 0, pending: 0 });
    },
  );

  it("retryDeadLetters(ids) puts back only the named ones", async () => {
    const remote = fakeRemote();
    remote.commitImpl = async () => {
      throw new EventError(ErrorCode.permission_denied, "no");
    };
    const rt = runtime(remote);
    const a = await rt.commit("test.a", 1);
    const b = await rt.commit("test.b", 2);
    await expect.poll(async () => (await rt.deadLetters()).length).toBe(2);
    remote.commitImpl = (events, o) => remote.store.commit(events, o);
    await rt.retryDeadLetters([b.header.id]);
    await rt.flush();
    expect(await serverIds(remote.store)).toEqual([b.header.id]);
    expect((await rt.deadLetters()).map((d) => d.event.header.id)).toEqual([a.header.id]);
    await expect.poll(() => rt.status().deadLetters).toBe(1);
  });

  it("a child committed after its parent was refused is refused by the server too, and both come back in order", async () => {
    const remote = fakeRemote();
    let refuse = true;
    remote.commitImpl = async (events, o) => {
      if (refuse && events.some((e) => e.header.kind === "test.bad")) throw new EventError(ErrorCode.invalid_argument, "bad");
      return remote.store.commit(events, o); // the real store refuses an unknown parent
    };
    const rt = runtime(remote);
    const bad = await rt.commit("test.bad", "bad");
    await expect.poll(async () => (await rt.deadLetters()).length).toBe(1);
    const child = await rt.commit("test.item", "child", { parents: [bad.header] });
    await expect.poll(async () => (await rt.deadLetters()).length).toBe(2);
    expect((await rt.deadLetters())[1]!.error.code).toBe(ErrorCode.failed_precondition);
    refuse = false;
    await rt.retryDeadLetters();
    await rt.flush();
    expect(await serverIds(remote.store)).toEqual([bad.header.id, child.header.id]);
  });
});

describe("push: acks and flush", () => {
  function connectRemote() {
    const store = createEventStore({ vault: createMemoryVault(), bus: createMemoryBus() });
    const transport = createRouterTransport(createEventStoreHandler({ store }).routes);
    return { store, remote: createRemoteStore({ transport }) };
  }

  it("records the server seq of every pushed event and empties the outbox (over Connect)", async () => {
    const { store, remote } = connectRemote();
    // Something else is on the server already, so local and remote seqs differ.
    await store.commit([event(), event()]);
    const vault = createMemoryVault();
    const rt = runtime(remote, { vault });
    const mine: StoredEvent[] = [];
    for (let i = 0; i < 5; i++) mine.push(await rt.commit("test.item", { i }));
    await rt.flush();
    expect(await vault.outboxSize()).toBe(0);
    const serverSeq = new Map<string, number>();
    for await (const e of store.read()) serverSeq.set(e.header.id, e.seq);
    for (const e of mine) {
      expect(await vault.remoteSeq(e.header.id)).toBe(serverSeq.get(e.header.id));
      expect(serverSeq.get(e.header.id)).toBeGreaterThan(2);
    }
    await expect.poll(() => rt.status().pending).toBe(0);
    expect(rt.status().online).toBe(true);
    expect(rt.status().lastPushAt).toEqual(expect.any(Number));
  });

  it("flush() resolves exactly when the outbox is empty", async () => {
    const remote = fakeRemote();
    const gate = deferred();
    remote.commitImpl = async (events, o) => {
      await abortable(gate.promise, o?.signal);
      return remote.store.commit(events, o);
    };
    const vault = createMemoryVault();
    const rt = runtime(remote, { vault });
    await rt.commit("test.item", 1);
    await rt.commit("test.item", 2);
    let sizeAtResolve = -1;
    const flushed = rt.flush().then(async () => (sizeAtResolve = await vault.outboxSize()));
    expect(await settled(flushed)).toBe(false);
    expect(rt.status().pending).toBe(2);
    gate.resolve();
    await flushed;
    expect(sizeAtResolve).toBe(0);
    expect(await remote.store.head()).toBe(2);
  });

  it("flush() rejects with canceled when its signal aborts, before or while waiting", async () => {
    const remote = fakeRemote();
    remote.commitImpl = (_events, o) => hang(o?.signal);
    const rt = runtime(remote);
    await rt.commit("test.item", 1);
    await expect(rt.flush({ signal: AbortSignal.abort() })).rejects.toMatchObject({ code: ErrorCode.canceled });
    const ac = new AbortController();
    const f = rt.flush({ signal: ac.signal });
    expect(await settled(f)).toBe(false);
    ac.abort();
    await expect(f).rejects.toMatchObject({ code: ErrorCode.canceled });
    expect(rt.status().pending).toBe(1);
  });

  it("flush() without a remote resolves when nothing waits (local commits never enter the outbox)", async () => {
    const vault = createMemoryVault();
    const rt = runtime(undefined, { vault });
    await rt.flush();
    await rt.commit("test.item", 1);
    await rt.flush();
    expect(await vault.outboxSize()).toBe(0);
    expect(rt.status().pending).toBe(0);
  });

  it("flush() without a remote fails with failed_precondition when the vault holds an outbox", async () => {
    const vault = createMemoryVault();
    await preload(vault, [event()]);
    const rt = runtime(undefined, { vault });
    await expect(rt.flush()).rejects.toMatchObject({ code: ErrorCode.failed_precondition });
  });

  it("pending in status() falls to 0 even when the pusher acks an event before commit() returns", async () => {
    // A vault whose commit resolves late (as IndexedDB's does, after its transaction completes):
    // the pusher sees the event in the outbox, pushes it and refreshes `pending` to 0 first; commit()
    // then adds 1 to that stale count. Nothing refreshes it afterwards while the outbox stays empty.
    const inner = createMemoryVault();
    let rt!: EventRuntime;
    const vault: LocalVault = {
      ...inner,
      async commit(events, o) {
        const r = await inner.commit(events, o);
        if (o?.outbox) {
          await expect.poll(() => rt.metrics().counters[METRICS.pushed] ?? 0).toBe(1);
          await new Promise((res) => setTimeout(res, 10));
        }
        return r;
      },
    };
    const remote = fakeRemote();
    rt = runtime(remote, { vault, idleMs: 5 });
    await rt.commit("test.item", 1);
    await rt.flush();
    expect(await vault.outboxSize()).toBe(0);
    await expect.poll(() => rt.status().pending, { timeout: 500 }).toBe(0);
  });
});

describe("push: back-pressure", () => {
  it('policy "reject": commit fails with resource_exhausted while the outbox is full, and works after it drains', async () => {
    const remote = fakeRemote();
    let down = true;
    remote.commitImpl = async (events, o) => {
      if (down) throw new EventError(ErrorCode.unavailable, "offline");
      return remote.store.commit(events, o);
    };
    const vault = createMemoryVault();
    const rt = runtime(remote, { vault, limits: { maxPending: 3, policy: "reject" } });
    for (let i = 0; i < 3; i++) await rt.commit("test.item", i);
    await expect(rt.commit("test.item", 3)).rejects.toMatchObject({ code: ErrorCode.resource_exhausted });
    expect(await vault.outboxSize()).toBe(3);
    expect(await vault.head()).toBe(3);
    down = false;
    await rt.flush();
    await expect.poll(() => rt.status().pending).toBe(0);
    await rt.commit("test.item", 4);
    await rt.flush();
    expect(await remote.store.head()).toBe(4);
  });

  it('policy "reject": concurrent commits cannot overfill the outbox', async () => {
    const remote = fakeRemote();
    remote.commitImpl = (_events, o) => hang(o?.signal);
    const vault = createMemoryVault();
    const rt = runtime(remote, { vault, limits: { maxPending: 3, policy: "reject" } });
    const results = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => rt.commit("test.item", i)));
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(3);
    expect(results.filter((r) => r.status === "rejected").map((r) => (r as PromiseRejectedResult).reason.code)).toEqual([
      ErrorCode.resource_exhausted,
      ErrorCode.resource_exhausted,
      ErrorCode.resource_exhausted,
    ]);
    expect(await vault.outboxSize()).toBe(3);
  });

  it('policy "block": commit waits until the outbox has room', async () => {
    const remote = fakeRemote();
    const gate = deferred();
    remote.commitImpl = async (events, o) => {
      await abortable(gate.promise, o?.signal);
      return remote.store.commit(events, o);
    };
    const vault = createMemoryVault();
    const rt = runtime(remote, { vault, limits: { maxPending: 2, policy: "block" } });
    await rt.commit("test.item", 0);
    await rt.commit("test.item", 1);
    const third = rt.commit("test.item", 2);
    expect(await settled(third)).toBe(false);
    expect(await vault.head()).toBe(2);
    gate.resolve();
    const stored = await third;
    expect(stored.seq).toBe(3);
    await rt.flush();
    expect(await remote.store.head()).toBe(3);
  });

  it('policy "block": concurrent commits cannot overfill the outbox', async () => {
    const remote = fakeRemote();
    remote.commitImpl = (_events, o) => hang(o?.signal);
    const vault = createMemoryVault();
    const rt = runtime(remote, { vault, limits: { maxPending: 3, policy: "block" } });
    const commits = Array.from({ length: 6 }, (_, i) => rt.commit("test.item", i));
    for (const c of commits) c.catch(() => {});
    await new Promise((r) => setTimeout(r, 30));
    expect(await vault.outboxSize()).toBeLessThanOrEqual(3);
  });

  it('policy "block": an aborted signal rejects the waiting commit with canceled and stores nothing', async () => {
    const remote = fakeRemote();
    remote.commitImpl = (_events, o) => hang(o?.signal);
    const vault = createMemoryVault();
    const rt = runtime(remote, { vault, limits: { maxPending: 1 } }); // block is the default
    await rt.commit("test.item", 0);
    const ac = new AbortController();
    const waiting = rt.commit("test.item", 1, { signal: ac.signal });
    expect(await settled(waiting)).toBe(false);
    ac.abort();
    await expect(waiting).rejects.toMatchObject({ code: ErrorCode.canceled });
    await expect(rt.commit("test.item", 2, { signal: AbortSignal.abort() })).rejects.toMatchObject({ code: ErrorCode.canceled });
    expect(await vault.head()).toBe(1);
  });

  it('policy "block": close() releases a waiting commit with failed_precondition', async () => {
    const remote = fakeRemote();
    remote.commitImpl = (_events, o) => hang(o?.signal);
    const vault = createMemoryVault();
    const rt = runtime(remote, { vault, limits: { maxPending: 1, policy: "block" } });
    await rt.commit("test.item", 0);
    const waiting = rt.commit("test.item", 1);
    expect(await settled(waiting)).toBe(false);
    await rt.close();
    await expect(waiting).rejects.toMatchObject({ code: ErrorCode.failed_precondition });
    expect(await vault.head()).toBe(1);
  });

  it("without a remote there is no outbox, so no limit applies", async () => {
    const rt = runtime(undefined, { limits: { maxPending: 1, policy: "reject" } });
    for (let i = 0; i < 5; i++) await rt.commit("test.item", i);
    expect(rt.status().pending).toBe(0);
  });
});
