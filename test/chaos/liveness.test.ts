// Liveness over a connection that goes silent. A half-open TCP connection (a NAT entry that
// timed out, a phone moving from Wi-Fi to cellular, a dead middlebox) delivers nothing and never
// closes. The server sends Subscribe heartbeats exactly so that a client can tell, but the remote
// store ignores them and neither it nor the runtime puts a deadline on anything: a pull stream or
// a Commit that went silent waits forever, with the status still saying online/caught up. The
// chaos run hit this through a Node 20 fetch quirk (its first request of a process can hang when
// the connection closes before the request is written; harness.ts warms fetch up to avoid it);
// the fault proxy's "stalled" mode reproduces it on purpose. The failing chaos schedule (seed
// -840102798, path 0, first run of a worker, before harness.ts warmed fetch up; the schedule
// arbitraries have grown fields since, so here it is literally):
//   {"clients":2,"vaults":["memory","memory","memory"],"batchMax":1,"batchDelayMs":0,
//    "subscriberBuffer":2,"maxPageEvents":1000,"steps":[{"t":"drop","c":"all","how":"reset"},
//    {"t":"restartClient","c":1,"n":1,"delayMs":1,"awaitCommits":true,"seed":2147483638},
//    {"t":"serverRestart","downMs":10,"reopenDb":false}]}
// Client 0's first pull request hit a connection the proxy closed (server being killed) before
// fetch wrote the request; that fetch never settled, so client 0 never pulled again: "timed out
// after 20000 ms waiting for every client's remote cursor to reach server head 1: client 0 at 0".
//
// Both tests failed on 9db1592 and earlier (they waited forever); bea1f83 added the remote
// store's idleTimeoutMs and callTimeoutMs, and they pass since.
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { createRemoteStore, createWebTransport } from "../../src/adapters/connect/client/index.js";
import { type NodeServer, startNodeServer } from "../../src/adapters/connect/node/index.js";
import { createEventStoreHandler } from "../../src/adapters/connect/server/index.js";
import { createMemoryBus, createMemoryVault } from "../../src/adapters/memory/index.js";
import { createEventStore, type EventStore, type LocalVault } from "../../src/core/index.js";
import { createEventRuntime, type EventRuntime } from "../../src/runtime/index.js";
import { type FaultProxy, startFaultProxy } from "./fault-proxy.js";
import { warmUpFetch, within } from "./harness.js";

/** The server's heartbeat interval here: a live stream is never silent for longer. */
const HEARTBEAT_MS = 100;

/**
 * The liveness options: a Subscribe stream that receives nothing, not even a heartbeat, for `idleTimeoutMs` ends with
 * `unavailable` (the puller then resubscribes); a unary call (Commit, Read, …) gets a deadline of
 * `callTimeoutMs` and fails with `deadline_exceeded` (retryable: the pusher retries).
 */
const LIVENESS = { idleTimeoutMs: 5 * HEARTBEAT_MS, callTimeoutMs: 1000 };

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f().catch(() => {});
});

async function rig(): Promise<{ store: EventStore; server: NodeServer }> {
  await warmUpFetch();
  const store = createEventStore({ vault: createMemoryVault(), bus: createMemoryBus() });
  const server = await startNodeServer({ handler: createEventStoreHandler({ store, limits: { heartbeatMs: HEARTBEAT_MS } }), port: 0 });
  cleanup.push(() => server.close());
  return { store, server };
}

async function client(server: NodeServer, onPush?: () => void): Promise<{ runtime: EventRuntime; vault: LocalVault; proxy: FaultProxy }> {
  const proxy = await startFaultProxy({ port: server.port });
  const raw = createRemoteStore({ transport: createWebTransport({ baseUrl: proxy.url }), ...LIVENESS });
  const remote: EventStore = {
    ...raw,
    commit: (events, opts) => {
      onPush?.();
      return raw.commit(events, opts);
    },
  };
  const vault = createMemoryVault();
  const runtime = createEventRuntime({ vault, remote, idleMs: 30, retry: { baseMs: 5, maxMs: 50 } });
  cleanup.push(() => proxy.close(), () => raw.close(), () => within(5000, runtime.close(), "runtime.close()"));
  return { runtime, vault, proxy };
}

async function until(ms: number, check: () => boolean | Promise<boolean>): Promise<boolean> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) return false;
    await sleep(10);
  }
  return true;
}

describe("sync over a connection that goes silent", () => {
  it("a pull stream that went silent is noticed and reopened", { timeout: 20_000 }, async () => {
    const { server } = await rig();
    const a = await client(server);
    const b = await client(server);
    expect(await until(5000, () => a.runtime.status().caughtUp)).toBe(true);

    // A's connection goes silent for good; the network itself is fine again at once.
    a.proxy.setMode("stalled");
    a.proxy.setMode("online");
    const e = await b.runtime.commit("chaos.note", { tag: "after-the-stall" });
    await within(5000, b.runtime.flush(), "B flush()");

    const pulled = await until(5000, async () => (await a.vault.header(e.header.id)) !== undefined);
    expect(pulled, `A never pulled B's event; A's status: ${JSON.stringify(a.runtime.status())}`).toBe(true);
  });

  it("a push that went silent is retried", { timeout: 20_000 }, async () => {
    const { store, server } = await rig();
    let pushes = 0;
    const a = await client(server, () => pushes++);
    expect(await until(5000, () => a.runtime.status().caughtUp)).toBe(true);

    a.proxy.setMode("stalled");
    const e = await a.runtime.commit("chaos.note", { tag: "pushed-into-silence" });
    expect(await until(2000, () => pushes > 0)).toBe(true);
    a.proxy.setMode("online");

    const flushed = await within(5000, a.runtime.flush(), "A flush()").then(
      () => true,
      () => false,
    );
    expect(flushed, `A's outbox never drained after ${pushes} push(es); status ${JSON.stringify(a.runtime.status())}`).toBe(true);
    expect(await store.header(e.header.id)).toBeDefined();
  });
});
