// The runtime's life: commit and its codecs, close and restart on the same vault, dispose,
// leadership, and booting over a big outbox.
import { afterEach, describe, expect, it } from "vitest";
import { createMemoryBus, createMemoryVault } from "../adapters/memory/index.js";
import {
  type Codec,
  createEvent,
  ErrorCode,
  type Event,
  EventError,
  json,
  type LocalVault,
  type StoredEvent,
  text,
  type Vault,
} from "../core/index.js";
import { createEventRuntime, type Leadership } from "./index.js";
import { fakeRemote, hang, runtimes, sleep } from "../../test/support/runtime-doubles.js";

// ---------------------------------------------------------------------------------------------
// Test doubles

function fakeLeader(initial: boolean): Leadership & { set(v: boolean): void; listeners: number } {
  let leader = initial;
  const listeners = new Set<(v: boolean) => void>();
  return {
    isLeader: () => leader,
    onChange(l) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    set(v) {
      leader = v;
      for (const l of listeners) l(v);
    },
    get listeners() {
      return listeners.size;
    },
  };
}

const { runtime, closeAll } = runtimes();
afterEach(closeAll);

async function all(vault: Vault): Promise<StoredEvent[]> {
  const out: StoredEvent[] = [];
  for await (const e of vault.read()) out.push(e);
  return out;
}

// ---------------------------------------------------------------------------------------------

