import { describe, expect, it } from "vitest";
import { createEventStore } from "../../core/index.js";
import { collect, historyContract, makeEvents } from "../_contract/index.js";
import { createMemoryBus } from "./memory-bus.js";
import { createMemoryVault } from "./memory-vault.js";

/** The memory vault and bus joined by createEventStore: persist, then publish; subscribeWithHistory. */
function memoryStore() {
  const vault = createMemoryVault();
  const bus = createMemoryBus();
  return { bus, store: createEventStore({ vault, bus }) };
}

describe("subscribeWithHistory over the memory vault and bus", () => {
  historyContract({ test: (name, fn) => it(name, fn) }, () => {
    const { bus, store } = memoryStore();
    const close = async () => {
      bus.close();
      await store.close();
    };
    return { ...store, close };
  });

  it("drops its live bus subscription however it ends", async () => {
    const { bus, store } = memoryStore();
    await store.commit(makeEvents(2));
    const ac = new AbortController();
    const open = collect(store.subscribe());
    const aborted = collect(store.subscribe({ signal: ac.signal }));
    await open.until("caught-up", (c) => c.messages.length >= 3);
    expect(bus.subscriberCount).toBe(2);
    ac.abort();
    for await (const _ of store.subscribe()) break;
    await aborted.until("the end", (c) => c.done);
    await new Promise((r) => setTimeout(r, 10));
    expect(bus.subscriberCount).toBe(1);
    bus.close();
    await open.until("the end on bus close", (c) => c.done);
    expect(open.error).toBeUndefined();
    expect(bus.subscriberCount).toBe(0);
  });
});
