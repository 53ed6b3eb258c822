// The chaos harness: a real server (startNodeServer over createEventStoreHandler) on loopback,
// two or three clients (createEventRuntime over a memory or IndexedDB vault, createRemoteStore
// over createWebTransport), each behind its own fault proxy, driven by a random schedule of
// commits, outages, server and client restarts and refused events; then everything comes back
// online and the run proves that nothing was lost or duplicated (see `checkInvariants`).
import "fake-indexeddb/auto";
import { setTimeout as sleep } from "node:timers/promises";
import { PGlite } from "@electric-sql/pglite";
import fc from "fast-check";
import { createRemoteStore, createWebTransport } from "../../src/adapters/connect/client/index.js";
import { type NodeServer, startNodeServer } from "../../src/adapters/connect/node/index.js";
import { createEventStoreHandler, type EventStoreHandler } from "../../src/adapters/connect/server/index.js";
import { openIndexedDbVault } from "../../src/adapters/indexeddb/index.js";
import { createMemoryBus, createMemoryVault } from "../../src/adapters/memory/index.js";
import { createPostgresStore, migrate } from "../../src/adapters/postgres/index.js";
import {
  type BusMessage,
  createEventStore,
  type EventHeader,
  EventError,
  type EventStore,
  type LocalVault,
  type StoredEvent,
  type Subscription,
  verifyEvent,
} from "../../src/core/index.js";
import { createEventRuntime, type EventRuntime, REMOTE_CURSOR } from "../../src/runtime/index.js";
import { openTestPglite, type TestPglite } from "../support/pglite.js";
import { type DropHow, type FaultProxy, type NetMode, startFaultProxy } from "./fault-proxy.js";

// ---------------------------------------------------------------------------------------------
// Schedules

export type VaultKind = "memory" | "idb";
export type StoreKind = "memory" | "pglite";

/** A client index (taken modulo the number of clients) or every client. */
export type Target = number | "all";

export type Step =
  /** `n` events on client `c`; `burst` fires them all at once instead of one after another. */
  | { t: "commit"; c: number; n: number; burst: boolean; seed: number }
  /** One event the server refuses for good (too big, or a kind this client may not commit), then `children` descendants. */
  | { t: "bad"; c: number; flavor: "oversize" | "forbidden"; children: number; seed: number }
  | { t: "net"; c: Target; mode: NetMode }
  | { t: "drop"; c: Target; how: DropHow }
  /**
   * Stop the server process, stay down `downMs`, start it again on the same port with the same
   * data. `abrupt`: every connection is reset at that moment (a crash) instead of only
   * NodeServer.close(), which now ends streams gracefully first.
   */
  | { t: "serverRestart"; downMs: number; reopenDb: boolean; abrupt: boolean }
  | { t: "serverDown"; abrupt: boolean }
  | { t: "serverUp"; reopenDb: boolean }
  /** Commit `n` events, wait for a push to be in flight, then kill the client process and start it again on its vault. */
  | { t: "restartClient"; c: number; n: number; delayMs: number; awaitCommits: boolean; seed: number }
  | { t: "wait"; ms: number };

export interface Schedule {
  clients: number;
  /** One per client (extra entries unused). */
  vaults: VaultKind[];
  /** The runtimes' batch.maxEvents / batch.delayMs. */
  batchMax: number;
  batchDelayMs: number;
  /** Pushes on the way at once (batch.maxInFlight). */
  inFlight?: number;
  /** Server limits that change how streams are cut. */
  subscriberBuffer: number;
  maxPageEvents: number;
  /** A slow store: each Commit waits this long before and again after it is applied (the reply can be lost after the work is done). */
  serverLatencyMs: number;
  steps: Step[];
}

const clientArb = fc.nat({ max: 2 });
const targetArb: fc.Arbitrary<Target> = fc.oneof(clientArb, fc.constant("all" as const));

export const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ t: fc.constant("commit"), c: clientArb, n: fc.integer({ min: 1, max: 8 }), burst: fc.boolean(), seed: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({ t: fc.constant("bad"), c: clientArb, flavor: fc.constantFrom("oversize", "forbidden"), children: fc.nat({ max: 2 }), seed: fc.nat() }),
  },
  { weight: 3, arbitrary: fc.record({ t: fc.constant("net"), c: targetArb, mode: fc.constantFrom<NetMode>("offline", "online", "online", "lossy", "stalled") }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("drop"), c: targetArb, how: fc.constantFrom<DropHow>("reset", "end") }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("serverRestart"), downMs: fc.integer({ min: 0, max: 80 }), reopenDb: fc.boolean(), abrupt: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("serverDown"), abrupt: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("serverUp"), reopenDb: fc.boolean() }) },
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant("restartClient"),
      c: clientArb,
      n: fc.integer({ min: 1, max: 6 }),
      delayMs: fc.integer({ min: 0, max: 20 }),
      awaitCommits: fc.boolean(),
      seed: fc.nat(),
    }),
  },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("wait"), ms: fc.integer({ min: 0, max: 60 }) }) },
);

