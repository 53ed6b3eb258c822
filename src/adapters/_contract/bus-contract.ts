// The bus behaviour of DESIGN §3 (delivery, filters, back-pressure, ending), as one suite every bus runs.
import type { BusMessage, EventBus, SubscribeOptions } from "../../core/index.js";
import { deepEqual, equal, ok, rejectsWithCode } from "./assert.js";
import {
  assertSameEvent,
  collect,
  type ContractRunner,
  isPending,
  makeEvent,
  makeEvents,
  pause,
  subjectTest,
  toStored,
  within,
} from "./harness.js";

/** A bus to test, and how to shut it down after the test. */
export interface BusUnderTest {
  bus: EventBus;
  close(): Promise<void> | void;
}

/** Pulls one message, failing if none comes. */
async function pull(sub: AsyncIterator<BusMessage>, what: string): Promise<BusMessage | undefined> {
  const r = await within(sub.next(), what);
  return r.done ? undefined : r.value;
}

const event = (seq: number) => ({ type: "event", seq });
const brief = (m: BusMessage | undefined) =>
  m === undefined ? undefined : m.type === "event" ? { type: "event", seq: m.event.seq } : m;

/**
 * Runs the bus contract: ordered delivery, kind filters, `after`, the three overflow policies,
 * ending a subscription (close, break, abort) and option validation. `make` gives a fresh bus.
 *
 * @example
 * busContract({ test: (name, fn) => it(name, fn) }, () => { const bus = createMemoryBus(); return { bus, close: bus.close }; });
 */
