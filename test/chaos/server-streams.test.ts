// Server Subscribe slots must be freed when a stream's connection dies. The chaos run found
// server streams that outlived their clients forever (first seen at seed -539658249 under the
// first version of the schedule arbitraries, with a "lossy" client: connections that die as the
// server answers); f84f0de fixed it meanwhile (found over h2c); this keeps the HTTP/1.1 case.
// The mechanism, reproduced here on purpose:
//
// 1. events are flowing to a Subscribe stream when its TCP connection is reset;
// 2. the handler's generator yields the next message before Node reports the close, and
//    connect-node writes it: `ServerResponse.write()` on a destroyed socket returns false and
//    never calls back, and connect-node's write() waits for "drain" or "error" only, so it waits
//    forever and never resumes (or returns) the generator;
// 3. the handler used to give back its per-principal count (and `subscriptions`) only in the
//    generator's `finally`, which then never ran.
//
// Every such stream kept a slot of `maxSubscriptions` (per principal; without auth every client
// is "anonymous", so they all share one budget): after enough flaky connections the server
// refused every Subscribe with resource_exhausted, for good, and every client's puller retried
// forever without ever pulling again.
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { createRemoteStore, createWebTransport } from "../../src/adapters/connect/client/index.js";
import { startNodeServer } from "../../src/adapters/connect/node/index.js";
import { createEventStoreHandler } from "../../src/adapters/connect/server/index.js";
import { createMemoryBus, createMemoryVault } from "../../src/adapters/memory/index.js";
import { type BusMessage, createEvent, createEventStore, EventError } from "../../src/core/index.js";
import { startFaultProxy } from "./fault-proxy.js";
import { warmUpFetch, within } from "./harness.js";

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f().catch(() => {});
});

describe("server Subscribe slots", () => {
  it("a stream whose connection is reset while events flow frees its slot", { timeout: 30_000 }, async () => {
    await warmUpFetch();
    const MAX = 3;
    const store = createEventStore({ vault: createMemoryVault(), bus: createMemoryBus() });
    const handler = createEventStoreHandler({ store, limits: { maxSubscriptions: MAX, heartbeatMs: 100 } });
    const server = await startNodeServer({ handler, port: 0 });
    const proxy = await startFaultProxy({ port: server.port });
    const remote = createRemoteStore({ transport: createWebTransport({ baseUrl: proxy.url }) });
    cleanup.push(() => server.close(), () => proxy.close(), () => remote.close());

    // A steady trickle of commits, so that streams are mid-write when their connections die.
    let writing = true;
    const writer = (async () => {
      while (writing) {
        await store.commit([createEvent({ kind: "chaos.tick", payload: new Uint8Array(8) })]);
        await sleep(1);
      }
    })();
    let rounds = 0;
    try {
      for (; rounds < 200 && handler.subscriptions < MAX; rounds++) {
        const sub = remote.subscribe({ after: await store.head() });
        await within(5000, sub.next(), "first message").catch(() => {});
        proxy.drop("reset");
        await sleep(5);
        sub.close();
        await sleep(15);
      }
    } finally {
      writing = false;
      await writer;
    }

    // Every client is gone: the server must count no stream.
    const end = Date.now() + 2000;
    while (handler.subscriptions > 0 && Date.now() < end) await sleep(10);
    const stuck = handler.subscriptions;

    // What it costs: a new client's Subscribe.
    const sub = remote.subscribe({ after: 0, bufferSize: 10_000 });
    const first = await within(5000, sub.next(), "fresh subscription").then(
      (r: IteratorResult<BusMessage>) => (r.done ? "ended" : r.value.type),
      (e: unknown) => (e instanceof EventError ? `${e.code}: ${e.message}` : String(e)),
    );
    sub.close();

    expect(stuck, `after ${rounds} reset streams the server still counts ${stuck} open; a new Subscribe got: ${first}`).toBe(0);
    expect(first).toBe("event");
  });
});
