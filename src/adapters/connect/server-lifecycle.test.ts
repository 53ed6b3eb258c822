// The server over real wires, over time: streams that end however the client leaves, limits on
// open streams, slow subscribers, heartbeats, batching, auth, and the fetch handler with CORS.
import * as http from "node:http";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { type Client, createClient, type Interceptor, type Transport } from "@connectrpc/connect";
import {
  createConnectTransport as nodeConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport as nodeGrpcWebTransport,
  Http2SessionManager,
} from "@connectrpc/connect-node";
import {
  createConnectTransport as webConnectTransport,
  createGrpcWebTransport as webGrpcWebTransport,
} from "@connectrpc/connect-web";
import { afterEach, describe, expect, it } from "vitest";
import {
  type BusMessage,
  createEventStore,
  ErrorCode,
  type Event,
  EventError,
  type EventStore,
  isRetryable,
  type Subscription,
  type Vault,
} from "../../core/index.js";
import { collect, makeEvent, makeEvents } from "../_contract/index.js";
import { createMemoryBus, createMemoryVault, type MemoryBus } from "../memory/index.js";
import { createRemoteStore, createWebTransport } from "./client/index.js";
import { eventToProto } from "./convert.js";
import {
  CommitRequestSchema,
  CommitResponseSchema,
  EventStoreService,
  type SubscribeResponse,
} from "./gen/toka/events/v1/event_store_pb.js";
import { type NodeServer, startNodeServer } from "./node/index.js";
import { createEventStoreHandler, type EventStoreHandler, type EventStoreHandlerOptions, type Principal } from "./server/index.js";

type Wire = "connect-http1" | "grpc-web-http1" | "grpc-h2c";
const WIRES: Wire[] = ["connect-http1", "grpc-web-http1", "grpc-h2c"];
const SERVICE = "/toka.events.v1.EventStoreService/";
/** How long a test waits for something that should happen before it fails. */
const GUARD_MS = 8000;

// ---------------------------------------------------------------------------------------------
// A server over a store we built ourselves, so the bus and the vault can be watched.

interface Rig {
  store: EventStore;
  bus: MemoryBus;
  handler: EventStoreHandler;
  server: NodeServer;
  url: string;
  /** Calls of the vault's read(): the first history read of each subscription, then re-reads. */
  reads: { count: number };
  /** A remote store over `wire`, closed with the rig. */
  remote(wire: Wire, opts?: ClientOptions): EventStore;
  /** The generated client over `wire`, to see raw Subscribe messages. */
  raw(wire: Wire, opts?: ClientOptions): Client<typeof EventStoreService>;
}

interface ClientOptions {
  /** Sent as `authorization: Bearer <token>`. */
  token?: string;
  /** HTTP/1.1 wires: connect-node transports on this agent (its sockets can be killed). */
  agent?: http.Agent;
  /** grpc-h2c: the session manager (its session can be destroyed). */
  sessionManager?: Http2SessionManager;
}

const cleanups: (() => unknown)[] = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function startRig(opts: Omit<EventStoreHandlerOptions, "store"> = {}): Promise<Rig> {
  const vault = createMemoryVault();
  const bus = createMemoryBus();
  const reads = { count: 0 };
  const watched: Vault = {
    ...vault,
    read: (o) => {
      reads.count++;
      return vault.read(o);
    },
  };
  const store = createEventStore({ vault: watched, bus });
  const handler = createEventStoreHandler({ ...opts, store });
  const server = await startNodeServer({ handler, port: 0 });
  const remotes: EventStore[] = [];
  const rig: Rig = {
    store,
    bus,
    handler,
    server,
    url: server.url,
    reads,
    remote(wire, o) {
      const r = createRemoteStore({ transport: transportFor(wire, server.url, o) });
      remotes.push(r);
      return r;
    },
    raw: (wire, o) => createClient(EventStoreService, transportFor(wire, server.url, o)),
  };
  cleanups.push(async () => {
    await Promise.all(remotes.map((r) => r.close()));
    await server.close();
    await store.close();
  });
  return rig;
}

