// Random interleavings of commit / subscribe / pull / close on the memory vault + bus with
// subscribeWithHistory: every subscriber sees exactly the matching seqs after its `after`, in
// order, once, whatever the buffer sizes, overflow policies and consumer speeds.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type BusMessage,
  createEvent,
  kindFilter,
  type OverflowPolicy,
  type StoredEvent,
  subscribeWithHistory,
  type Subscription,
} from "../../core/index.js";
import { describeMessages } from "../_contract/index.js";
import { createMemoryBus } from "./memory-bus.js";
import { createMemoryVault } from "./memory-vault.js";

const KINDS = ["a.x", "a.y", "b.x"];
const PATTERNS: (string[] | undefined)[] = [undefined, ["a.*"], ["b.x"], ["a.y", "b.x"]];

type Op =
  | { type: "commit"; kinds: number[] }
  | { type: "subscribe"; delta: number; pattern: number; bufferSize: number; overflow: OverflowPolicy }
  | { type: "pull"; which: number; n: number }
  | { type: "end"; which: number; how: "close" | "abort" | "break" }
  | { type: "tick"; n: number };

const kindIndexes = fc.array(fc.nat({ max: KINDS.length - 1 }), { minLength: 1, maxLength: 4 });
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ type: fc.constant("commit"), kinds: kindIndexes }) },
  {
    weight: 2,
    arbitrary: fc.record({
      type: fc.constant("subscribe"),
      delta: fc.integer({ min: -6, max: 2 }),
      pattern: fc.nat({ max: PATTERNS.length - 1 }),
      bufferSize: fc.integer({ min: 1, max: 3 }),
      overflow: fc.constantFrom<OverflowPolicy>("block", "drop-oldest"),
    }),
  },
  { weight: 3, arbitrary: fc.record({ type: fc.constant("pull"), which: fc.nat(), n: fc.integer({ min: 1, max: 5 }) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant("end"), which: fc.nat(), how: fc.constantFrom("close", "abort", "break") }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constant("tick"), n: fc.integer({ min: 1, max: 3 }) }) },
) as fc.Arbitrary<Op>;

/** A subscriber that pulls only as many messages as it has been granted. */
interface Consumer {
  sub: Subscription;
  abort: AbortController;
  after: number;
  matches: (kind: string) => boolean;
  messages: BusMessage[];
  credits: number;
  wake?: () => void;
  ended: boolean;
  done: boolean;
  error?: unknown;
}

const tick = () => new Promise<void>((r) => setImmediate(r));

async function consume(c: Consumer): Promise<void> {
  try {
    for (;;) {
      while (c.credits <= 0) await new Promise<void>((r) => (c.wake = r));
      c.credits--;
      const r = await c.sub.next();
      if (r.done) return;
      c.messages.push(r.value);
    }
  } catch (err) {
    c.error = err;
  } finally {
    c.done = true;
  }
}

function grant(c: Consumer, n: number): void {
  c.credits += n;
  c.wake?.();
}

async function run(ops: Op[]): Promise<void> {
  const vault = createMemoryVault();
  const bus = createMemoryBus();
  const log: StoredEvent[] = [];
  const consumers: Consumer[] = [];
  const publishes: Promise<void>[] = [];
  for (const o of ops) {
    if (o.type === "commit") {
      const events = o.kinds.map((k) => createEvent({ kind: KINDS[k]!, payload: new Uint8Array([k]) }));
      const results = await vault.commit(events);
      const stored = events.map((e, i) => ({ ...e, seq: results[i]!.seq }));
      log.push(...stored);
      const p = bus.publish(stored); // not awaited: a "block" subscriber may be waiting for credits
      if (p) publishes.push(p);
    } else if (o.type === "subscribe") {
      const abort = new AbortController();
      const after = Math.max(0, log.length + o.delta);
      const kinds = PATTERNS[o.pattern];
      const { bufferSize, overflow } = o;
      const sub = subscribeWithHistory(vault, bus, { after, kinds, bufferSize, overflow, signal: abort.signal });
      const c: Consumer = { sub, abort, after, matches: kindFilter(kinds), messages: [], credits: 0, ended: false, done: false };
      consumers.push(c);
      void consume(c);
    } else if (o.type === "pull" && consumers.length > 0) {
      grant(consumers[o.which % consumers.length]!, o.n);
    } else if (o.type === "end" && consumers.length > 0) {
      const c = consumers[o.which % consumers.length]!;
      c.ended = true;
      if (o.how === "close") c.sub.close();
      else if (o.how === "abort") c.abort.abort();
      else await c.sub.return!();
    } else if (o.type === "tick") {
      for (let i = 0; i < o.n; i++) await tick();
    }
  }

  for (const c of consumers) grant(c, Infinity);
  const expected = (c: Consumer) => log.filter((e) => e.seq > c.after && c.matches(e.header.kind)).map((e) => e.seq);
  const settled = (c: Consumer) =>
    c.done || (c.messages.some((m) => m.type === "caught-up") && seqsOf(c).length >= expected(c).length);
  for (let i = 0; i < 5000 && !consumers.every(settled); i++) await tick();
  await Promise.all(publishes);
  for (let i = 0; i < 5; i++) await tick();
  for (const c of consumers) c.sub.close();

  for (const [i, c] of consumers.entries()) {
    const want = expected(c);
    const got = seqsOf(c);
    const label = `subscriber ${i} (after ${c.after}, ended early: ${c.ended}): [${describeMessages(c.messages)}]`;
    expect(c.error, label).toBeUndefined();
    expect(c.messages.filter((m) => m.type === "gap"), label).toEqual([]);
    const caughtUp = c.messages.filter((m) => m.type === "caught-up");
    expect(caughtUp.length, label).toBeLessThanOrEqual(1);
    if (c.ended) {
      expect(got, label).toEqual(want.slice(0, got.length));
    } else {
      expect(got, label).toEqual(want);
      expect(caughtUp.length, label).toBe(1);
    }
    const at = c.messages.findIndex((m) => m.type === "caught-up");
    if (at >= 0) {
      const upTo = (c.messages[at] as { seq: number }).seq;
      const before = seqsOf({ messages: c.messages.slice(0, at) });
      const after = seqsOf({ messages: c.messages.slice(at + 1) });
      expect(before.every((s) => s <= upTo) && after.every((s) => s > upTo), label).toBe(true);
    }
  }
  expect(bus.subscriberCount).toBe(0);
}

function seqsOf(c: { messages: BusMessage[] }): number[] {
  return c.messages.flatMap((m) => (m.type === "event" ? [m.event.seq] : []));
}

describe("memory vault + bus + subscribeWithHistory under random interleavings", () => {
  it("every subscriber sees exactly the matching seqs after its after, in order, once", async () => {
    await fc.assert(fc.asyncProperty(fc.array(op, { minLength: 5, maxLength: 60, size: "large" }), run), { numRuns: 150 });
  });
});
