import { createRouterTransport } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";
import { createRemoteStore } from "../adapters/connect/client/index.js";
import { createEventStoreHandler } from "../adapters/connect/server/index.js";
import { createMemoryBus, createMemoryVault } from "../adapters/memory/index.js";
import { createEventStore, type EventStore, text } from "../core/index.js";
import { createEventRuntime, type EventRuntime } from "./index.js";

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

function server(): EventStore {
  return createEventStore({ vault: createMemoryVault(), bus: createMemoryBus() });
}

function client(store: EventStore, extra: Partial<Parameters<typeof createEventRuntime>[0]> = {}): EventRuntime {
  const transport = createRouterTransport(createEventStoreHandler({ store }).routes);
  const rt = createEventRuntime({ vault: createMemoryVault(), bus: createMemoryBus(), remote: createRemoteStore({ transport }), idleMs: 50, retry: { baseMs: 5, maxMs: 50 }, ...extra });
  open.push(rt);
  return rt;
}

describe("event runtime", () => {
  it("commits locally, pushes once, and every client pulls everything", async () => {
    const store = server();
    const [a, b] = [client(store), client(store)];
    const first = await a.commit("chat.msg", { text: "hi" });
    const reply = await b.commit("chat.msg", text.encode("raw"), { parents: [] });
    await a.commit("chat.msg", { text: "again" }, { parents: [first.header] });
    await Promise.all([a.flush(), b.flush()]);
    expect(await store.head()).toBe(3);
    for (const rt of [a, b]) {
      await expect.poll(() => rt.status().cursors.remote).toBe(3);
      expect(rt.status()).toMatchObject({ pending: 0, deadLetters: 0, online: true, caughtUp: true });
    }
    expect(reply.payload).toEqual(text.encode("raw"));
    expect(a.metrics().counters["toka.runtime.events.pushed"]).toBe(2);
  });
});