function transportFor(wire: Wire, baseUrl: string, o: ClientOptions = {}): Transport {
  const interceptors: Interceptor[] = o.token
    ? [
        (next) => (req) => {
          req.header.set("authorization", `Bearer ${o.token}`);
          return next(req);
        },
      ]
    : [];
  if (wire === "grpc-h2c") return createGrpcTransport({ baseUrl, interceptors, sessionManager: o.sessionManager });
  if (o.agent) {
    const common = { baseUrl, httpVersion: "1.1" as const, interceptors, nodeOptions: { agent: o.agent } };
    return wire === "connect-http1" ? nodeConnectTransport(common) : nodeGrpcWebTransport(common);
  }
  if (interceptors.length === 0) return createWebTransport({ baseUrl, protocol: wire === "connect-http1" ? "connect" : "grpc-web" });
  return wire === "connect-http1"
    ? webConnectTransport({ baseUrl, interceptors, useBinaryFormat: true })
    : webGrpcWebTransport({ baseUrl, interceptors, useBinaryFormat: true });
}

// ---------------------------------------------------------------------------------------------
// Waiting without sleeping where something can be awaited.

/** Polls `pred` (for state that has no event, like counters) until it holds; fails naming `what`. */
async function eventually(what: string, pred: () => boolean | Promise<boolean>, ms = GUARD_MS): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await pred()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function within<T>(p: Promise<T>, what: string, ms = GUARD_MS): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** Raw Subscribe responses consumed in the background. */
function collectRaw(stream: AsyncIterable<SubscribeResponse>) {
  const messages: SubscribeResponse[] = [];
  const at: number[] = [];
  const wakers = new Set<() => void>();
  const state = { done: false, error: undefined as unknown };
  void (async () => {
    try {
      for await (const m of stream) {
        messages.push(m);
        at.push(performance.now());
        for (const w of wakers) w();
      }
    } catch (err) {
      state.error = err;
    } finally {
      state.done = true;
      for (const w of wakers) w();
    }
  })();
  return {
    messages,
    /** performance.now() when each message arrived. */
    at,
    state,
    until(what: string, pred: () => boolean, ms = GUARD_MS): Promise<void> {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!pred()) return;
          done();
          resolve();
        };
        const timer = setTimeout(() => {
          done();
          const cases = messages.map((m) => m.message.case).join(" ");
          reject(new Error(`timed out after ${ms} ms waiting for ${what}; got [${cases}], error=${String(state.error)}`));
        }, ms);
        const done = () => {
          clearTimeout(timer);
          wakers.delete(check);
        };
        wakers.add(check);
        check();
      });
    },
  };
}

/** Commits `n` small events straight into the store in batches; returns them. */
async function fill(store: EventStore, n: number, kind = "test.event"): Promise<Event[]> {
  const events = makeEvents(n, kind);
  for (let i = 0; i < n; i += 1000) await store.commit(events.slice(i, i + 1000));
  return events;
}

function codeOf(err: unknown): string | undefined {
  return err instanceof EventError ? err.code : undefined;
}

async function expectCode(p: Promise<unknown>, code: ErrorCode, ...mentions: string[]): Promise<EventError> {
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  expect(codeOf(err), String(err)).toBe(code);
  for (const m of mentions) expect((err as Error).message).toContain(m);
  return err as EventError;
}

const isCaughtUp = (m: BusMessage) => m.type === "caught-up";

async function expectNoStreamsLeft(rig: Rig): Promise<void> {
  await eventually(
    "the server to drop every stream",
    () => rig.handler.subscriptions === 0 && rig.bus.subscriberCount === 0,
  ).catch((err: Error) => {
    throw new Error(`${err.message}: handler.subscriptions=${rig.handler.subscriptions}, bus.subscriberCount=${rig.bus.subscriberCount}`);
  });
}

/** The server still serves over `wire`: a new client commits at the next seq and a subscription catches up. */
async function expectStillServing(rig: Rig, wire: Wire): Promise<void> {
  const remote = rig.remote(wire);
  const head = await rig.store.head();
  const e = makeEvent();
  expect(await remote.commit([e])).toEqual([{ id: e.header.id, seq: head + 1, status: "stored" }]);
  const c = collect(remote.subscribe({ after: head }));
  await c.until("a fresh subscription to catch up", (x) => x.messages.some(isCaughtUp));
  expect(c.seqs()).toEqual([head + 1]);
  await remote.close();
  await expectNoStreamsLeft(rig);
}

// ---------------------------------------------------------------------------------------------