export function scheduleArb(opts: { vaults: fc.Arbitrary<VaultKind>; maxSteps?: number }): fc.Arbitrary<Schedule> {
  return fc.record({
    clients: fc.integer({ min: 2, max: 3 }),
    vaults: fc.tuple(opts.vaults, opts.vaults, opts.vaults),
    batchMax: fc.integer({ min: 1, max: 10 }),
    batchDelayMs: fc.constantFrom(0, 0, 3),
    inFlight: fc.constantFrom(1, 2, 4, 4),
    subscriberBuffer: fc.constantFrom(2, 8, 4096),
    maxPageEvents: fc.constantFrom(3, 1000),
    serverLatencyMs: fc.constantFrom(0, 0, 2, 10),
    steps: fc.array(stepArb, { minLength: 1, maxLength: opts.maxSteps ?? 12 }),
  });
}

// ---------------------------------------------------------------------------------------------
// Small helpers

/** A tiny seeded PRNG (mulberry32): a step's choices follow from its seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `p`, or a rejection naming `what` after `ms` (the promise itself keeps running). */
export async function within<T>(ms: number, p: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: still pending after ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

async function until(ms: number, what: () => string, check: () => boolean | Promise<boolean>): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what()}`);
    await sleep(5);
  }
}

async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

const utf8 = new TextEncoder();
const utf8d = new TextDecoder();

/** The tag every chaos payload starts with (JSON; bad ones are padded with spaces). */
function tagOf(e: { payload: Uint8Array }): string {
  try {
    return (JSON.parse(utf8d.decode(e.payload)) as { tag: string }).tag;
  } catch {
    return `<untagged ${e.payload.length} bytes>`;
  }
}

// ---------------------------------------------------------------------------------------------
// The server

/** Tuned small so schedules stay short. */
const MAX_PAYLOAD = 256;
const HEARTBEAT_MS = 100;
/** How long "caught up and online" must hold before a run counts as converged. */
const SETTLE_MS = 50;

/** A PGlite database that outlives schedules and can be "restarted" (closed and opened again). */
export interface PgliteHost {
  db: PGlite;
  reopen(): Promise<void>;
  close(): Promise<void>;
}

export async function openPgliteHost(): Promise<PgliteHost> {
  const t: TestPglite = await openTestPglite();
  await migrate(t.db);
  let db = t.db;
  let reopened = false;
  const host: PgliteHost = {
    get db() {
      return db;
    },
    async reopen() {
      await db.close();
      db = await PGlite.create(t.dir);
      reopened = true;
    },
    async close() {
      if (!reopened) return t.close();
      await db.close();
      // openTestPglite's close would close the first instance again; remove the copy ourselves.
      const { rmSync } = await import("node:fs");
      const { dirname } = await import("node:path");
      rmSync(dirname(t.dir), { recursive: true, force: true });
    },
  };
  return host;
}

class ServerHost {
  up = false;
  port = 0;
  node: NodeServer | undefined;
  store!: EventStore;
  readonly handlers: EventStoreHandler[] = [];
  readonly internalErrors: string[] = [];
  onSlowClose?: (ms: number) => void;
  onEvent?: (msg: string) => void;
  private tenant = `chaos_${Math.random().toString(36).slice(2)}`;

  constructor(
    readonly kind: StoreKind,
    private readonly schedule: Schedule,
    private readonly pglite?: PgliteHost,
  ) {
    // The memory store is the server's disk: the same object survives every restart.
    if (kind === "memory") this.store = createEventStore({ vault: createMemoryVault(), bus: createMemoryBus() });
  }

  async start(): Promise<void> {
    if (this.up) return;
    if (this.kind === "pglite") {
      // A new process: a new store over the same database (and tenant).
      this.store = createPostgresStore({ client: this.pglite!.db, tenant: this.tenant, pollMs: 50 });
    }
    const store = this.store;
    const generation = this.handlers.length;
    const handler = createEventStoreHandler({
      // The store as this server process sees it: commits that arrive already cancelled are noted.
      store: {
        ...store,
        commit: async (events, opts) => {
          const latency = this.schedule.serverLatencyMs;
          if (latency > 0) await sleep(latency / 2);
          if (opts?.signal?.aborted) this.onEvent?.(`server #${generation}: Commit of ${events.length} runs with its request already aborted (${describeCause(opts.signal.reason)})`);
          const results = await store.commit(events, opts);
          if (latency > 0) await sleep(latency / 2);
          return results;
        },
      },
      limits: { maxPayloadBytes: MAX_PAYLOAD, subscriberBuffer: this.schedule.subscriberBuffer, maxPageEvents: this.schedule.maxPageEvents, maxStreamEvents: this.schedule.maxPageEvents, heartbeatMs: HEARTBEAT_MS },
      // Every caller may commit chaos.* only: "forbidden.*" is refused with permission_denied.
      auth: () => ({ id: "chaos", commit: ["chaos.*"] }),
      onError: (err) => this.internalErrors.push(String((err as Error)?.stack ?? err)),
    });
    this.handlers.push(handler);
    for (let attempt = 0; ; attempt++) {
      try {
        this.node = await startNodeServer({ handler, port: this.port });
        break;
      } catch (err) {
        if ((err as { code?: string }).code !== "EADDRINUSE" || attempt >= 50) throw err;
        await sleep(20);
      }
    }
    this.port = this.node.port;
    this.up = true;
  }

  /**
   * The server process goes: NodeServer.close() (listener closed, streams ended, connections
   * destroyed); with `cut`, every client connection is reset at the same moment, as in a crash.
   */
  async kill(reopenDb = false, cut?: () => void): Promise<void> {
    if (!this.up) return;
    this.up = false;
    const node = this.node!;
    this.node = undefined;
    const t = Date.now();
    const closing = node.close();
    cut?.();
    await within(5000, closing, "NodeServer.close()");
    if (Date.now() - t > 100) this.onSlowClose?.(Date.now() - t);
    if (this.kind === "pglite") {
      await this.store.close();
      if (reopenDb) await this.pglite!.reopen();
    }
  }

  async close(): Promise<void> {
    await this.kill().catch(() => {});
    if (this.kind === "pglite" && this.store) await this.store.close().catch(() => {});
  }
}