export function busContract(run: ContractRunner, make: () => Promise<BusUnderTest> | BusUnderTest): void {
  const withBus = subjectTest(run, "bus", make);
  const test = (name: string, fn: (bus: EventBus) => Promise<void>) => withBus(name, (t) => fn(t.bus));

  test("delivers published events in order to every subscriber", async (bus) => {
    const subs = [collect(bus.subscribe()), collect(bus.subscribe()), collect(bus.subscribe({ bufferSize: 1, overflow: "block" }))];
    const events = toStored(makeEvents(6));
    await bus.publish(events.slice(0, 2));
    await bus.publish(events.slice(2));
    for (const [i, c] of subs.entries()) {
      await c.until(`subscriber ${i} to get 6 events`, () => c.seqs().length >= 6);
      deepEqual(c.seqs(), [1, 2, 3, 4, 5, 6], `subscriber ${i} seqs`);
      c.messages.forEach((m, k) => {
        assertSameEvent(m.type === "event" ? m.event : undefined, events[k]!, `subscriber ${i} event ${k}`);
      });
    }
  });

  test("kind filters select what a subscriber receives", async (bus) => {
    const kinds = ["chat.msg", "note.add", "chat.room.open", "note.add@2", "chat", "chat.msg@3"];
    const expected: [string[], number[]][] = [
      [["chat.*"], [1, 3, 6]],
      [["note.add"], [2, 4]],
      [["note.add@2"], [4]],
      [["chat", "note.add@2"], [4, 5]],
      [["*"], [1, 2, 3, 4, 5, 6]],
      [[], [1, 2, 3, 4, 5, 6]],
    ];
    const subs = expected.map(([k]) => collect(bus.subscribe({ kinds: k })));
    await bus.publish(toStored(kinds.map((kind) => makeEvent({ kind }))));
    for (const [i, [k, seqs]] of expected.entries()) {
      await subs[i]!.until(`kinds ${k.join(",")} to get ${seqs.length} events`, (c) => c.seqs().length >= seqs.length);
    }
    await pause(20);
    for (const [i, [k, seqs]] of expected.entries()) deepEqual(subs[i]!.seqs(), seqs, `kinds [${k.join(", ")}]`);
  });

  test("after skips events up to that seq", async (bus) => {
    const c = collect(bus.subscribe({ after: 3 }));
    await bus.publish(toStored(makeEvents(6)));
    await c.until("events after 3", () => c.seqs().length >= 3);
    await pause(20);
    deepEqual(c.seqs(), [4, 5, 6], "seqs");
  });

  test("drop-oldest replaces lost events with one gap message", async (bus) => {
    const sub = bus.subscribe({ bufferSize: 2, overflow: "drop-oldest" });
    equal(await bus.publish(toStored(makeEvents(5))), undefined, "publish does not wait");
    const got = [await pull(sub, "gap"), await pull(sub, "event 4"), await pull(sub, "event 5")].map(brief);
    deepEqual(got, [{ type: "gap", from: 1, to: 3 }, event(4), event(5)], "messages");
    await bus.publish(toStored(makeEvents(1), 6));
    deepEqual(brief(await pull(sub, "event 6")), event(6), "delivery goes on after a gap");
    sub.close();
  });

  test("block makes publish wait until the consumer pulls", async (bus) => {
    const sub = bus.subscribe({ bufferSize: 1, overflow: "block" });
    const published = Promise.resolve(bus.publish(toStored(makeEvents(2))));
    ok(await isPending(published), "publish waits while the subscriber is full");
    deepEqual(brief(await pull(sub, "event 1")), event(1), "first");
    await within(published, "publish to settle once the consumer pulled");
    deepEqual(brief(await pull(sub, "event 2")), event(2), "second");
    sub.close();
  });

  test("error ends the subscription with resource_exhausted after the buffered messages", async (bus) => {
    const sub = bus.subscribe({ bufferSize: 2, overflow: "error" });
    await bus.publish(toStored(makeEvents(3)));
    deepEqual([brief(await pull(sub, "event 1")), brief(await pull(sub, "event 2"))], [event(1), event(2)], "buffered");
    await rejectsWithCode(() => within(sub.next(), "the overflow error"), "resource_exhausted", "overflow");
    equal((await within(sub.next(), "the end")).done, true, "ended");
    await bus.publish(toStored(makeEvents(1), 4));
  });

  test("close() ends the subscription; a closed subscription receives nothing", async (bus) => {
    const sub = bus.subscribe();
    const waiting = sub.next();
    sub.close();
    equal((await within(waiting, "a pending next() to end")).done, true, "pending next() ends");
    sub.close();
    await bus.publish(toStored(makeEvents(2)));
    equal((await within(sub.next(), "next() after close")).done, true, "nothing after close");
    const disposed = bus.subscribe();
    await disposed[Symbol.asyncDispose]();
    equal((await within(disposed.next(), "next() after dispose")).done, true, "asyncDispose ends it");
  });

  test("breaking out of for await ends the subscription", async (bus) => {
    const sub = bus.subscribe();
    await bus.publish(toStored(makeEvents(2)));
    const seen: number[] = [];
    for await (const m of sub) {
      if (m.type === "event") seen.push(m.event.seq);
      break;
    }
    await bus.publish(toStored(makeEvents(1), 3));
    deepEqual(seen, [1], "one message before break");
    equal((await within(sub.next(), "next() after break")).done, true, "ended by break");
  });

  test("an AbortSignal ends the subscription", async (bus) => {
    const ac = new AbortController();
    const sub = bus.subscribe({ signal: ac.signal });
    const waiting = sub.next();
    ac.abort();
    equal((await within(waiting, "a pending next() to end on abort")).done, true, "aborted");
    const early = bus.subscribe({ signal: AbortSignal.abort() });
    await bus.publish(toStored(makeEvents(1)));
    equal((await within(early.next(), "next() of a pre-aborted subscription")).done, true, "pre-aborted");
  });

  test("a slow subscriber does not delay a fast one", async (bus) => {
    const blocked = bus.subscribe({ bufferSize: 1, overflow: "block" });
    const dropping = bus.subscribe({ bufferSize: 1, overflow: "drop-oldest" });
    const fast = collect(bus.subscribe());
    const published = Promise.resolve(bus.publish(toStored(makeEvents(10))));
    await fast.until("the fast subscriber to get 10 events", (c) => c.seqs().length >= 10);
    ok(await isPending(published), "publish still waits for the blocked subscriber");
    blocked.close();
    await within(published, "closing the blocked subscriber to release publish");
    const rest = [await pull(dropping, "gap"), await pull(dropping, "event 10")].map(brief);
    deepEqual(rest, [{ type: "gap", from: 1, to: 9 }, event(10)], "the dropping subscriber");
  });

  test("publishing with no subscribers or an empty batch is fine", async (bus) => {
    await bus.publish([]);
    await bus.publish(toStored(makeEvents(3)));
    const c = collect(bus.subscribe());
    await bus.publish([]);
    await bus.publish(toStored(makeEvents(1), 4));
    await c.until("the event published after subscribing", () => c.seqs().length >= 1);
    deepEqual(c.seqs(), [4], "only events published after subscribing");
  });

  test("invalid subscribe options are invalid_argument", async (bus) => {
    const bad: unknown[] = [
      { kinds: ["Chat"] }, { kinds: ["chat.*.x"] }, { kinds: "chat.*" }, { after: -1 }, { after: 0.5 },
      { bufferSize: 0 }, { bufferSize: 1.5 }, { overflow: "drop-newest" },
    ];
    for (const opts of bad) {
      const subscribe = async () => within(bus.subscribe(opts as SubscribeOptions).next(), "a subscribe error");
      await rejectsWithCode(subscribe, "invalid_argument", `subscribe(${JSON.stringify(opts)})`);
    }
    const c = collect(bus.subscribe());
    await bus.publish(toStored(makeEvents(1)));
    await c.until("a valid subscription to work after invalid ones", () => c.seqs().length === 1);
  });
}