describe.each(WIRES)("(a) no leaked streams over %s", (wire) => {
  const N = 4;

  /** Opens N subscriptions and waits until the server holds them all, live. */
  async function openAll(rig: Rig, open: (i: number) => Subscription) {
    const subs = Array.from({ length: N }, (_, i) => open(i));
    const cs = subs.map((s) => collect(s));
    await Promise.all(cs.map((c) => c.until("caught-up", (x) => x.messages.some(isCaughtUp))));
    expect(rig.handler.subscriptions).toBe(N);
    expect(rig.bus.subscriberCount).toBe(N);
    // Live traffic reaches all of them, so every stream is fully set up on both ends.
    await fill(rig.store, 1);
    await Promise.all(cs.map((c) => c.until("a live event", (x) => x.seqs().includes(1))));
    return { subs, cs };
  }

  it("the client aborts each subscription's signal", async () => {
    const rig = await startRig();
    const remote = rig.remote(wire);
    const acs = Array.from({ length: N }, () => new AbortController());
    const { cs } = await openAll(rig, (i) => remote.subscribe({ signal: acs[i]!.signal }));
    for (const ac of acs) ac.abort();
    await Promise.all(cs.map((c) => c.until("the subscription to end", (x) => x.done)));
    await expectNoStreamsLeft(rig);
    await expectStillServing(rig, wire);
  });

  it("the consumer breaks out of for-await", async () => {
    const rig = await startRig();
    const remote = rig.remote(wire);
    const live: Promise<void>[] = [];
    const loops = Array.from({ length: N }, () => {
      let ready!: () => void;
      live.push(new Promise<void>((r) => (ready = r)));
      return (async () => {
        for await (const m of remote.subscribe()) {
          if (m.type === "caught-up") ready();
          if (m.type === "event" && m.event.header.kind === "test.stop") break;
        }
      })();
    });
    await within(Promise.all(live), "every subscription to catch up");
    await eventually("the server to hold every stream", () => rig.handler.subscriptions === N);
    expect(rig.bus.subscriberCount).toBe(N);
    await rig.store.commit([makeEvent({ kind: "test.stop" })]);
    await within(Promise.all(loops), "every loop to break");
    await expectNoStreamsLeft(rig);
    await expectStillServing(rig, wire);
  });

  it("the client closes the remote store", async () => {
    const rig = await startRig();
    const remote = rig.remote(wire);
    const { cs } = await openAll(rig, () => remote.subscribe());
    await remote.close();
    await Promise.all(cs.map((c) => c.until("the subscription to end", (x) => x.done)));
    await expectNoStreamsLeft(rig);
    await expectStillServing(rig, wire);
  });

  it("the client's connection dies (HTTP/2 session destroyed / sockets killed)", async () => {
    const rig = await startRig();
    const agent = new http.Agent({ keepAlive: true });
    const sessionManager = new Http2SessionManager(rig.url);
    cleanups.push(() => agent.destroy());
    const remote = rig.remote(wire, wire === "grpc-h2c" ? { sessionManager } : { agent });
    const { cs } = await openAll(rig, () => remote.subscribe());
    if (wire === "grpc-h2c") {
      sessionManager.abort(new Error("gone"));
    } else {
      const sockets = Object.values(agent.sockets).flat();
      expect(sockets.length).toBe(N); // one HTTP/1.1 connection per stream
      for (const s of sockets) s?.destroy();
    }
    await Promise.all(cs.map((c) => c.until("the subscription to fail", (x) => x.done)));
    for (const c of cs) expect(c.error, "the subscription ended without an error").toBeInstanceOf(EventError);
    await expectNoStreamsLeft(rig);
    await expectStillServing(rig, wire);
  });

  it("the server shuts down with streams open", async () => {
    const rig = await startRig();
    const remote = rig.remote(wire);
    const { cs } = await openAll(rig, () => remote.subscribe());
    await within(rig.server.close(), "the server to close with streams open");
    await Promise.all(cs.map((c) => c.until("the subscription to fail", (x) => x.done)));
    for (const c of cs) expect(c.error, "the subscription ended without an error").toBeInstanceOf(EventError);
    await expectNoStreamsLeft(rig);
  });

  // createRemoteStore: a subscription "ends with an error when the connection fails
  // (`unavailable`); resubscribe after the last seq received". A server restart must read as
  // retryable, or a sync loop that resubscribes on retryable errors stops for good.
  it("a server shutdown ends client subscriptions with unavailable (retryable)", async () => {
    const rig = await startRig();
    const remote = rig.remote(wire);
    const { cs } = await openAll(rig, () => remote.subscribe());
    await within(rig.server.close(), "the server to close with streams open");
    await Promise.all(cs.map((c) => c.until("the subscription to fail", (x) => x.done)));
    for (const c of cs) {
      expect(codeOf(c.error), String(c.error)).toBe(ErrorCode.unavailable);
      expect(isRetryable(c.error)).toBe(true);
    }
  });

  it("a client that stopped reading (server blocked on flow control) goes away", async () => {
    const rig = await startRig({ limits: { subscriberBuffer: 8 } });
    const agent = new http.Agent({ keepAlive: true });
    const sessionManager = new Http2SessionManager(rig.url);
    cleanups.push(() => agent.destroy());
    const remote = rig.remote(wire, wire === "grpc-h2c" ? { sessionManager } : { agent });
    const ac = new AbortController();
    const paused = remote.subscribe({ bufferSize: 1, signal: ac.signal });
    const killed = remote.subscribe({ bufferSize: 1 });
    await eventually("the server to hold both streams", () => rig.handler.subscriptions === 2 && rig.bus.subscriberCount === 2);
    // Far more than socket and stream buffers hold, so the server's writes block.
    const payload = new Uint8Array(16 * 1024);
    for (let i = 0; i < 40; i++) {
      await rig.store.commit(Array.from({ length: 25 }, () => makeEvent({ payload: payload.map(() => i) })));
    }
    // The server dropped from its buffers and will re-read: it has noticed the stall.
    await eventually("the server to fall behind", () => rig.reads.count > 2);
    ac.abort();
    if (wire === "grpc-h2c") sessionManager.abort(new Error("gone"));
    else for (const s of Object.values(agent.sockets).flat()) s?.destroy();
    await expect(paused.next()).resolves.toEqual({ done: true, value: undefined });
    await expectNoStreamsLeft(rig);
    killed.close();
    await expectStillServing(rig, wire);
  });
});

