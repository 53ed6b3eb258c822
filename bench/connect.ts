/**
 * The EventStore service on loopback: Commit throughput and Subscribe delivery through the SDK
 * (createRemoteStore → createEventStoreHandler over a memory store), against a raw Connect
 * baseline with no store behind it, and against the memory store called in-process.
 *
 * The servers run in a worker thread, the clients on the main thread: each side has its own core,
 * as a client and a server have in a deployment. The worker serves three handlers:
 * - commit: createEventStoreHandler over a memory store that is swapped for a fresh one whenever
 *   the client's pool of pre-built events wraps around, so every timed commit stores new events;
 * - backlog: the same handler over a memory store holding BACKLOG events, for Subscribe replays;
 * - echo: the generated EventStoreService with only Commit and Subscribe implemented and no store:
 *   Commit answers one result per event (the real response's shape), Subscribe streams pre-built
 *   StoredEvent messages in messages of 256 events (what the real handler sends) and a caught-up.
 * Each is hosted twice: by startNodeServer (HTTP/1.1 and h2c on one port, what `serve` runs) and
 * by a plain `http2.createServer(connectNodeAdapter(...))` (h2c only), which tells the cost of
 * startNodeServer's own connection routing from Connect's.
 */
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { cpus, loadavg } from "node:os";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { type Client, type ConnectRouter, createClient, type Transport } from "@connectrpc/connect";
import { connectNodeAdapter, createGrpcTransport } from "@connectrpc/connect-node";
import { createRemoteStore, createWebTransport } from "../src/adapters/connect/client/index.js";
import { eventToProto, storedToProto } from "../src/adapters/connect/convert.js";
import type { EventSchema } from "../src/adapters/connect/gen/toka/events/v1/event_pb.js";
import {
  CommitStatus,
  EventStoreService,
  type SubscribeResponse,
  SubscribeResponseSchema,
} from "../src/adapters/connect/gen/toka/events/v1/event_store_pb.js";
import { startNodeServer } from "../src/adapters/connect/node/index.js";
import { createEventStoreHandler, type EventStoreHandler } from "../src/adapters/connect/server/index.js";
import { createMemoryBus, createMemoryVault } from "../src/adapters/memory/index.js";
import { createEvent, createEventStore, type Event, type EventStore } from "../src/core/index.js";
import { type Budget, type Case, measureAll, pick, printTable, ratio } from "./harness.js";

const PAYLOAD_BYTES = 256;
/** Pre-built events the client commits; when they run out the server's store is replaced. */
const POOL = 20_000;
/** Events in the backlog store that Subscribe cases replay. */
const BACKLOG = 10_000;
/** Events each subscriber receives per run: the last ones of the backlog. */
const SUB_EVENTS: Record<number, number> = { 1: 2_000, 10: 200 };
const FANOUT = [1, 10];
/** What one Subscribe message carries at most: the handler's default maxStreamEvents. */
const STREAM_PAGE = 256;
/** Events per commit when the backlog stores are filled. */
const PAGE = 1_000;
/** Commit shapes; `calls` per run keeps a run in the tens of milliseconds. */
const SHAPES = [
  { batch: 1, inFlight: 1, calls: 4 },
  { batch: 1, inFlight: 16, calls: 64 },
  { batch: 100, inFlight: 1, calls: 2 },
  { batch: 100, inFlight: 16, calls: 32 },
] as const;
type Shape = (typeof SHAPES)[number];
const TARGET_SHAPE = SHAPES[3];

const COMMIT_TARGET = 50_000; // events/s, 100/batch, 16 in flight
const SUBSCRIBE_TARGET = 100_000; // events/s to one subscriber

/** Shorter than the default so that ~40 cases fit in a minute; still the median of 5 rounds. */
const BUDGET: Budget = { warmupMs: 150, roundMs: 150, rounds: 5 };

const IS_SERVER = "tokaBenchConnectServer";

type ProtoEvent = MessageInitShape<typeof EventSchema>;
type Api = Client<typeof EventStoreService>;
type Host = "node" | "plain";
type Urls = Record<"commit" | "backlog" | "echo", Record<Host, string>>;
type ToServer = { id: number; op: "reset" | "close" };
type FromServer = { ready: Urls } | { id: number };

