import { describe, expect, it, vi } from "vitest";
import { EventError } from "./errors.js";
import { checkQueueOptions, createSubscriberQueue, DEFAULT_BUFFER_SIZE, type SubscriberQueue } from "./subscriber-queue.js";
import type { BusMessage, StoredEvent } from "./types.js";

const ev = (seq: number): BusMessage => ({ type: "event", event: { seq } as StoredEvent });
const caughtUp = (seq: number): BusMessage => ({ type: "caught-up", seq });
const gap = (from: number, to: number): BusMessage => ({ type: "gap", from, to });

/** Everything queued right now, without waiting for more. */
async function queued(q: SubscriberQueue, n: number): Promise<BusMessage[]> {
  const out: BusMessage[] = [];
  for (let i = 0; i < n; i++) {
    const r = await q.next();
    if (r.done) break;
    out.push(r.value);
  }
  return out;
}

const flush = () => new Promise((r) => setTimeout(r, 0));

describe("createSubscriberQueue", () => {
  it("delivers in order and hands a push straight to a waiting consumer", async () => {
    const q = createSubscriberQueue();
    q.push(ev(1));
    q.push(ev(2));
    expect(await queued(q, 2)).toEqual([ev(1), ev(2)]);
    const waiting = q.next();
    q.push(ev(3));
    expect(await waiting).toEqual({ done: false, value: ev(3) });
  });

  it("takeQueued hands over what is queued, up to max, without waiting", async () => {
    const q = createSubscriberQueue();
    expect(q.takeQueued(10)).toEqual([]);
    q.push(ev(1));
    q.push(caughtUp(1));
    q.push(ev(2));
    expect(q.takeQueued(2)).toEqual([ev(1), caughtUp(1)]);
    expect(q.takeQueued(0)).toEqual([]);
    expect(q.takeQueued(5)).toEqual([ev(2)]);
    const waiting = q.next(); // nothing queued: the next push goes to this waiter, not the queue
    q.push(ev(3));
    expect(await waiting).toEqual({ done: false, value: ev(3) });
    expect(q.takeQueued(5)).toEqual([]);
    for (const bad of [-1, 1.5, Number.NaN, "2" as unknown as number]) {
      expect(() => q.takeQueued(bad)).toThrow(expect.objectContaining({ name: "EventError", code: "invalid_argument" }));
    }
  });

  it("takeQueued makes room for blocked publishers, and an ended queue still finishes after it", async () => {
    const q = createSubscriberQueue({ bufferSize: 2, overflow: "block" });
    q.push(ev(1));
    q.push(ev(2));
    const parked = q.push(ev(3));
    expect(parked).toBeInstanceOf(Promise);
    expect(q.takeQueued(2)).toEqual([ev(1), ev(2)]);
    await parked;
    q.end(new EventError("unavailable", "gone"));
    expect(q.takeQueued(5)).toEqual([ev(3)]);
    await expect(q.next()).rejects.toMatchObject({ code: "unavailable" });
    q.close();
    expect(q.takeQueued(5)).toEqual([]);
  });

  it("block: a push into a full queue returns a promise that settles when the consumer pulls", async () => {
    const q = createSubscriberQueue({ bufferSize: 2, overflow: "block" });
    expect(q.push(ev(1))).toBeUndefined();
    expect(q.push(ev(2))).toBeUndefined();
    let settled3 = false;
    void q.push(ev(3))!.then(() => (settled3 = true));
    const p4 = q.push(ev(4));
    expect(q.push(caughtUp(4))).toBeInstanceOf(Promise); // waits behind the parked events, keeping order
    await flush();
    expect(settled3).toBe(false);
    await q.next();
    await flush();
    expect(settled3).toBe(true);
    await q.next();
    await p4;
    expect(await queued(q, 3)).toEqual([ev(3), ev(4), caughtUp(4)]);
  });

  it("drop-oldest: replaces dropped events with a gap naming their seqs, merging consecutive drops", async () => {
    const q = createSubscriberQueue({ bufferSize: 2, overflow: "drop-oldest" });
    for (let s = 1; s <= 5; s++) expect(q.push(ev(s))).toBeUndefined();
    expect(await queued(q, 3)).toEqual([gap(1, 3), ev(4), ev(5)]);
    q.push(ev(6));
    q.push(caughtUp(6));
    q.push(ev(7));
    q.push(ev(8));
    q.push(ev(9));
    expect(await queued(q, 5)).toEqual([gap(6, 6), caughtUp(6), gap(7, 7), ev(8), ev(9)]);
  });

  it("drop-oldest: merging a drop into a pushed gap leaves the pushed message object unchanged", async () => {
    // A bus may push one message object to many queues; a merge must not change it for the others.
    const shared = gap(2, 3);
    const a = createSubscriberQueue({ bufferSize: 1, overflow: "drop-oldest" });
    const b = createSubscriberQueue({ bufferSize: 1, overflow: "drop-oldest" });
    for (const q of [a, b]) q.push(shared);
    [ev(4), ev(5)].forEach((m) => a.push(m));
    expect(await queued(a, 2)).toEqual([gap(2, 4), ev(5)]);
    expect(await queued(b, 1)).toEqual([gap(2, 3)]);
    expect(shared).toEqual(gap(2, 3));
  });

  it("error: ends with resource_exhausted after the buffered messages, and ignores later pushes", async () => {
    const onClose = vi.fn();
    const q = createSubscriberQueue({ bufferSize: 2, overflow: "error", onClose });
    q.push(ev(1));
    q.push(ev(2));
    q.push(ev(3));
    expect(q.closed).toBe(true);
    expect(onClose).toHaveBeenCalledOnce();
    q.push(ev(4));
    expect(await queued(q, 2)).toEqual([ev(1), ev(2)]);
    const err = await q.next().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EventError);
    expect(err).toMatchObject({ code: "resource_exhausted" });
    expect(await q.next()).toEqual({ done: true, value: undefined });
  });

  it("never drops control messages nor counts them against the buffer", async () => {
    const dropping = createSubscriberQueue({ bufferSize: 1, overflow: "drop-oldest" });
    [caughtUp(0), ev(1), gap(2, 3), ev(4), ev(5)].forEach((m) => dropping.push(m));
    expect(await queued(dropping, 4)).toEqual([caughtUp(0), gap(1, 1), gap(2, 4), ev(5)]);
    const erroring = createSubscriberQueue({ bufferSize: 1, overflow: "error" });
    [ev(1), caughtUp(1), gap(2, 2)].forEach((m) => erroring.push(m));
    expect(erroring.closed).toBe(false);
    expect(await queued(erroring, 3)).toEqual([ev(1), caughtUp(1), gap(2, 2)]);
    const blocking = createSubscriberQueue({ bufferSize: 1, overflow: "block" });
    expect(blocking.push(ev(1))).toBeUndefined();
    expect(blocking.push(caughtUp(1))).toBeUndefined();
  });

  it("close() releases parked publishers, drops what is queued and ends a waiting consumer", async () => {
    const onClose = vi.fn();
    const q = createSubscriberQueue({ bufferSize: 1, overflow: "block", onClose });
    q.push(ev(1));
    const parked = q.push(ev(2));
    q.close();
    await expect(parked).resolves.toBeUndefined();
    expect(await q.next()).toEqual({ done: true, value: undefined });
    const waiting = createSubscriberQueue();
    const next = waiting.next();
    waiting.close();
    expect(await next).toEqual({ done: true, value: undefined });
    q.close();
    expect(onClose).toHaveBeenCalledOnce();
  });

  it("end() delivers what is queued, then finishes (with the error if given)", async () => {
    const q = createSubscriberQueue();
    q.push(ev(1));
    q.end();
    q.push(ev(2));
    expect(await queued(q, 3)).toEqual([ev(1)]);
    const failing = createSubscriberQueue();
    const next = failing.next();
    failing.end(new EventError("unavailable", "gone"));
    await expect(next).rejects.toMatchObject({ code: "unavailable" });
  });

  it("an aborted signal ends iteration and removes its listener", async () => {
    const ac = new AbortController();
    const remove = vi.spyOn(ac.signal, "removeEventListener");
    const onClose = vi.fn();
    const q = createSubscriberQueue({ signal: ac.signal, onClose });
    const next = q.next();
    ac.abort();
    expect(await next).toEqual({ done: true, value: undefined });
    expect(onClose).toHaveBeenCalledOnce();
    expect(remove).toHaveBeenCalledWith("abort", expect.any(Function));
    const early = createSubscriberQueue({ signal: AbortSignal.abort(), onClose });
    expect(early.closed).toBe(true);
    expect(await early.next()).toEqual({ done: true, value: undefined });
    expect(onClose).toHaveBeenCalledTimes(2);
  });

  it("removes its abort listener when it ends or closes without an abort", () => {
    for (const finish of [(q: SubscriberQueue) => q.close(), (q: SubscriberQueue) => q.end()]) {
      const ac = new AbortController();
      const add = vi.spyOn(ac.signal, "addEventListener");
      const remove = vi.spyOn(ac.signal, "removeEventListener");
      finish(createSubscriberQueue({ signal: ac.signal }));
      expect(remove).toHaveBeenCalledWith("abort", add.mock.calls[0]![1]);
    }
  });

  it("ends on break, return() and asyncDispose, and allows one consumer at a time", async () => {
    const q = createSubscriberQueue();
    q.push(ev(1));
    q.push(ev(2));
    for await (const _ of q) break;
    expect(q.closed).toBe(true);
    expect(await q.next()).toEqual({ done: true, value: undefined });
    const d = createSubscriberQueue();
    await d[Symbol.asyncDispose]();
    expect(d.closed).toBe(true);
    const busy = createSubscriberQueue();
    void busy.next();
    await expect(busy.next()).rejects.toBeInstanceOf(TypeError);
  });
});

describe("checkQueueOptions", () => {
  it("fills in the defaults and rejects bad values with invalid_argument", () => {
    expect(checkQueueOptions({})).toEqual({ bufferSize: DEFAULT_BUFFER_SIZE, overflow: "drop-oldest" });
    const invalid = expect.objectContaining({ name: "EventError", code: "invalid_argument" });
    for (const opts of [{ bufferSize: 0 }, { bufferSize: -1 }, { bufferSize: 1.5 }, { bufferSize: Infinity }, { overflow: "drop" }]) {
      expect(() => checkQueueOptions(opts as never)).toThrow(invalid);
      expect(() => createSubscriberQueue(opts as never)).toThrow(invalid);
    }
  });
});