describe.each(WIRES)("(b) maxSubscriptions over %s", (wire) => {
  it("the (max+1)-th Subscribe gets resource_exhausted; after one closes a new one is accepted", async () => {
    const max = 3;
    const rig = await startRig({ limits: { maxSubscriptions: max } });
    const remote = rig.remote(wire);
    const subs = Array.from({ length: max }, () => remote.subscribe());
    const cs = subs.map((s) => collect(s));
    await Promise.all(cs.map((c) => c.until("caught-up", (x) => x.messages.some(isCaughtUp))));
    expect(rig.handler.subscriptions).toBe(max);

    const over = collect(remote.subscribe());
    await over.until("the extra subscription to fail", (x) => x.done);
    expect(codeOf(over.error), String(over.error)).toBe(ErrorCode.resource_exhausted);
    expect((over.error as Error).message).toContain(`maxSubscriptions ${max}`);
    expect(over.messages).toEqual([]);
    expect(rig.handler.subscriptions).toBe(max);
    expect(rig.bus.subscriberCount).toBe(max);

    subs[0]!.close();
    await eventually("the closed stream to be released", () => rig.handler.subscriptions === max - 1);
    const again = collect(remote.subscribe());
    await again.until("a new subscription to be accepted", (x) => x.messages.some(isCaughtUp));
    expect(again.error).toBeUndefined();
    expect(rig.handler.subscriptions).toBe(max);
    // The accepted ones are all live.
    await fill(rig.store, 1);
    for (const c of [...cs.slice(1), again]) await c.until("a live event", (x) => x.seqs().length === 1);
  });

  it("with auth the limit is per principal", async () => {
    const rig = await startRig({
      limits: { maxSubscriptions: 1 },
      auth: (h) => ({ id: h.get("authorization")?.replace("Bearer ", "") ?? "nobody" }),
    });
    const alice = rig.remote(wire, { token: "alice" });
    const bob = rig.remote(wire, { token: "bob" });
    const a1 = collect(alice.subscribe());
    await a1.until("caught-up", (x) => x.messages.some(isCaughtUp));
    const a2 = collect(alice.subscribe());
    await a2.until("alice's second stream to fail", (x) => x.done);
    expect(codeOf(a2.error)).toBe(ErrorCode.resource_exhausted);
    expect((a2.error as Error).message).toContain("alice");
    const b1 = collect(bob.subscribe());
    await b1.until("bob's stream", (x) => x.messages.some(isCaughtUp));
    expect(rig.handler.subscriptions).toBe(2);
  });
});