/** Independent 256 B events (no parents), so batches committed out of order stay valid. */
function makeEvents(n: number): Event[] {
  const events: Event[] = [];
  for (let i = 0; i < n; i++) {
    events.push(createEvent({ kind: "chat.msg", payload: crypto.getRandomValues(new Uint8Array(PAYLOAD_BYTES)) }));
  }
  return events;
}

function memoryStore(): EventStore {
  return createEventStore({ vault: createMemoryVault(), bus: createMemoryBus() });
}

// ---------------------------------------------------------------------------------------------
// Server side (worker thread)

/** The no-store baseline: the real service's Commit and Subscribe shapes, with no store work. */
function echoRoutes(backlog: ReturnType<typeof storedToProto>[]): (router: ConnectRouter) => void {
  const pages = new Map<number, SubscribeResponse[]>();
  const pagesAfter = (after: number): SubscribeResponse[] => {
    let p = pages.get(after);
    if (!p) {
      p = [];
      for (let i = after; i < backlog.length; i += STREAM_PAGE) {
        p.push(create(SubscribeResponseSchema, { message: { case: "events", value: { events: backlog.slice(i, i + STREAM_PAGE) } } }));
      }
      p.push(create(SubscribeResponseSchema, { message: { case: "caughtUp", value: { seq: BigInt(backlog.length) } } }));
      pages.set(after, p);
    }
    return p;
  };
  return (router) =>
    router.service(EventStoreService, {
      commit: (req) => ({
        results: req.events.map((e, i) => ({ id: e.header?.id ?? "", seq: BigInt(i + 1), status: CommitStatus.STORED })),
      }),
      async *subscribe(req) {
        yield* pagesAfter(Number(req.after));
      },
    });
}

/** Hosts `routes` on startNodeServer and on a plain h2c server; returns both URLs and a closer. */
async function host(routes: (router: ConnectRouter) => void): Promise<{ urls: Record<Host, string>; close(): Promise<void> }> {
  const handler: EventStoreHandler = {
    routes,
    fetch: async () => new Response("not found", { status: 404 }),
    corsHeaders: () => undefined,
    subscriptions: 0,
  };
  const node = await startNodeServer({ handler, port: 0 });
  const plain = http2.createServer(connectNodeAdapter({ routes }));
  await new Promise<void>((resolve) => plain.listen(0, "127.0.0.1", resolve));
  return {
    urls: { node: node.url, plain: `http://127.0.0.1:${(plain.address() as AddressInfo).port}` },
    close: async () => {
      plain.close();
      await node.close();
    },
  };
}

async function serve(): Promise<void> {
  const port = parentPort!;
  let current = memoryStore();
  // The handler's store: every call goes to the current store, so a reset needs no new server.
  const swappable: EventStore = {
    commit: (events, o) => current.commit(events, o),
    header: (id, o) => current.header(id, o),
    payload: (digest, o) => current.payload(digest, o),
    head: (o) => current.head(o),
    read: (o) => current.read(o),
    subscribe: (o) => current.subscribe(o),
    close: () => current.close(),
  };
  const backlogStore = memoryStore();
  const backlog = makeEvents(BACKLOG);
  const stored = [];
  for (let i = 0; i < BACKLOG; i += PAGE) {
    const results = await backlogStore.commit(backlog.slice(i, i + PAGE));
    for (const [k, r] of results.entries()) stored.push(storedToProto({ ...backlog[i + k]!, seq: r.seq }));
  }
  const commit = await host(createEventStoreHandler({ store: swappable }).routes);
  const replay = await host(createEventStoreHandler({ store: backlogStore }).routes);
  const echo = await host(echoRoutes(stored));
  port.on("message", (m: ToServer) => {
    if (m.op === "reset") {
      void current.close();
      current = memoryStore();
      port.postMessage({ id: m.id } satisfies FromServer);
    } else {
      void Promise.all([commit, replay, echo].map((s) => s.close())).then(() => port.postMessage({ id: m.id } satisfies FromServer));
    }
  });
  port.postMessage({ ready: { commit: commit.urls, backlog: replay.urls, echo: echo.urls } } satisfies FromServer);
}

if (!isMainThread && (workerData as Record<string, unknown> | null)?.[IS_SERVER]) void serve();

// ---------------------------------------------------------------------------------------------
// Client side (main thread)

interface ServerThread {
  urls: Urls;
  /** Replaces the commit handler's store with an empty one. */
  reset(): Promise<void>;
  close(): Promise<void>;
}