// ---------------------------------------------------------------------------------------------
// Clients

/** An event this harness committed through a runtime (the commit resolved). */
interface Own {
  tag: string;
  client: number;
  header: EventHeader;
  /** Refused by the server by construction. */
  bad: boolean;
}

class ClientSlot {
  vault!: LocalVault;
  remote!: EventStore;
  runtime!: EventRuntime;
  proxy!: FaultProxy;
  generation = 0;
  /** Remote Commit calls started (any generation), and those not settled yet. */
  pushes = 0;
  inflight = 0;
  private pushWaiters: (() => void)[] = [];
  readonly own: Own[] = [];
  /** Tags of commits that rejected (their event may or may not have been stored). */
  readonly maybe = new Set<string>();
  private counter = 0;
  readonly dbName: string;

  constructor(
    readonly i: number,
    readonly kind: VaultKind,
    private readonly world: World,
  ) {
    this.dbName = `chaos-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}-c${i}`;
  }

  nextTag(): string {
    return `c${this.i}-g${this.generation}-${this.counter++}`;
  }

  async open(): Promise<void> {
    this.proxy = await startFaultProxy({ port: this.world.server.port }, process.env.CHAOS_VERBOSE ? (m) => this.world.log(`  client ${this.i} ${m}`) : undefined);
    this.vault = this.kind === "memory" ? createMemoryVault() : await openIndexedDbVault({ name: this.dbName });
    this.startRuntime();
  }

  startRuntime(): void {
    // Silence is noticed after 4 missed heartbeats; a call gets 500 ms (stalled connections need both).
    const raw = createRemoteStore({ transport: createWebTransport({ baseUrl: this.proxy.url }), idleTimeoutMs: 4 * HEARTBEAT_MS, callTimeoutMs: 500 });
    this.remote = raw;
    const s = this.world.schedule;
    this.runtime = createEventRuntime({
      vault: this.vault,
      remote: this.instrument(raw),
      idleMs: 30,
      retry: { baseMs: 4, maxMs: 40 },
      batch: { maxEvents: s.batchMax, delayMs: s.batchDelayMs, maxInFlight: s.inFlight },
    });
  }

  /** Counts pushes, and checks every pull stream is gap-free and duplicate-free in seq order. */
  private instrument(remote: EventStore): EventStore {
    const world = this.world;
    const label = `client ${this.i} gen ${this.generation}`;
    return {
      ...remote,
      commit: async (events, opts) => {
        this.pushes++;
        this.inflight++;
        for (const w of this.pushWaiters.splice(0)) w();
        try {
          return await remote.commit(events, opts);
        } catch (err) {
          // Outages are expected; anything else is worth seeing in a failure's trace.
          const e = err as EventError;
          const code = opts?.signal?.aborted ? "aborted by close" : String(e.code);
          pushErrors.set(code, (pushErrors.get(code) ?? 0) + 1);
          if (e.code !== "unavailable" && !opts?.signal?.aborted) {
            world.log(`  ${label}: push of ${events.length} refused: ${e.code} ${e.message}${describeCause(e.cause)}`);
          }
          throw err;
        } finally {
          this.inflight--;
        }
      },
      subscribe: (opts) => {
        world.log(`  ${label}: pull stream opens after ${opts?.after ?? 0}`);
        return monitorStream(remote.subscribe(opts), opts?.after ?? 0, (msg) => world.violation(`${label}: ${msg}`), (msg) => world.log(`  ${label}: ${msg}`));
      },
    };
  }

