import { afterEach, describe, expect, it } from "vitest";
import { createEvent, uuidv4 } from "../../core/index.js";
import { busContract, collect, makeEvents, toStored } from "../_contract/index.js";
import { type BroadcastChannelBus, createBroadcastChannelBus } from "./index.js";

// Node has BroadcastChannel: instances in one process talk as tabs do. e2e/browser covers real tabs.
const open: BroadcastChannelBus[] = [];
const bus = (name: string) => {
  const b = createBroadcastChannelBus({ name });
  open.push(b);
  return b;
};
afterEach(() => {
  for (const b of open.splice(0)) b.close();
});

describe("broadcast-channel bus", () => {
  busContract({ test: (name, fn) => it(name, fn) }, () => {
    const b = createBroadcastChannelBus({ name: uuidv4() });
    return { bus: b, close: () => b.close() };
  });

  it("delivers what one context publishes to the others, once, in its order", async () => {
    const name = uuidv4();
    const [a, b, c] = [bus(name), bus(name), bus(name)];
    const atB = collect(b.subscribe());
    const atC = collect(c.subscribe({ kinds: ["test.*"] }));
    const atA = collect(a.subscribe());
    const events = toStored(makeEvents(50));
    await a.publish(events.slice(0, 20));
    await a.publish(events.slice(20));
    for (const [who, col] of [["b", atB], ["c", atC], ["a", atA]] as const) {
      await col.until(`${who} gets 50`, (x) => x.seqs().length >= 50);
    }
    await new Promise((r) => setTimeout(r, 50)); // nothing more may arrive
    for (const col of [atA, atB, atC]) expect(col.seqs()).toEqual(events.map((e) => e.seq));
    expect(b.stats()).toEqual({ received: 50, rejected: 0 });
    expect(a.stats()).toEqual({ received: 0, rejected: 0 });
  });

  it("ignores and counts foreign and malformed messages, and keeps working", async () => {
    const name = uuidv4();
    const b = bus(name);
    const got = collect(b.subscribe());
    const raw = new BroadcastChannel(`toka-events:${name}`);
    const good = toStored(makeEvents(1))[0]!;
    const forged = { ...good, header: { ...good.header, id: "not-a-uuid" } };
    for (const m of [
      "hello",
      null,
      { t: "other" },
      { t: "toka-events/bus/v1" },
      { t: "toka-events/bus/v1", events: [] },
      { t: "toka-events/bus/v1", events: [{ seq: 1 }] },
      { t: "toka-events/bus/v1", events: [forged] },
      { t: "toka-events/bus/v1", events: [{ ...good, seq: 0 }] },
      { t: "toka-events/bus/v1", events: [{ ...good, payload: "text" }] },
    ]) {
      raw.postMessage(m);
    }
    raw.postMessage({ t: "toka-events/bus/v1", events: [good] });
    await got.until("the good event", (x) => x.seqs().length === 1);
    expect(b.stats()).toEqual({ received: 1, rejected: 9 });
    expect(got.messages).toHaveLength(1);
    raw.close();
  });

  it("refuses a missing name and runs only where BroadcastChannel exists", () => {
    expect(() => createBroadcastChannelBus({ name: "" })).toThrow(expect.objectContaining({ code: "invalid_argument" }));
    const saved = globalThis.BroadcastChannel;
    try {
      (globalThis as { BroadcastChannel?: unknown }).BroadcastChannel = undefined;
      expect(() => createBroadcastChannelBus({ name: "x" })).toThrow(expect.objectContaining({ code: "unimplemented" }));
    } finally {
      globalThis.BroadcastChannel = saved;
    }
  });

  it("a closed bus stops receiving and refuses publish", async () => {
    const name = uuidv4();
    const [a, b] = [bus(name), bus(name)];
    b.close();
    expect(() => b.publish(toStored([createEvent({ kind: "x", payload: new Uint8Array(1) })]))).toThrow(
      expect.objectContaining({ code: "failed_precondition" }),
    );
    await a.publish(toStored(makeEvents(1)));
    await new Promise((r) => setTimeout(r, 20));
    expect(b.stats().received).toBe(0);
  });
});
