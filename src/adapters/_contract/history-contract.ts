// Catch-up then live (DESIGN §3 `after`): history from the vault, one `caught-up`, then live events,
// with no gap and no duplicate at the boundary, as one suite for every vault + bus pair or store.
import type { CommitResult, Event, SubscribeOptions, Subscription } from "../../core/index.js";
import { deepEqual, equal, ok, rejectsWithCode } from "./assert.js";
import {
  assertSameEvent,
  collect,
  type Collector,
  type ContractRunner,
  describeMessages,
  makeEvent,
  makeEvents,
  pause,
  subjectTest,
  within,
} from "./harness.js";

/**
 * A log with catch-up subscriptions: a vault and the bus it publishes to joined by
 * `subscribeWithHistory`, or a store (local or remote) that offers the same.
 */
export interface HistoryUnderTest {
  /** Persists the batch, then publishes the newly stored events. */
  commit(events: Event[]): Promise<CommitResult[]>;
  /** History after `opts.after`, one `caught-up`, then live. */
  subscribe(opts?: SubscribeOptions): Subscription;
  close(): Promise<void> | void;
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** Fails unless `c` saw exactly `seqs`, in order, once each, split by exactly one `caught-up` and no gap. */
function assertHistory(c: Collector, seqs: number[], label: string): void {
  const shown = `${label} [${describeMessages(c.messages)}]`;
  deepEqual(c.seqs(), seqs, `${label}: event seqs`);
  const at = c.messages.findIndex((m) => m.type === "caught-up");
  equal(c.messages.filter((m) => m.type === "caught-up").length, 1, `${shown}: caught-up messages`);
  equal(c.messages.filter((m) => m.type === "gap").length, 0, `${shown}: gap messages`);
  const cu = c.messages[at]!;
  const upTo = cu.type === "caught-up" ? cu.seq : NaN;
  const history = c.messages.slice(0, at).every((m) => m.type !== "event" || m.event.seq <= upTo);
  const live = c.messages.slice(at + 1).every((m) => m.type !== "event" || m.event.seq > upTo);
  ok(history && live, `${shown}: caught-up ${upTo} must split history from live`);
}

/**
 * Runs the catch-up contract: history then live with one `caught-up`, no gap and no duplicate
 * while commits race the catch-up, healing of events the live side lost to overflow, kind filters,
 * `after`, ending and option validation. `make` gives a fresh, empty log.
 *
 * @example
 * historyContract({ test: (name, fn) => it(name, fn) }, () => createEventStore({ vault, bus }));
 */
export function historyContract(run: ContractRunner, make: () => Promise<HistoryUnderTest> | HistoryUnderTest): void {
  const test = subjectTest(run, "history", make);

  test("history, then exactly one caught-up, then live", async (t) => {
    const events = makeEvents(8);
    await t.commit(events.slice(0, 5));
    const c = collect(t.subscribe());
    await c.until("history and caught-up", () => c.messages.length >= 6);
    await t.commit(events.slice(5, 7));
    await t.commit(events.slice(7));
    await c.until("live events", () => c.seqs().length >= 8);
    await pause(20);
    equal(describeMessages(c.messages), "e1 e2 e3 e4 e5 caught-up:5 e6 e7 e8", "messages");
    c.messages.flatMap((m) => (m.type === "event" ? [m.event] : [])).forEach((e, i) => assertSameEvent(e, events[i]!, `seq ${e.seq}`));
  });

  test("an empty log sends caught-up 0, then live", async (t) => {
    const c = collect(t.subscribe());
    await c.until("caught-up", () => c.messages.length >= 1);
    await t.commit(makeEvents(1));
    await c.until("a live event", () => c.seqs().length >= 1);
    equal(describeMessages(c.messages), "caught-up:0 e1", "messages");
  });

  for (const opts of [{}, { bufferSize: 3 }, { bufferSize: 1, overflow: "block" } as const]) {
    test(`no gap and no duplicate while commits race the catch-up (${JSON.stringify(opts)})`, async (t) => {
      for (let i = 0; i < 10; i++) await t.commit(makeEvents(20));
      const c = collect(t.subscribe(opts));
      const committer = async (n: number) => {
        for (let i = 0; i < n; i++) {
          await t.commit(makeEvents(1 + (i % 4)));
          if (i % 3 === 0) await pause(0);
        }
      };
      await Promise.all([committer(20), committer(20)]);
      await c.until("every event", () => c.seqs().length >= 300);
      await pause(20);
      assertHistory(c, range(1, 300), "racing commits");
    });
  }

  test("events lost to a drop-oldest overflow are read again from the log", async (t) => {
    await t.commit(makeEvents(3));
    const sub = t.subscribe({ bufferSize: 2, overflow: "drop-oldest" });
    for (let i = 0; i < 20; i++) await t.commit(makeEvents(1 + (i % 2)));
    const c = collect(sub);
    await c.until("every event", () => c.seqs().length >= 33);
    await pause(20);
    assertHistory(c, range(1, 33), "after overflow");
  });

  test("error overflow ends a subscriber that falls behind with resource_exhausted", async (t) => {
    const sub = t.subscribe({ bufferSize: 2, overflow: "error" });
    for (let i = 0; i < 10; i++) await t.commit(makeEvents(1));
    const c = collect(sub);
    await c.until("the subscription to end", () => c.done);
    await rejectsWithCode(() => Promise.reject(c.error), "resource_exhausted", "overflow");
    const seqs = c.seqs();
    deepEqual(seqs, range(1, seqs.length), "what was delivered is an ordered prefix");
  });

  test("kind filters apply to history and live", async (t) => {
    const kinds = ["chat.msg", "note.add", "chat.room.open", "chat", "chat.msg@2", "note.add"];
    await t.commit(kinds.map((kind) => makeEvent({ kind })));
    const c = collect(t.subscribe({ kinds: ["chat.*"] }));
    await c.until("caught-up", () => c.messages.some((m) => m.type === "caught-up"));
    await t.commit(kinds.map((kind) => makeEvent({ kind })));
    await c.until("live chat events", () => c.seqs().length >= 6);
    await pause(20);
    equal(describeMessages(c.messages), "e1 e3 e5 caught-up:6 e7 e9 e11", "messages");
  });

  test("after resumes after a seq, also one beyond the head", async (t) => {
    await t.commit(makeEvents(6));
    const mid = collect(t.subscribe({ after: 3 }));
    const beyond = collect(t.subscribe({ after: 10 }));
    await mid.until("caught-up", () => mid.messages.some((m) => m.type === "caught-up"));
    await beyond.until("caught-up", () => beyond.messages.some((m) => m.type === "caught-up"));
    await t.commit(makeEvents(6));
    await mid.until("live events", () => mid.seqs().length >= 9);
    await beyond.until("live events", () => beyond.seqs().length >= 2);
    await pause(20);
    equal(describeMessages(mid.messages), "e4 e5 e6 caught-up:6 e7 e8 e9 e10 e11 e12", "after 3");
    equal(describeMessages(beyond.messages), "caught-up:10 e11 e12", "after 10");
  });

  test("close() and an AbortSignal end a catch-up subscription", async (t) => {
    await t.commit(makeEvents(3));
    const ac = new AbortController();
    const closed = t.subscribe();
    const aborted = collect(t.subscribe({ signal: ac.signal }));
    equal((await within(closed.next(), "the first message")).done, false, "first message");
    closed.close();
    await aborted.until("caught-up", () => aborted.messages.some((m) => m.type === "caught-up"));
    ac.abort();
    await aborted.until("the aborted subscription to end", () => aborted.done);
    await t.commit(makeEvents(2));
    await pause(20);
    equal((await within(closed.next(), "next() after close")).done, true, "closed");
    equal(aborted.seqs().length, 3, "nothing after abort");
    equal(aborted.error, undefined, "abort ends without an error");
  });

  test("invalid options are invalid_argument", async (t) => {
    const bad: unknown[] = [{ kinds: ["Chat"] }, { after: -1 }, { after: 1.5 }, { bufferSize: 0 }, { overflow: "x" }];
    for (const opts of bad) {
      const subscribe = async () => within(t.subscribe(opts as SubscribeOptions).next(), "a subscribe error");
      await rejectsWithCode(subscribe, "invalid_argument", `subscribe(${JSON.stringify(opts)})`);
    }
  });
}