  /** Resolves at the next remote Commit call (or after `ms`). */
  nextPush(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(false), ms);
      this.pushWaiters.push(() => {
        clearTimeout(t);
        resolve(true);
      });
    });
  }

  /** Stops the client process (closes its runtime and remote; an IndexedDB vault too) and starts a new one on the same vault. */
  async restart(): Promise<void> {
    await within(5000, this.runtime.close(), `client ${this.i}: runtime.close()`);
    await this.remote.close();
    if (this.kind === "idb") {
      await this.vault.close();
      this.vault = await within(5000, openIndexedDbVault({ name: this.dbName }), `client ${this.i}: reopening IndexedDB vault`);
    }
    this.generation++;
    this.startRuntime();
  }

  async close(): Promise<void> {
    await within(5000, this.runtime?.close() ?? Promise.resolve(), `client ${this.i}: runtime.close()`).catch((e: unknown) => this.world.violation(String(e)));
    await this.remote?.close().catch(() => {});
    await this.proxy?.close().catch(() => {});
    await this.vault?.close().catch(() => {});
    if (this.kind === "idb") {
      await within(
        2000,
        new Promise<void>((resolve) => {
          const r = indexedDB.deleteDatabase(this.dbName);
          r.onsuccess = r.onerror = r.onblocked = () => resolve();
        }),
        "deleteDatabase",
      ).catch(() => {});
    }
  }

  /** Own events not refused and not descended from a refused one (by parent links). */
  deadIds(): Set<string> {
    const dead = new Set<string>();
    for (const o of this.own) {
      if (o.bad || o.header.parents.some((p) => dead.has(p.id))) dead.add(o.header.id);
    }
    return dead;
  }

  /** Events in the vault right now (to pick parents from what this client has seen). */
  async vaultEvents(): Promise<StoredEvent[]> {
    return all(this.vault.read());
  }
}

function describeCause(cause: unknown, depth = 0): string {
  if (cause === undefined || cause === null || depth > 3) return "";
  const c = cause as { name?: string; message?: string; code?: unknown; cause?: unknown };
  return ` <- ${c.name ?? typeof cause}${c.code !== undefined ? `[${String(c.code)}]` : ""}: ${c.message ?? String(cause)}${describeCause(c.cause, depth + 1)}`;
}

/** Wraps a pull subscription: with every kind subscribed, events must come as after+1, after+2, … */
function monitorStream(sub: Subscription, after: number, violation: (msg: string) => void, log: (msg: string) => void): Subscription {
  let last = after;
  let caughtUp = false;
  const see = (r: IteratorResult<BusMessage>) => {
    if (r.done) return log(`pull stream (after ${after}) ended at ${last}`);
    const m = r.value;
    if (m.type === "event") {
      if (m.event.seq !== last + 1) violation(`pull stream (after ${after}) delivered seq ${m.event.seq} right after ${last}`);
      last = Math.max(last, m.event.seq);
    } else if (m.type === "caught-up") {
      if (!caughtUp) log(`pull stream (after ${after}) caught up at ${m.seq}`);
      caughtUp = true;
      if (m.seq !== last) violation(`pull stream (after ${after}) said caught-up at ${m.seq} after delivering up to ${last}`);
    } else {
      violation(`pull stream (after ${after}) reported a gap ${m.from}..${m.to}`);
    }
  };
  const w: Subscription = {
    async next() {
      let r: IteratorResult<BusMessage>;
      try {
        r = await sub.next();
      } catch (err) {
        const e = err as EventError;
        log(`pull stream (after ${after}) failed at ${last}: ${e.code} ${e.message}`);
        throw err;
      }
      see(r);
      return r;
    },
    takeQueued(max: number) {
      const taken = sub.takeQueued(max);
      for (const m of taken) see({ done: false, value: m });
      return taken;
    },
    async return(value?: unknown) {
      return (await sub.return?.(value)) ?? { done: true, value: undefined };
    },
    [Symbol.asyncIterator]() {
      return w;
    },
    close: () => sub.close(),
    [Symbol.asyncDispose]: () => sub[Symbol.asyncDispose](),
  };
  return w;
}

// ---------------------------------------------------------------------------------------------
// A run

/** What the schedules of this process exercised, to show the faults really happened. */
export const chaosStats = {
  schedules: 0,
  events: 0,
  refused: 0,
  deadLetters: 0,
  serverKills: 0,
  databaseRestarts: 0,
  clientRestarts: 0,
  restartsDuringPush: 0,
  offline: 0,
  lossy: 0,
  stalled: 0,
  lostReplies: 0,
  connectionsDropped: 0,
  indexedDbClients: 0,
};

/** Why pushes failed, by error code (outages are expected; the runtime must ride them all out). */
export const pushErrors = new Map<string, number>();

export function resetStats(): void {
  for (const k of Object.keys(chaosStats) as (keyof typeof chaosStats)[]) chaosStats[k] = 0;
  pushErrors.clear();
}

export function formatStats(): string {
  const counts = Object.entries(chaosStats).map(([k, v]) => `${k} ${v}`);
  const errors = [...pushErrors].map(([k, v]) => `${k} ${v}`).join(", ");
  return `${counts.join(", ")}; failed pushes: ${errors || "none"}`;
}

export class World {
  readonly server: ServerHost;
  readonly clients: ClientSlot[] = [];
  private readonly violations: string[] = [];
  private readonly trace: string[] = [];
  private readonly t0 = Date.now();

  constructor(
    readonly schedule: Schedule,
    storeKind: StoreKind,
    pglite?: PgliteHost,
  ) {
    this.server = new ServerHost(storeKind, schedule, pglite);
    this.server.onSlowClose = (ms) => this.log(`  NodeServer.close() took ${ms} ms`);
    this.server.onEvent = (msg) => this.log(`  ${msg}`);
  }