describe.each(["grpc-h2c", "connect-http1"] as Wire[])("(c) a slow subscriber over %s", (wire) => {
  it("does not stall Commit or another subscriber, and later gets every event once, in order", async () => {
    const rig = await startRig({ limits: { subscriberBuffer: 16 } });
    const writer = rig.remote(wire);
    const paused = rig.remote(wire).subscribe({ bufferSize: 4 }); // not read until the end
    const fast = collect(rig.remote(wire).subscribe());
    await fast.until("caught-up", (x) => x.messages.some(isCaughtUp));
    await eventually("the server to hold both streams live", () => rig.bus.subscriberCount === 2);
    const readsBefore = rig.reads.count;

    // 3,000 events of 4 KiB: 12 MiB, far more than the paused stream's buffers and windows.
    const N = 3000;
    const payload = new Uint8Array(4096);
    const committed: string[] = [];
    const t0 = performance.now();
    for (let i = 0; i < N; i += 500) {
      const batch = Array.from({ length: 500 }, (_, k) => makeEvent({ payload: payload.map(() => (i + k) & 0xff) }));
      const results = await within(writer.commit(batch), "a commit while a subscriber is paused");
      expect(results.map((r) => r.seq)).toEqual(batch.map((_, k) => i + k + 1));
      committed.push(...batch.map((e) => e.header.id));
    }
    await fast.until(`the reading subscriber to get all ${N} events`, (x) => x.seqs().length === N, 15_000);
    const elapsed = performance.now() - t0;
    expect(fast.seqs()).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    expect(elapsed).toBeLessThan(10_000);
    // The paused stream overflowed the server's buffer, so the server re-read from the store.
    expect(rig.reads.count, "no re-read: the paused stream never overflowed").toBeGreaterThan(readsBefore);

    const slow = collect(paused);
    await slow.until(`the paused subscriber to get all ${N} events`, (x) => x.seqs().length === N, 15_000);
    expect(slow.messages[0]).toEqual({ type: "caught-up", seq: 0 });
    expect(slow.messages.filter(isCaughtUp)).toHaveLength(1);
    expect(slow.seqs()).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    const ids = slow.messages.flatMap((m) => (m.type === "event" ? [m.event.header.id] : []));
    expect(ids).toEqual(committed);
    expect(slow.error).toBeUndefined();
    paused.close();
  }, 30_000);
});

describe.each(WIRES)("(d) heartbeats over %s", (wire) => {
  it("arrive on an idle stream and carry the head", async () => {
    const rig = await startRig({ limits: { heartbeatMs: 40 } });
    await fill(rig.store, 3);
    const ac = new AbortController();
    cleanups.push(() => ac.abort());
    const t0 = performance.now();
    const c = collectRaw(rig.raw(wire).subscribe({ after: 3n }, { signal: ac.signal }));
    const heartbeats = () => c.messages.filter((m) => m.message.case === "heartbeat");
    await c.until("3 heartbeats", () => heartbeats().length >= 3);
    expect(c.messages[0]!.message).toEqual({ case: "caughtUp", value: expect.objectContaining({ seq: 3n }) });
    for (const h of heartbeats()) expect(h.message.value).toEqual(expect.objectContaining({ head: 3n }));
    // Sent after idle time, not in a burst: the third cannot come before three idle periods.
    const third = c.at[c.messages.indexOf(heartbeats()[2]!)]!;
    expect(third - t0).toBeGreaterThanOrEqual(3 * 40 - 5);

    // An event interrupts the idle time; heartbeats after it carry the new head.
    await rig.store.commit(makeEvents(1));
    await c.until("the live event", () => c.messages.some((m) => m.message.case === "events"));
    const after = c.messages.findIndex((m) => m.message.case === "events");
    await c.until("a heartbeat after the event", () => c.messages.slice(after).some((m) => m.message.case === "heartbeat"));
    const hb = c.messages.slice(after).find((m) => m.message.case === "heartbeat")!;
    expect(hb.message.value).toEqual(expect.objectContaining({ head: 4n }));
    ac.abort();
    await expectNoStreamsLeft(rig);
  });
});

