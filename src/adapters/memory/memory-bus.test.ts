import { describe, expect, it } from "vitest";
import { busContract, makeEvents, toStored } from "../_contract/index.js";
import { createMemoryBus } from "./memory-bus.js";

const closedBus = expect.objectContaining({ name: "EventError", code: "failed_precondition" });

describe("memory bus", () => {
  busContract({ test: (name, fn) => it(name, fn) }, () => {
    const bus = createMemoryBus();
    return { bus, close: () => bus.close() };
  });

  it("forgets a subscription however it ends", async () => {
    const bus = createMemoryBus();
    const ac = new AbortController();
    const closed = bus.subscribe();
    bus.subscribe({ signal: ac.signal });
    const broken = bus.subscribe();
    bus.subscribe({ bufferSize: 1, overflow: "error" });
    bus.subscribe({ signal: AbortSignal.abort() });
    expect(bus.subscriberCount).toBe(4);
    closed.close();
    ac.abort();
    bus.publish(toStored(makeEvents(2)));
    for await (const _ of broken) break;
    expect(bus.subscriberCount).toBe(0);
  });

  it("close() ends every subscription after its queued messages and refuses further use", async () => {
    const bus = createMemoryBus();
    const sub = bus.subscribe();
    bus.publish(toStored(makeEvents(2)));
    bus.close();
    const seqs: number[] = [];
    for await (const m of sub) if (m.type === "event") seqs.push(m.event.seq);
    expect(seqs).toEqual([1, 2]);
    expect(bus.subscriberCount).toBe(0);
    expect(() => bus.publish([])).toThrow(closedBus);
    expect(() => bus.subscribe()).toThrow(closedBus);
  });

  it("releases a publish parked on a block subscriber when the bus closes", async () => {
    const bus = createMemoryBus();
    bus.subscribe({ bufferSize: 1, overflow: "block" });
    const parked = bus.publish(toStored(makeEvents(3)));
    expect(parked).toBeInstanceOf(Promise);
    await bus[Symbol.asyncDispose]();
    await expect(parked).resolves.toBeUndefined();
  });
});