  log(msg: string): void {
    this.trace.push(`${String(Date.now() - this.t0).padStart(5)}ms ${msg}`);
  }

  violation(msg: string): void {
    if (this.violations.length < 50) this.violations.push(msg);
  }

  async setup(): Promise<void> {
    await this.server.start();
    for (let i = 0; i < this.schedule.clients; i++) {
      const slot = new ClientSlot(i, this.schedule.vaults[i] ?? "memory", this);
      this.clients.push(slot);
      await slot.open();
    }
    this.log(`setup: ${this.server.kind} server on port ${this.server.port}; clients ${this.clients.map((c) => `${c.i}:${c.kind}`).join(" ")}`);
  }

  /** Resets every client connection at once (the server side of a crash). */
  private cutAll(): void {
    for (const c of this.clients) c.proxy.drop("reset");
  }

  private slot(c: number): ClientSlot {
    return this.clients[c % this.clients.length]!;
  }

  private targets(c: Target): ClientSlot[] {
    return c === "all" ? this.clients : [this.slot(c)];
  }

  /** Picks up to two parents for an event: own earlier events, or anything this client has pulled. */
  private async pickParents(slot: ClientSlot, r: () => number, goodOnly: boolean): Promise<EventHeader[]> {
    if (r() >= 0.4) return [];
    const dead = slot.deadIds();
    let pool: EventHeader[] = slot.own.map((o) => o.header);
    if (r() < 0.35) pool = pool.concat((await slot.vaultEvents()).map((e) => e.header));
    if (goodOnly) pool = pool.filter((h) => !dead.has(h.id));
    if (pool.length === 0) return [];
    const out = new Map<string, EventHeader>();
    const n = r() < 0.7 ? 1 : 2;
    for (let k = 0; k < n; k++) {
      const h = pool[Math.floor(r() * pool.length)]!;
      out.set(h.id, h);
    }
    return [...out.values()];
  }

  /** One good commit through the runtime; records it when the commit resolves. */
  private async commitGood(slot: ClientSlot, parents: EventHeader[], r: () => number): Promise<void> {
    const tag = slot.nextTag();
    const kind = r() < 0.5 ? "chaos.note" : "chaos.task";
    const value = { tag, pad: "x".repeat(Math.floor(r() * 60)) };
    const runtime = slot.runtime;
    try {
      const stored = await runtime.commit(kind, value, { parents });
      slot.own.push({ tag, client: slot.i, header: stored.header, bad: false });
    } catch (err) {
      slot.maybe.add(tag);
      this.log(`  commit ${tag} rejected: ${(err as Error).message}`);
    }
  }

  private async commitBad(slot: ClientSlot, flavor: "oversize" | "forbidden"): Promise<Own> {
    const tag = `${slot.nextTag()}-bad`;
    let stored: StoredEvent;
    if (flavor === "oversize") {
      const json = utf8.encode(JSON.stringify({ tag }));
      const payload = new Uint8Array(MAX_PAYLOAD + 1 + json.length).fill(0x20);
      payload.set(json);
      stored = await slot.runtime.commit("chaos.blob", payload);
    } else {
      stored = await slot.runtime.commit("forbidden.op", { tag });
    }
    const own = { tag, client: slot.i, header: stored.header, bad: true };
    slot.own.push(own);
    return own;
  }