describe("commit", () => {
  it("encodes values as JSON by default, takes a Uint8Array as raw bytes, and uses a given codec", async () => {
    const vault = createMemoryVault();
    const rt = runtime(fakeRemote(), { vault });
    const a = await rt.commit("test.json", { hello: "world", n: [1, 2] });
    expect(json.decode(a.payload)).toEqual({ hello: "world", n: [1, 2] });
    expect(new TextDecoder().decode(a.payload)).toBe('{"hello":"world","n":[1,2]}');
    const raw = new Uint8Array([0, 1, 2, 255]);
    const b = await rt.commit("test.raw", raw);
    expect(b.payload).toEqual(raw);
    const c = await rt.commit("test.text", "plain", { codec: text });
    expect(new TextDecoder().decode(c.payload)).toBe("plain");
    const upper: Codec<string> = { encode: (s) => text.encode(s.toUpperCase()), decode: (b) => text.decode(b) };
    const d = await rt.commit("test.custom", "shout", { codec: upper });
    expect(text.decode(d.payload)).toBe("SHOUT");
    // A string without a codec is JSON too.
    const e = await rt.commit("test.json", "quoted");
    expect(text.decode(e.payload)).toBe('"quoted"');

    const stored = await all(vault);
    expect(stored.map((s) => s.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(stored.map((s) => s.payload)).toEqual([a.payload, raw, c.payload, d.payload, e.payload]);
    expect([a, b, c, d, e].map((s) => s.seq)).toEqual([1, 2, 3, 4, 5]);
  });

  it("passes parents and intent into the event", async () => {
    const rt = runtime(undefined);
    const parent = await rt.commit("test.a", 1);
    const intent = "0190a5f2-6b1e-7c3d-8e4f-a0b1c2d3e4f5";
    const child = await rt.commit("test.b", 2, { parents: [parent.header], intent });
    expect(child.header.parents).toEqual([{ id: parent.header.id, digest: parent.header.digest }]);
    expect(child.header.intent).toBe(intent);
  });

  it.each([
    ["an invalid kind", "Not A Kind", 1],
    ["an empty kind", "", 1],
    ["a value JSON cannot encode", "test.item", 10n],
    ["undefined", "test.item", undefined],
  ] as [string, string, unknown][])("%s fails with invalid_argument and stores nothing", async (_name, kind, value) => {
    const vault = createMemoryVault();
    const bus = createMemoryBus();
    const sub = bus.subscribe();
    const remote = fakeRemote();
    const rt = runtime(remote, { vault, bus });
    await expect(rt.commit(kind, value)).rejects.toMatchObject({ code: ErrorCode.invalid_argument });
    expect(await vault.head()).toBe(0);
    expect(await vault.outboxSize()).toBe(0);
    expect(rt.status().pending).toBe(0);
    expect(rt.metrics().counters["toka.runtime.events.committed"] ?? 0).toBe(0);
    await sleep(20);
    expect(remote.calls).toHaveLength(0);
    const next = await Promise.race([sub.next(), sleep(5).then(() => "nothing")]);
    expect(next).toBe("nothing");
    sub.close();
  });

  it("an unknown parent fails with failed_precondition and stores nothing", async () => {
    const vault = createMemoryVault();
    const rt = runtime(fakeRemote(), { vault });
    const stranger = createEvent({ kind: "test.x", payload: new Uint8Array() });
    await expect(rt.commit("test.y", 1, { parents: [stranger.header] })).rejects.toMatchObject({ code: ErrorCode.failed_precondition });
    expect(await vault.head()).toBe(0);
    expect(await vault.outboxSize()).toBe(0);
  });

  it("publishes each committed event on the bus and subscribe() replays history then goes live", async () => {
    const rt = runtime(undefined);
    const first = await rt.commit("chat.msg", 1);
    const sub = rt.subscribe({ kinds: ["chat.*"] });
    const got: string[] = [];
    const it = sub[Symbol.asyncIterator]();
    const m1 = await it.next();
    if (m1.value.type === "event") got.push(m1.value.event.header.id);
    expect((await it.next()).value.type).toBe("caught-up");
    await rt.commit("other.thing", 2);
    const third = await rt.commit("chat.msg", 3);
    const m3 = await it.next();
    if (m3.value.type === "event") got.push(m3.value.event.header.id);
    expect(got).toEqual([first.header.id, third.header.id]);
    sub.close();
  });

  it("subscribe() without a bus fails with failed_precondition", () => {
    const rt = runtime(undefined, { bus: undefined });
    expect(() => rt.subscribe()).toThrow(expect.objectContaining({ code: ErrorCode.failed_precondition }));
  });

  it.each([
    ["batch.maxEvents 0", { batch: { maxEvents: 0 } }],
    ["batch.maxBytes 1.5", { batch: { maxBytes: 1.5 } }],
    ["batch.maxInFlight 0", { batch: { maxInFlight: 0 } }],
    ["batch.delayMs -1", { batch: { delayMs: -1 } }],
    ["retry.baseMs NaN", { retry: { baseMs: Number.NaN } }],
    ["retry.maxMs as a string", { retry: { maxMs: "30s" } }],
    ["limits.maxPending 0", { limits: { maxPending: 0 } }],
    ["limits.policy drop", { limits: { policy: "drop" } }],
    ["pull.maxBatch -5", { pull: { maxBatch: -5 } }],
    ["idleMs Infinity", { idleMs: Infinity }],
  ] as [string, object][])("createEventRuntime with %s fails with invalid_argument naming it", (name, bad) => {
    expect(() => createEventRuntime({ vault: createMemoryVault(), ...bad })).toThrow(
      expect.objectContaining({ code: ErrorCode.invalid_argument, message: expect.stringContaining(name.split(" ")[0]!) }),
    );
  });

  it("createEventRuntime takes limits.maxPending Infinity and every option at its bound", async () => {
    const rt = createEventRuntime({
      vault: createMemoryVault(),
      batch: { maxEvents: 1, maxBytes: 1, maxInFlight: 1, delayMs: 0 },
      retry: { baseMs: 0, maxMs: 0 },
      limits: { maxPending: Infinity, policy: "reject" },
      pull: { maxBatch: 1 },
      idleMs: 0,
    });
    await rt.close();
  });

  it("createEventRuntime with a plain (non-Local) vault fails with invalid_argument", () => {
    const local = createMemoryVault();
    const plain: Vault = {
      commit: (e, o) => local.commit(e, o),
      header: (id, o) => local.header(id, o),
      payload: (d, o) => local.payload(d, o),
      read: (o) => local.read(o),
      head: (o) => local.head(o),
      close: () => local.close(),
    };
    expect(() => createEventRuntime({ vault: plain as LocalVault })).toThrow(
      expect.objectContaining({ name: "EventError", code: ErrorCode.invalid_argument }),
    );
    expect(() => createEventRuntime({ vault: undefined as unknown as LocalVault })).toThrow(
      expect.objectContaining({ code: ErrorCode.invalid_argument }),
    );
  });
});

describe("close", () => {
  it("stops both loops: no remote call after close() resolves; unpushed events stay and a new runtime pushes them", async () => {
    const remote = fakeRemote();
    let down = true;
    remote.commitImpl = async (events, o) => {
      if (down) return hang(o?.signal);
      return remote.store.commit(events, o);
    };
    const vault = createMemoryVault();
    const rt = runtime(remote, { vault, idleMs: 2 });
    const a = await rt.commit("test.item", 1);
    const b = await rt.commit("test.item", 2);
    await expect.poll(() => remote.calls.length).toBe(1);
    await expect.poll(() => remote.subs.length).toBe(1);
    await rt.close();
    const calls = remote.log.length;
    expect(remote.subs.every((s) => s.opts.signal?.aborted)).toBe(true);
    expect(rt.status()).toMatchObject({ closed: true, online: false });
    await sleep(40);
    expect(remote.log.length).toBe(calls);
    await expect(rt.commit("test.item", 3)).rejects.toMatchObject({ code: ErrorCode.failed_precondition });
    await expect(rt.flush()).rejects.toMatchObject({ code: ErrorCode.failed_precondition });
    expect(await vault.outboxSize()).toBe(2);
    expect(await remote.store.head()).toBe(0);

    down = false;
    const again = runtime(remote, { vault });
    await again.flush();
    const pushed = await all(remote.store);
    expect(pushed.map((e) => e.header.id)).toEqual([a.header.id, b.header.id]);
    expect(await vault.outboxSize()).toBe(0);
    await expect.poll(() => again.status().pending).toBe(0);
  });

  it("close() during backoff ends at once", async () => {
    const remote = fakeRemote();
    remote.commitImpl = async () => {
      throw new EventError(ErrorCode.unavailable, "down");
    };
    const rt = runtime(remote, { retry: { baseMs: 60_000, maxMs: 60_000 } });
    await rt.commit("test.item", 1);
    await expect.poll(() => remote.calls.length).toBe(1);
    const t0 = performance.now();
    await rt.close();
    expect(performance.now() - t0).toBeLessThan(500);
  });

  it("close() twice: the second call also waits until the runtime is closed", async () => {
    const remote = fakeRemote();
    const rt = runtime(remote);
    await expect.poll(() => remote.subs.length).toBe(1);
    const first = rt.close();
    await rt.close();
    expect(rt.status().closed).toBe(true);
    await first;
  });

  it("[Symbol.asyncDispose] closes the runtime", async () => {
    const remote = fakeRemote();
    const rt = runtime(remote);
    await expect.poll(() => remote.subs.length).toBe(1);
    await rt[Symbol.asyncDispose]();
    expect(rt.status().closed).toBe(true);
    expect(remote.subs[0]!.opts.signal?.aborted).toBe(true);
    const calls = remote.log.length;
    await sleep(30);
    expect(remote.log.length).toBe(calls);
  });

  it("close() leaves the vault open", async () => {
    const vault = createMemoryVault();
    const rt = runtime(undefined, { vault });
    await rt.commit("test.item", 1);
    await rt.close();
    expect(await vault.head()).toBe(1);
  });
});

describe("boot", () => {
  it("a vault whose outboxSize() fails once at boot does not break the runtime for good", async () => {
    const inner = createMemoryVault();
    let fail = true;
    const vault: LocalVault = {
      ...inner,
      async outboxSize(o) {
        if (fail) {
          fail = false;
          throw new EventError(ErrorCode.unavailable, "storage busy");
        }
        return inner.outboxSize(o);
      },
    };
    const remote = fakeRemote();
    const rt = runtime(remote, { vault });
    await expect(rt.commit("test.item", 1)).resolves.toMatchObject({ seq: 1 });
    await rt.flush();
    expect(await remote.store.head()).toBe(1);
  });

  it("over 20,000 pending events: the first commit resolves fast and pending counts them all", async () => {
    const vault = createMemoryVault();
    const payload = json.encode({ pending: true });
    for (let b = 0; b < 20; b++) {
      const batch: Event[] = [];
      for (let i = 0; i < 1000; i++) batch.push(createEvent({ kind: "test.pending", payload }));
      await vault.commit(batch, { outbox: true });
    }
    expect(await vault.outboxSize()).toBe(20_000);
    const remote = fakeRemote();
    remote.commitImpl = (_events, o) => hang(o?.signal); // offline: nothing drains meanwhile
    const t0 = performance.now();
    const rt = runtime(remote, { vault });
    await rt.commit("test.item", { first: true });
    await expect.poll(() => rt.status().pending, { interval: 1 }).toBe(20_001);
    const ms = performance.now() - t0;
    console.log(`boot over 20,000 pending events: first commit resolved and pending=20,001 after ${ms.toFixed(1)} ms`);
    expect(ms).toBeLessThan(1000);
    // The pusher took its first batches (4 in flight by default) from the head of the outbox.
    await expect.poll(() => remote.calls.length).toBe(4);
    expect(remote.calls.map((c) => c.length)).toEqual([500, 500, 500, 500]);
    const outbox = (await vault.outbox({ limit: 2000 })).map((e) => e.header.id);
    expect(remote.calls.flat().map((e) => e.header.id)).toEqual(outbox);
  });
});

describe("leadership", () => {
  it("a follower commits into the outbox but never calls the remote; as leader it pushes and pulls", async () => {
    const leader = fakeLeader(false);
    const remote = fakeRemote();
    const vault = createMemoryVault();
    const rt = runtime(remote, { vault, leader, idleMs: 2 });
    for (let i = 0; i < 3; i++) await rt.commit("test.item", i);
    expect(await vault.outboxSize()).toBe(3);
    expect(rt.status()).toMatchObject({ leader: false, pending: 3 });
    await sleep(40);
    expect(remote.log).toHaveLength(0);

    leader.set(true);
    expect(rt.status().leader).toBe(true);
    await rt.flush();
    expect(await remote.store.head()).toBe(3);
    await expect.poll(() => remote.subs.length).toBe(1);
    // And it pulls what others wrote.
    const other = createEvent({ kind: "test.other", payload: new Uint8Array([1]) });
    void remote.subs[0]!.queue.push({ type: "event", event: { ...other, seq: 4 } });
    await expect.poll(() => vault.cursor("remote")).toBe(4);
    expect(await vault.head()).toBe(4);
  });

  it("losing leadership aborts the pull subscription and stops pushing; regaining it resumes both", async () => {
    const leader = fakeLeader(true);
    const remote = fakeRemote();
    const vault = createMemoryVault();
    const rt = runtime(remote, { vault, leader, idleMs: 2 });
    await expect.poll(() => remote.subs.length).toBe(1);
    const sub = remote.subs[0]!;
    expect(sub.opts.signal?.aborted).toBe(false);
    leader.set(false);
    expect(sub.opts.signal?.aborted).toBe(true);
    expect(rt.status().leader).toBe(false);
    await rt.commit("test.item", 1);
    const calls = remote.log.length;
    await sleep(40);
    expect(remote.log.length).toBe(calls);
    expect(remote.subs).toHaveLength(1);
    expect(await vault.outboxSize()).toBe(1);

    leader.set(true);
    await expect.poll(() => remote.subs.length).toBe(2);
    expect(remote.subs[1]!.opts.signal?.aborted).toBe(false);
    await rt.flush();
    expect(await remote.store.head()).toBe(1);
  });

  it("close() unsubscribes from the leadership", async () => {
    const leader = fakeLeader(true);
    const rt = runtime(fakeRemote(), { leader });
    expect(leader.listeners).toBe(1);
    await rt.close();
    expect(leader.listeners).toBe(0);
    leader.set(false); // no effect on a closed runtime
    expect(rt.status().closed).toBe(true);
  });
});