describe.each(WIRES)("(e) Subscribe batching over %s", (wire) => {
  it("a backlog arrives in far fewer messages than events; a live event on an idle stream alone and promptly", async () => {
    const rig = await startRig();
    const N = 5000;
    await fill(rig.store, N);
    const ac = new AbortController();
    cleanups.push(() => ac.abort());
    // Node's built-in fetch (undici 6) can re-send an aborted streaming request on a fresh
    // connection that it then keeps idle, leaving the server a stream nobody reads until that
    // connection closes; node:http closes the aborted request's socket and nothing else.
    const agent = new http.Agent({ keepAlive: true });
    cleanups.push(() => agent.destroy());
    const raw = rig.raw(wire, wire === "grpc-h2c" ? {} : { agent });
    const c = collectRaw(raw.subscribe({ after: 0n, includePayloads: true }, { signal: ac.signal }));
    await c.until("caught-up", () => c.messages.some((m) => m.message.case === "caughtUp"));
    const history = c.messages.slice(0, -1);
    expect(c.messages.at(-1)!.message).toEqual({ case: "caughtUp", value: expect.objectContaining({ seq: BigInt(N) }) });
    const batches = history.map((m) => (m.message.case === "events" ? m.message.value.events : []));
    expect(history.every((m) => m.message.case === "events")).toBe(true);
    expect(batches.flat().map((e) => Number(e.seq))).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    for (const b of batches) expect(b.length).toBeLessThanOrEqual(256); // maxStreamEvents
    expect(history.length, `history came in ${history.length} messages`).toBeLessThanOrEqual(N / 100);

    // Idle now. One live event goes out on its own, at once.
    const before = c.messages.length;
    const t0 = performance.now();
    await rig.store.commit(makeEvents(1));
    await c.until("the live event", () => c.messages.length > before);
    expect(performance.now() - t0).toBeLessThan(1000);
    const live = c.messages[before]!.message;
    expect(live.case).toBe("events");
    expect(live.case === "events" && live.value.events.map((e) => Number(e.seq))).toEqual([N + 1]);
    ac.abort();
    await expectNoStreamsLeft(rig);
  });
});

describe.each(WIRES)("(f) auth over %s", (wire) => {
  const principals: Record<string, Principal> = {
    admin: { id: "admin" },
    chatter: { id: "chatter", commit: ["chat.*"], read: ["chat.*"] },
  };
  const auth = (headers: Headers): Principal => {
    const m = /^Bearer (\S+)$/.exec(headers.get("authorization") ?? "");
    if (!m) throw new EventError(ErrorCode.unauthenticated, "a bearer token is required");
    const p = principals[m[1]!];
    if (!p) throw new EventError(ErrorCode.unauthenticated, "unknown token");
    return p;
  };

  async function seeded() {
    const rig = await startRig({ auth });
    const admin = rig.remote(wire, { token: "admin" });
    const chat = makeEvents(3, "chat.msg");
    const other = makeEvents(2, "test.event");
    await admin.commit([chat[0]!, other[0]!, chat[1]!, other[1]!, chat[2]!]);
    return { rig, chat, other };
  }

  it("a missing or unknown token is unauthenticated for every method, and nothing is stored", async () => {
    const { rig } = await seeded();
    for (const remote of [rig.remote(wire), rig.remote(wire, { token: "nope" })]) {
      const e = makeEvent();
      await expectCode(remote.commit([e]), ErrorCode.unauthenticated);
      await expectCode(remote.head(), ErrorCode.unauthenticated);
      await expectCode(remote.header(e.header.id), ErrorCode.unauthenticated);
      await expectCode(remote.payload(e.header.digest), ErrorCode.unauthenticated);
      await expectCode((async () => { for await (const _ of remote.read()) void _; })(), ErrorCode.unauthenticated);
      const sub = collect(remote.subscribe());
      await sub.until("the subscription to fail", (x) => x.done);
      expect(codeOf(sub.error), String(sub.error)).toBe(ErrorCode.unauthenticated);
      expect(sub.messages).toEqual([]);
      expect(await rig.store.header(e.header.id)).toBeUndefined();
    }
    expect(await rig.store.head()).toBe(5);
    expect(rig.handler.subscriptions).toBe(0);
  });

  it("commit patterns: other kinds are permission_denied naming the event, and the batch stores nothing", async () => {
    const { rig } = await seeded();
    const chatter = rig.remote(wire, { token: "chatter" });
    const ok = makeEvent({ kind: "chat.room.open" });
    const bad = makeEvent({ kind: "test.event" });
    await expectCode(chatter.commit([ok, bad]), ErrorCode.permission_denied, bad.header.id, "test.event");
    await expectCode(chatter.commit([makeEvent({ kind: "chat" })]), ErrorCode.permission_denied);
    expect(await rig.store.head()).toBe(5);
    expect(await rig.store.header(ok.header.id)).toBeUndefined();
    expect(await chatter.commit([ok])).toEqual([{ id: ok.header.id, seq: 6, status: "stored" }]);
  });

  it("read patterns apply to Read, Subscribe, GetHeader and GetPayload", async () => {
    const { rig, chat, other } = await seeded();
    const chatter = rig.remote(wire, { token: "chatter" });
    const read = async (kinds?: string[]) => {
      const out: number[] = [];
      for await (const e of chatter.read(kinds ? { kinds } : {})) out.push(e.seq);
      return out;
    };
    expect(await read()).toEqual([1, 3, 5]);
    expect(await read(["chat.*"])).toEqual([1, 3, 5]);
    expect(await read(["chat.msg"])).toEqual([1, 3, 5]);
    await expectCode(read(["test.event"]), ErrorCode.permission_denied, "chatter");
    await expectCode(read(["*"]), ErrorCode.permission_denied);
    await expectCode(read(["chat.msg", "test.event"]), ErrorCode.permission_denied);

    const all = collect(chatter.subscribe());
    await all.until("caught-up", (x) => x.messages.some(isCaughtUp));
    expect(all.seqs()).toEqual([1, 3, 5]);
    await rig.remote(wire, { token: "admin" }).commit([makeEvent({ kind: "test.event" }), makeEvent({ kind: "chat.msg" })]);
    await all.until("the live chat event", (x) => x.seqs().length === 4);
    expect(all.seqs()).toEqual([1, 3, 5, 7]);
    for (const kinds of [["test.*"], ["*"], ["chat.msg", "test.event"]]) {
      const denied = collect(chatter.subscribe({ kinds }));
      await denied.until("the subscription to fail", (x) => x.done);
      expect(codeOf(denied.error), `${JSON.stringify(kinds)}: ${String(denied.error)}`).toBe(ErrorCode.permission_denied);
      expect(denied.messages).toEqual([]);
    }

    expect((await chatter.header(chat[0]!.header.id))?.id).toBe(chat[0]!.header.id);
    expect(await chatter.header(other[0]!.header.id)).toBeUndefined();
    await expectCode(chatter.payload(chat[0]!.header.digest), ErrorCode.permission_denied);
  });
});