  async run(step: Step): Promise<void> {
    switch (step.t) {
      case "commit": {
        const slot = this.slot(step.c);
        const r = rng(step.seed);
        this.log(`commit ${step.n} on client ${slot.i}${step.burst ? " (burst)" : ""}`);
        if (step.burst) {
          const plans = [];
          for (let k = 0; k < step.n; k++) plans.push(await this.pickParents(slot, r, false));
          await Promise.all(plans.map((p) => this.commitGood(slot, p, r)));
        } else {
          for (let k = 0; k < step.n; k++) await this.commitGood(slot, await this.pickParents(slot, r, false), r);
        }
        return;
      }
      case "bad": {
        const slot = this.slot(step.c);
        const r = rng(step.seed);
        const bad = await this.commitBad(slot, step.flavor);
        this.log(`bad ${step.flavor} ${bad.tag} (${bad.header.id}) on client ${slot.i} + ${step.children} descendants`);
        let parent = bad.header;
        for (let k = 0; k < step.children; k++) {
          const extra = (await this.pickParents(slot, r, true)).filter((h) => h.id !== parent.id);
          const before = slot.own.length;
          await this.commitGood(slot, [parent, ...extra], r);
          const child = slot.own[before];
          if (child) parent = r() < 0.5 ? child.header : parent;
        }
        return;
      }
      case "net":
        for (const s of this.targets(step.c)) s.proxy.setMode(step.mode);
        if (step.mode !== "online") chaosStats[step.mode]++;
        this.log(`net ${step.mode} for ${step.c === "all" ? "all clients" : `client ${this.slot(step.c).i}`}`);
        return;
      case "drop": {
        let n = 0;
        for (const s of this.targets(step.c)) n += s.proxy.drop(step.how);
        this.log(`drop (${step.how}) ${n} connections of ${step.c === "all" ? "all clients" : `client ${this.slot(step.c).i}`}`);
        return;
      }
      case "serverRestart":
        this.log(`server ${step.abrupt ? "crash" : "stop"}${step.reopenDb && this.server.kind === "pglite" ? " (+ database restart)" : ""}, down ${step.downMs} ms`);
        if (this.server.up) chaosStats.serverKills++;
        if (step.reopenDb && this.server.kind === "pglite") chaosStats.databaseRestarts++;
        await this.server.kill(step.reopenDb, step.abrupt ? () => this.cutAll() : undefined);
        this.log("server dead");
        await sleep(step.downMs);
        await this.server.start();
        this.log(`server up again on port ${this.server.port}`);
        return;
      case "serverDown":
        this.log(`server ${step.abrupt ? "crash" : "stop"} (${this.server.up ? "stays down" : "already down"})`);
        if (this.server.up) chaosStats.serverKills++;
        await this.server.kill(false, step.abrupt ? () => this.cutAll() : undefined);
        return;
      case "serverUp":
        if (this.server.up) return this.log("server start (already up)");
        if (step.reopenDb && this.server.kind === "pglite") {
          chaosStats.databaseRestarts++;
          await this.server.kill(true);
        }
        await this.server.start();
        this.log(`server start on port ${this.server.port}`);
        return;
      case "restartClient": {
        const slot = this.slot(step.c);
        const r = rng(step.seed);
        this.log(`restart client ${slot.i} mid-batch: ${step.n} commits${step.awaitCommits ? "" : " (not awaited)"}, close ${step.delayMs} ms into a push`);
        const pushed = slot.nextPush(500);
        const commits: Promise<void>[] = [];
        for (let k = 0; k < step.n; k++) commits.push(this.commitGood(slot, await this.pickParents(slot, r, true), r));
        if (step.awaitCommits) await Promise.all(commits);
        await pushed;
        await sleep(step.delayMs);
        // Close while a push is on the wire: the next one if the last already came back.
        if (slot.inflight === 0) await slot.nextPush(200);
        const inFlight = slot.inflight > 0;
        this.log(`  closing client ${slot.i} (${inFlight ? `${slot.inflight} push in flight` : "no push in flight"})`);
        chaosStats.clientRestarts++;
        if (inFlight) chaosStats.restartsDuringPush++;
        const closing = slot.restart();
        await within(5000, Promise.all(commits), `client ${slot.i}: commits during restart`);
        await closing;
        return;
      }
      case "wait":
        await sleep(step.ms);
        return;
    }
  }

  /** Everything back online, every outbox flushed, every client pulled to the server head. */
  async converge(): Promise<void> {
    this.log("converge: server up, all clients online");
    await this.server.start();
    for (const c of this.clients) c.proxy.setMode("online");
    await Promise.all(
      this.clients.map((c) =>
        within(20_000, c.runtime.flush(), `client ${c.i}: flush()`).catch((e: unknown) => {
          throw new Error(`${(e as Error).message}; status ${JSON.stringify(c.runtime.status())}`);
        }),
      ),
    );
    const head = await this.server.store.head();
    this.log(`converge: flushed; server head ${head}`);
    // Caught up: the cursor is at the head and the pull stream is live again (status says so).
    const live = (c: ClientSlot) => {
      const st = c.runtime.status();
      return st.cursors.remote >= head && st.caughtUp && st.online;
    };
    // Held for a while: a stream cut just before this point may report its failure a moment later.
    let since: number | undefined;
    await until(
      20_000,
      () => `every client's pull to be live at server head ${head}: ${this.clients.map((c) => `client ${c.i} ${JSON.stringify(c.runtime.status())}`).join(", ")}`,
      () => {
        if (!this.clients.every(live)) since = undefined;
        else since ??= Date.now();
        return since !== undefined && Date.now() - since >= SETTLE_MS;
      },
    );
    this.log("converge: every client caught up");
  }