async function startServerThread(): Promise<ServerThread> {
  // The worker runs this module again; tsx's loader is registered in it before the import.
  const boot = `import(${JSON.stringify(import.meta.resolve("tsx/esm/api"))})
    .then((m) => { m.register(); return import(${JSON.stringify(import.meta.url)}); });`;
  const worker = new Worker(boot, { eval: true, workerData: { [IS_SERVER]: true } });
  const waiting = new Map<number, () => void>();
  let nextId = 0;
  let failed: unknown;
  const urls = await new Promise<Urls>((resolve, reject) => {
    worker.on("message", (m: FromServer) => {
      if ("ready" in m) resolve(m.ready);
      else {
        waiting.get(m.id)?.();
        waiting.delete(m.id);
      }
    });
    worker.on("error", (err) => {
      failed = err;
      reject(err);
    });
  });
  const request = (op: ToServer["op"]) =>
    new Promise<void>((resolve, reject) => {
      if (failed) return reject(failed);
      const id = nextId++;
      waiting.set(id, resolve);
      worker.postMessage({ id, op } satisfies ToServer);
    });
  return {
    urls,
    reset: () => request("reset"),
    close: async () => {
      await request("close");
      await worker.terminate();
    },
  };
}

/** Runs `calls` calls, at most `inFlight` at once. */
async function drive(calls: number, inFlight: number, call: () => Promise<void>): Promise<void> {
  if (inFlight === 1) {
    for (let i = 0; i < calls; i++) await call();
    return;
  }
  let started = 0;
  const lane = async () => {
    while (started < calls) {
      started++;
      await call();
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
}

interface Wire {
  label: string;
  short: string;
  host: Host;
  transport: (baseUrl: string) => Transport;
  /** Also measure the raw client against the echo and the store: false where a stall hides them. */
  baselines: boolean;
}

const grpc = (baseUrl: string) => createGrpcTransport({ baseUrl });
const CONNECT: Wire = {
  label: "Connect h1.1",
  short: "Connect",
  host: "node",
  transport: (baseUrl) => createWebTransport({ baseUrl }),
  baselines: true,
};
const GRPC: Wire = { label: "gRPC h2c", short: "gRPC", host: "node", transport: grpc, baselines: false };
const GRPC_PLAIN: Wire = { label: "gRPC h2c plain-h2", short: "gRPC plain-h2", host: "plain", transport: grpc, baselines: true };
const WIRES = [CONNECT, GRPC, GRPC_PLAIN];
const BASELINED = WIRES.filter((w) => w.baselines);

type Path = "SDK→store" | "raw→store" | "raw→echo";
const shapeLabel = (s: Shape) => `batch ${s.batch} ${s.inFlight === 1 ? "sequential" : `×${s.inFlight} in flight`}`;
const commitName = (wire: Wire | "in-process", path: Path | "store.commit", s: Shape) =>
  `${wire === "in-process" ? wire : wire.label}: ${path}, ${shapeLabel(s)}`;
const subName = (wire: Wire | "in-process", path: Path | "store.subscribe", subs: number) =>
  `${wire === "in-process" ? wire : wire.label}: ${path} → ${subs}`;

function commitCases(server: ServerThread, pool: Event[], protos: ProtoEvent[]): Case[] {
  let cursor = 0;
  /** The first index of `n` pool events the commit handler's store has not stored yet. */
  async function reserve(n: number): Promise<number> {
    if (cursor + n > pool.length) {
      await server.reset();
      cursor = 0;
    }
    const start = cursor;
    cursor += n;
    return start;
  }
  /** A raw client's Commit case: pre-converted events, no client-side checks. */
  const rawCase = (name: string, client: Api, s: Shape, store: boolean): Case => ({
    name,
    ops: s.batch * s.calls,
    async run() {
      let i = store ? await reserve(s.batch * s.calls) : 0;
      await drive(s.calls, s.inFlight, async () => {
        const res = await client.commit({ events: protos.slice(i, (i += s.batch)) });
        if (res.results.length !== s.batch || res.results[0]!.status !== CommitStatus.STORED) {
          throw new Error("commit stored less than the batch: the pool was reused");
        }
      });
    },
  });
  const cases: Case[] = [];
  for (const s of SHAPES) {
    const ops = s.batch * s.calls;
    // The memory store called directly: the ceiling for any wire. A fresh store per run.
    if (s.inFlight === 1) {
      cases.push({
        name: commitName("in-process", "store.commit", s),
        ops: 1000,
        async run() {
          const store = memoryStore();
          for (let i = 0; i < 1000; i += s.batch) await store.commit(pool.slice(i, i + s.batch));
          if ((await store.head()) !== 1000) throw new Error("in-process store lost events");
        },
      });
    }
    for (const wire of WIRES) {
      const remote = createRemoteStore({ transport: wire.transport(server.urls.commit[wire.host]) });
      cases.push({
        name: commitName(wire, "SDK→store", s),
        ops,
        async run() {
          let i = await reserve(ops);
          await drive(s.calls, s.inFlight, async () => {
            const results = await remote.commit(pool.slice(i, (i += s.batch)));
            if (results[0]!.status !== "stored") throw new Error("commit found a duplicate: the pool was reused");
          });
        },
      });
      if (!wire.baselines) continue;
      // A raw client against the store: the server's whole cost without the client SDK's.
      if (s === TARGET_SHAPE) {
        const client = createClient(EventStoreService, wire.transport(server.urls.commit[wire.host]));
        cases.push(rawCase(commitName(wire, "raw→store", s), client, s, true));
      }
      const echo = createClient(EventStoreService, wire.transport(server.urls.echo[wire.host]));
      cases.push(rawCase(commitName(wire, "raw→echo", s), echo, s, false));
    }
  }
  return cases;
}

function subscribeCases(server: ServerThread, pool: Event[]): Case[] {
  // The in-process ceiling replays the same number of events from a local memory store.
  const local = memoryStore();
  const filled = (async () => {
    for (let i = 0; i < BACKLOG; i += PAGE) await local.commit(pool.slice(i, i + PAGE));
  })();
  const cases: Case[] = [];
  for (const subs of FANOUT) {
    const n = SUB_EVENTS[subs]!;
    const after = BACKLOG - n;
    const fan = (one: () => Promise<void>) => () => Promise.all(Array.from({ length: subs }, one)).then(() => undefined);
    /** One subscriber of a store: counts events up to the caught-up that follows the backlog. */
    const replay = async (store: EventStore) => {
      let count = 0;
      for await (const m of store.subscribe({ after })) {
        if (m.type === "event") count++;
        else if (m.type === "caught-up") break;
        else throw new Error(`subscriber got a ${m.type} message`);
      }
      if (count !== n) throw new Error(`subscriber got ${count} of ${n} events`);
    };
    cases.push({
      name: subName("in-process", "store.subscribe", subs),
      ops: n * subs,
      run: fan(async () => {
        await filled;
        await replay(local);
      }),
    });
    for (const wire of WIRES) {
      // startNodeServer's gRPC stalls ~40 ms per round trip: one fan-out shows it, two cost seconds.
      if (wire === GRPC && subs > 1) continue;
      const remote = createRemoteStore({ transport: wire.transport(server.urls.backlog[wire.host]) });
      cases.push({ name: subName(wire, "SDK→store", subs), ops: n * subs, run: fan(() => replay(remote)) });
      if (!wire.baselines) continue;
      const echo = createClient(EventStoreService, wire.transport(server.urls.echo[wire.host]));
      cases.push({
        name: subName(wire, "raw→echo", subs),
        ops: n * subs,
        run: fan(async () => {
          let count = 0;
          for await (const res of echo.subscribe({ after: BigInt(after), includePayloads: true })) {
            if (res.message.case === "events") count += res.message.value.events.length;
            else if (res.message.case === "caughtUp") break;
          }
          if (count !== n) throw new Error(`raw subscriber got ${count} of ${n} events`);
        }),
      });
    }
  }
  return cases;
}

/** Commit and Subscribe over loopback through the SDK, against a raw Connect baseline. */
export async function runConnect(): Promise<void> {
  const started = performance.now();
  const load = () => loadavg()[0]!.toFixed(1);
  const loadAtStart = load();
  const [server, pool] = await Promise.all([startServerThread(), Promise.resolve().then(() => makeEvents(POOL))]);
  try {
    const protos = pool.map(eventToProto);
    console.log(
      [
        "",
        `connect: servers in a worker thread, clients on the main thread, loopback; ${PAYLOAD_BYTES} B events, no parents.`,
        `  per case: ${BUDGET.warmupMs} ms warm-up, then the median of ${BUDGET.rounds} rounds of ${BUDGET.roundMs} ms`,
        "  Connect h1.1       createWebTransport (fetch, binary) → startNodeServer",
        "  gRPC h2c           createGrpcTransport (connect-node) → startNodeServer",
        "  gRPC h2c plain-h2  createGrpcTransport → http2.createServer(connectNodeAdapter(...)), same routes",
        "  SDK→store  createRemoteStore → createEventStoreHandler over a memory store",
        "  raw→store  createClient, events pre-converted to protobuf → the same handler and store",
        "  raw→echo   createClient → the same service answered from memory (same response shapes), no store",
      ].join("\n"),
    );

    const commits = await measureAll(commitCases(server, pool, protos), BUDGET);
    printTable("connect: Commit over loopback (store cases commit only new events)", "events", commits);
    console.log();
    const rate = (w: Wire | "in-process", p: Path | "store.commit", s: Shape) => pick(commits, commitName(w, p, s));
    for (const w of WIRES) {
      ratio(`${w.short}: SDK Commit batch 100 ×16 / ${COMMIT_TARGET / 1000}k events/s`, rate(w, "SDK→store", TARGET_SHAPE) / COMMIT_TARGET, 1);
    }
    for (const w of BASELINED) {
      for (const s of SHAPES) ratio(`${w.short}: SDK→store / raw→echo, ${shapeLabel(s)}`, rate(w, "SDK→store", s) / rate(w, "raw→echo", s));
      ratio(`${w.short}: raw→store / raw→echo, batch 100 ×16`, rate(w, "raw→store", TARGET_SHAPE) / rate(w, "raw→echo", TARGET_SHAPE));
      ratio(`${w.short}: SDK→store / raw→store, batch 100 ×16`, rate(w, "SDK→store", TARGET_SHAPE) / rate(w, "raw→store", TARGET_SHAPE));
    }
    for (const w of WIRES) {
      ratio(
        `${w.short}: SDK→store batch 100 ×16 / in-process batch 100`,
        rate(w, "SDK→store", TARGET_SHAPE) / rate("in-process", "store.commit", SHAPES[2]),
      );
    }
    for (const s of SHAPES) {
      ratio(`gRPC SDK→store: startNodeServer / plain-h2, ${shapeLabel(s)}`, rate(GRPC, "SDK→store", s) / rate(GRPC_PLAIN, "SDK→store", s));
    }
    for (const s of SHAPES) {
      ratio(`SDK→store: gRPC plain-h2 / Connect h1.1, ${shapeLabel(s)}`, rate(GRPC_PLAIN, "SDK→store", s) / rate(CONNECT, "SDK→store", s));
    }

    const subs = await measureAll(subscribeCases(server, pool), BUDGET);
    printTable(
      `connect: Subscribe, replay of a ${BACKLOG}-event backlog (deliveries = events × subscribers; → 1: last ${SUB_EVENTS[1]}, → 10: last ${SUB_EVENTS[10]} each; stream setup included)`,
      "deliveries",
      subs,
    );
    console.log();
    const srate = (w: Wire | "in-process", p: Path | "store.subscribe", n: number) => pick(subs, subName(w, p, n));
    for (const w of WIRES) {
      ratio(`${w.short}: SDK Subscribe → 1 / ${SUBSCRIBE_TARGET / 1000}k events/s`, srate(w, "SDK→store", 1) / SUBSCRIBE_TARGET, 1);
    }
    for (const n of FANOUT) {
      for (const w of BASELINED) ratio(`${w.short}: SDK→store / raw→echo, → ${n}`, srate(w, "SDK→store", n) / srate(w, "raw→echo", n));
      for (const w of BASELINED) {
        ratio(`${w.short}: SDK→store / in-process store.subscribe, → ${n}`, srate(w, "SDK→store", n) / srate("in-process", "store.subscribe", n));
      }
    }
    ratio(`gRPC SDK→store: startNodeServer / plain-h2, → 1`, srate(GRPC, "SDK→store", 1) / srate(GRPC_PLAIN, "SDK→store", 1));
  } finally {
    await server.close();
  }
  const secs = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`\nconnect group: ${secs} s; 1-min load average ${loadAtStart} at the start, ${load()} at the end, on ${cpus().length} CPUs`);
}