describe("(f) auth hook failures", () => {
  // docs/protocol.md: internal failures reach clients as "internal error", without server detail.
  it("an auth hook that crashes is unavailable (retryable), reported to onError, and leaks nothing", async () => {
    const secret = "connect ECONNREFUSED 10.0.0.7:5432 (users db)";
    const seen: unknown[] = [];
    const rig = await startRig({
      auth: () => {
        throw new Error(secret);
      },
      onError: (e) => seen.push(e),
    });
    const err = await expectCode(rig.remote("connect-http1", { token: "any" }).head(), ErrorCode.unavailable);
    expect(err.message).not.toContain("10.0.0.7");
    expect(String(seen[0])).toContain(secret);
  });
});

describe("(g) the fetch handler", () => {
  const base = "http://store.example";
  const connectHeaders = { "content-type": "application/proto", "connect-protocol-version": "1" };

  function setup(opts: Omit<EventStoreHandlerOptions, "store"> = {}) {
    const bus = createMemoryBus();
    const store = createEventStore({ vault: createMemoryVault(), bus });
    return { store, bus, handler: createEventStoreHandler({ ...opts, store }) };
  }

  function commitRequest(events: Event[], headers: Record<string, string> = {}) {
    const body = toBinary(CommitRequestSchema, create(CommitRequestSchema, { events: events.map(eventToProto) }));
    return new Request(base + SERVICE + "Commit", { method: "POST", headers: { ...connectHeaders, ...headers }, body });
  }

  function preflight(origin: string) {
    return new Request(base + SERVICE + "Commit", {
      method: "OPTIONS",
      headers: {
        origin,
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type,connect-protocol-version,authorization",
      },
    });
  }

  it("serves Connect unary calls (binary and JSON) and Connect errors", async () => {
    const { handler, store } = setup();
    const e = makeEvent();
    const res = await handler.fetch(commitRequest([e]));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/proto");
    const decoded = fromBinary(CommitResponseSchema, new Uint8Array(await res.arrayBuffer()));
    expect(decoded.results.map((r) => [r.id, r.seq])).toEqual([[e.header.id, 1n]]);
    expect(await store.head()).toBe(1);

    const head = await handler.fetch(
      new Request(base + SERVICE + "Head", { method: "POST", headers: { ...connectHeaders, "content-type": "application/json" }, body: "{}" }),
    );
    expect(head.status).toBe(200);
    expect(await head.json()).toEqual({ head: "1" });

    const forged = makeEvent();
    forged.header.digest = forged.header.digest.map((b) => b ^ 1);
    const bad = await handler.fetch(commitRequest([forged]));
    expect(bad.status).toBe(400);
    const body = (await bad.json()) as { code: string; message: string };
    expect(body.code).toBe("invalid_argument");
    expect(body.message).toContain(forged.header.id);
    expect(await store.head()).toBe(1);

    expect((await handler.fetch(new Request(base + "/nope", { method: "POST" }))).status).toBe(404);
  });

  it("answers a CORS preflight with the Connect CORS headers (default: any origin)", async () => {
    const { handler } = setup();
    const res = await handler.fetch(preflight("http://b.example"));
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    const methods = res.headers.get("access-control-allow-methods")!.toLowerCase();
    expect(methods).toContain("post");
    const allowed = res.headers.get("access-control-allow-headers")!.toLowerCase().split(/,\s*/);
    for (const h of ["content-type", "connect-protocol-version", "connect-timeout-ms", "x-grpc-web", "grpc-timeout", "authorization"]) {
      expect(allowed).toContain(h);
    }
    expect(Number(res.headers.get("access-control-max-age"))).toBeGreaterThan(0);

    const actual = await handler.fetch(commitRequest([makeEvent()], { origin: "http://b.example" }));
    expect(actual.status).toBe(200);
    expect(actual.headers.get("access-control-allow-origin")).toBe("*");
    const exposed = actual.headers.get("access-control-expose-headers")!.toLowerCase().split(/,\s*/);
    for (const h of ["grpc-status", "grpc-message", "grpc-status-details-bin"]) expect(exposed).toContain(h);
  });

  it('with cors: ["http://a.example"] allows that origin only', async () => {
    const { handler, store } = setup({ cors: ["http://a.example"] });
    const ok = await handler.fetch(preflight("http://a.example"));
    expect(ok.status).toBe(204);
    expect(ok.headers.get("access-control-allow-origin")).toBe("http://a.example");
    expect(ok.headers.get("vary")).toMatch(/origin/i);

    const refused = await handler.fetch(preflight("http://b.example"));
    expect(refused.status).toBe(403);
    expect(refused.headers.get("access-control-allow-origin")).toBeNull();
    expect(refused.headers.get("access-control-allow-methods")).toBeNull();

    const fromA = await handler.fetch(commitRequest([makeEvent()], { origin: "http://a.example" }));
    expect(fromA.headers.get("access-control-allow-origin")).toBe("http://a.example");
    // A browser would not let b read this: no CORS headers at all.
    const fromB = await handler.fetch(commitRequest([makeEvent()], { origin: "http://b.example" }));
    expect(fromB.headers.get("access-control-allow-origin")).toBeNull();
    expect(fromB.headers.get("access-control-expose-headers")).toBeNull();
    expect(await store.head()).toBe(2);
  });

  it("the Node host applies the same CORS policy", async () => {
    const rig = await startRig({ cors: ["http://a.example"] });
    const pre = (origin: string) =>
      fetch(rig.url + SERVICE + "Commit", {
        method: "OPTIONS",
        headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type" },
      });
    const a = await pre("http://a.example");
    expect(a.status).toBe(204);
    expect(a.headers.get("access-control-allow-origin")).toBe("http://a.example");
    const b = await pre("http://b.example");
    expect(b.status).toBe(403);
    expect(b.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("a Subscribe served by fetch ends on the server when the client goes away", async () => {
    const { handler, bus, store } = setup();
    await store.commit(makeEvents(2));
    const subscribe = (signal?: AbortSignal) =>
      handler.fetch(
        new Request(base + SERVICE + "Subscribe", {
          method: "POST",
          headers: { "content-type": "application/connect+proto", "connect-protocol-version": "1" },
          body: new Uint8Array(5), // an empty SubscribeRequest, enveloped
          signal,
        }),
      );
    // A client that disconnects: the runtime aborts the request and cancels the response body.
    const ac = new AbortController();
    const reader1 = (await subscribe(ac.signal)).body!.getReader();
    await within(reader1.read(), "the first message");
    expect(handler.subscriptions).toBe(1);
    expect(bus.subscriberCount).toBe(1);
    ac.abort();
    await eventually("the store subscription to close on abort", () => bus.subscriberCount === 0);
    await reader1.cancel();
    await eventually("the aborted stream to end", () => handler.subscriptions === 0);

    // The runtime only drops the response (cancels the body); the request signal stays quiet.
    const reader2 = (await subscribe()).body!.getReader();
    await within(reader2.read(), "the first message");
    expect(handler.subscriptions).toBe(1);
    await reader2.cancel();
    await eventually("the canceled stream to end", () => handler.subscriptions === 0 && bus.subscriberCount === 0);
  });
});