  /** The invariants; every breach is collected, then thrown together with the trace. */
  async checkInvariants(): Promise<void> {
    const v = (msg: string) => this.violation(msg);
    chaosStats.schedules++;
    for (const c of this.clients) {
      chaosStats.events += c.own.length;
      chaosStats.refused += c.own.filter((o) => o.bad).length;
      chaosStats.deadLetters += (await c.vault.deadLetters()).length;
      chaosStats.lostReplies += c.proxy.stats.lostReplies;
      chaosStats.connectionsDropped += c.proxy.stats.dropped + c.proxy.stats.refused;
      if (c.kind === "idb") chaosStats.indexedDbClients++;
    }
    const serverEvents = await all(this.server.store.read());
    const head = await this.server.store.head();

    // The server: gap-free seqs, each id once, every event verifies, parents before children.
    checkLog("server", serverEvents, v, { parentsRequired: true });
    if (head !== serverEvents.length) v(`server head ${head} but ${serverEvents.length} events readable`);
    const onServer = new Map(serverEvents.map((e) => [e.header.id, e]));

    // What must be there: every good event committed through any runtime, and nothing else
    // (a commit that rejected may or may not have stored its event, but then exactly once).
    const good = new Map<string, Own>();
    const deadBy = new Map<number, Set<string>>();
    const maybeTags = new Set<string>();
    for (const c of this.clients) {
      const dead = c.deadIds();
      deadBy.set(c.i, dead);
      for (const o of c.own) if (!dead.has(o.header.id)) good.set(o.header.id, o);
      for (const t of c.maybe) maybeTags.add(t);
    }
    for (const [id, o] of good) if (!onServer.has(id)) v(`lost: ${o.tag} (${id}) committed on client ${o.client} is not on the server`);
    for (const e of serverEvents) {
      const id = e.header.id;
      if (good.has(id)) continue;
      const tag = tagOf(e);
      if (maybeTags.has(tag)) continue;
      const owner = this.clients.find((c) => deadBy.get(c.i)!.has(id));
      v(owner ? `refused event ${tag} (${id}) of client ${owner.i} reached the server` : `phantom event on the server at seq ${e.seq}: ${tag} (${id})`);
    }
    const maybeOnServer = serverEvents.filter((e) => !good.has(e.header.id) && maybeTags.has(tagOf(e))).length;
    if (head !== good.size + maybeOnServer) v(`server head ${head}, but ${good.size} good events were committed (+ ${maybeOnServer} from commits that reported failure)`);
    const tags = new Map<string, number>();
    for (const e of serverEvents) tags.set(tagOf(e), (tags.get(tagOf(e)) ?? 0) + 1);
    for (const [t, n] of tags) if (n > 1) v(`duplicated on the server: payload ${t} stored ${n} times`);

    for (const c of this.clients) {
      const label = `client ${c.i}`;
      const local = await all(c.vault.read());
      checkLog(label, local, v, { parentsRequired: true });
      if ((await c.vault.head()) !== local.length) v(`${label}: vault head ${await c.vault.head()} but ${local.length} events readable`);
      const mine = new Map(local.map((e) => [e.header.id, e]));
      const dead = deadBy.get(c.i)!;
      // Every server event, plus this client's refused ones, and nothing else.
      for (const e of serverEvents) if (!mine.has(e.header.id)) v(`${label}: missing server event seq ${e.seq} ${tagOf(e)}`);
      for (const id of dead) if (!mine.has(id)) v(`${label}: its refused event ${id} is gone from its vault`);
      for (const e of local) {
        if (!onServer.has(e.header.id) && !dead.has(e.header.id)) v(`${label}: vault holds ${tagOf(e)} (${e.header.id}) which is neither on the server nor refused`);
      }
      // Dead letters: exactly the refused events and their descendants.
      const letters = await c.vault.deadLetters();
      const letterIds = new Set(letters.map((d) => d.event.header.id));
      if (letterIds.size !== letters.length) v(`${label}: a dead letter is listed twice`);
      for (const d of letters) {
        if (!dead.has(d.event.header.id)) v(`${label}: unexpected dead letter ${tagOf(d.event)} (${d.event.header.id}): ${d.error.code} ${d.error.message}`);
      }
      for (const id of dead) if (!letterIds.has(id)) v(`${label}: refused event ${id} is not in the dead letters`);
      for (const o of c.own) {
        if (!o.bad) continue;
        const d = letters.find((x) => x.event.header.id === o.header.id);
        const want = o.header.kind === "forbidden.op" ? "permission_denied" : "invalid_argument";
        if (d && d.error.code !== want) v(`${label}: ${o.tag} dead-lettered with ${d.error.code}, expected ${want}`);
      }
      // Outbox drained, status agrees, acks name the server's seqs, the cursor is the server head.
      const pending = await c.vault.outboxSize();
      if (pending !== 0) v(`${label}: ${pending} events still in the outbox`);
      const st = c.runtime.status();
      if (st.pending !== 0 || st.deadLetters !== letters.length) v(`${label}: status says pending ${st.pending}, deadLetters ${st.deadLetters}; vault has ${pending} and ${letters.length}`);
      if (!st.online || !st.caughtUp) v(`${label}: converged, but its status says online ${st.online}, caughtUp ${st.caughtUp}`);
      // The outbox is pushed in commit order: this client's events reach the server in the order it committed them.
      const localSeq = new Map(local.map((e) => [e.header.id, e.seq]));
      const pushedOrder = serverEvents.filter((e) => localSeq.has(e.header.id) && c.own.some((o) => o.header.id === e.header.id));
      for (let k = 1; k < pushedOrder.length; k++) {
        const a = pushedOrder[k - 1]!;
        const b = pushedOrder[k]!;
        if (localSeq.get(a.header.id)! > localSeq.get(b.header.id)!) {
          v(`${label}: its events reached the server out of order: ${tagOf(a)} (local ${localSeq.get(a.header.id)}) at server seq ${a.seq} before ${tagOf(b)} (local ${localSeq.get(b.header.id)}) at ${b.seq}`);
          break;
        }
      }
      const cursor = await c.vault.cursor(REMOTE_CURSOR);
      if (cursor !== head) v(`${label}: remote cursor ${cursor}, server head ${head}`);
      for (const o of c.own) {
        const s = onServer.get(o.header.id);
        if (!s) continue;
        const acked = await c.vault.remoteSeq(o.header.id);
        if (acked !== s.seq) v(`${label}: ${o.tag} acked at remote seq ${acked}, stored at ${s.seq}`);
      }
    }
  }

  /** Closes the clients, then (with `checkServerStreams`) checks that no server stream outlives them. */
  async closeClients(checkServerStreams: boolean): Promise<void> {
    await Promise.all(this.clients.map((c) => c.close()));
    if (!checkServerStreams) return;
    try {
      await until(3000, () => `server subscriptions to end (${this.server.handlers.map((h) => h.subscriptions).join(", ")})`, () => this.server.handlers.every((h) => h.subscriptions === 0));
    } catch (e) {
      this.violation(`leak: ${(e as Error).message}`);
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.close().catch(() => {})));
    await this.server.close();
  }

  /** Throws every violation with the trace, if any. */
  verdict(): void {
    if (this.violations.length === 0) return;
    throw new Error(
      [
        `${this.violations.length} violation(s):`,
        ...this.violations.map((x) => `  - ${x}`),
        "trace:",
        ...this.trace.map((x) => `  ${x}`),
        this.server.internalErrors.length > 0 ? `server internal errors:\n  ${this.server.internalErrors.slice(0, 3).join("\n  ")}` : "",
      ].join("\n"),
    );
  }

  failWith(err: unknown): never {
    const e = err instanceof Error ? err : new Error(String(err));
    const code = err instanceof EventError ? ` [${err.code}]` : "";
    throw new Error(
      [
        `${e.message}${code}`,
        ...(this.violations.length > 0 ? ["violations so far:", ...this.violations.map((x) => `  - ${x}`)] : []),
        "trace:",
        ...this.trace.map((x) => `  ${x}`),
        `clients: ${this.clients.map((c) => `client ${c.i} ${JSON.stringify(c.runtime?.status())} proxy ${JSON.stringify({ mode: c.proxy?.mode, open: c.proxy?.open, ...c.proxy?.stats })}`).join("\n  ")}`,
        this.server.internalErrors.length > 0 ? `server internal errors:\n  ${this.server.internalErrors.slice(0, 3).join("\n  ")}` : "",
      ].join("\n"),
      { cause: err },
    );
  }
}

/** A log (server or vault) in seq order: seqs 1..n, ids unique, digests verify, parents earlier. */
function checkLog(label: string, log: StoredEvent[], v: (msg: string) => void, opts: { parentsRequired: boolean }): void {
  const seqOf = new Map<string, number>();
  log.forEach((e, i) => {
    if (e.seq !== i + 1) v(`${label}: event ${i + 1} has seq ${e.seq}`);
    if (seqOf.has(e.header.id)) v(`${label}: event ${tagOf(e)} (${e.header.id}) stored twice (seq ${seqOf.get(e.header.id)} and ${e.seq})`);
    if (!verifyEvent(e)) v(`${label}: event ${tagOf(e)} at seq ${e.seq} does not verify`);
    for (const p of e.header.parents) {
      const ps = seqOf.get(p.id);
      if (ps === undefined) {
        if (opts.parentsRequired) v(`${label}: event ${tagOf(e)} at seq ${e.seq} comes before (or without) its parent ${p.id}`);
      } else if (!(ps < e.seq)) v(`${label}: parent at seq ${ps} not before child at ${e.seq}`);
    }
    seqOf.set(e.header.id, e.seq);
  });
}

/** One schedule, start to finish; everything is closed whatever happens. */
export interface RunOptions {
  /** Also require every server Subscribe stream to end once the clients are gone (see the leak test). */
  checkServerStreams?: boolean;
}

export async function runSchedule(schedule: Schedule, storeKind: StoreKind, pglite?: PgliteHost, opts: RunOptions = {}): Promise<void> {
  const world = new World(schedule, storeKind, pglite);
  try {
    try {
      await world.setup();
      for (const step of schedule.steps) await world.run(step);
      await world.converge();
      await world.checkInvariants();
      await world.closeClients(opts.checkServerStreams ?? false);
    } catch (err) {
      world.failWith(err);
    }
    world.verdict();
  } finally {
    await world.close();
  }
}

/**
 * Makes one request through Node's fetch. Node 20's bundled undici can hang forever on the very
 * first fetch of a process when that connection is closed before the request is written (no
 * error, no retry). The remote store's deadlines (callTimeoutMs, idleTimeoutMs; see
 * liveness.test.ts) now bound such a hang, but warming fetch up keeps that Node quirk out of the
 * schedules altogether.
 */
export async function warmUpFetch(): Promise<void> {
  const store = createEventStore({ vault: createMemoryVault(), bus: createMemoryBus() });
  const server = await startNodeServer({ handler: createEventStoreHandler({ store }), port: 0 });
  const remote = createRemoteStore({ transport: createWebTransport({ baseUrl: server.url }) });
  try {
    await within(10_000, remote.head(), "warm-up request");
  } finally {
    await remote.close();
    await server.close();
  }
}
