// The tiny test interface of the contract suites and the helpers they share. Only platform
// globals every target has (setTimeout, TextEncoder) are used, so the suites run under vitest,
// in Chromium, Deno and workerd alike.
import {
  type BusMessage,
  computeDigest,
  createEvent,
  type CreateEventInput,
  type Event,
  type EventHeader,
  isUuid,
  type StoredEvent,
  uuidv4,
  uuidv7,
  type Vault,
} from "../../core/index.js";
import { deepEqual, equal } from "./assert.js";

/**
 * What a contract suite needs from a test runner: register a named async test.
 *
 * @example
 * vaultContract({ test: (name, fn) => it(name, fn) }, () => createMemoryVault());
 */
export interface ContractRunner {
  test(name: string, fn: () => Promise<void>): void;
}

/**
 * A suite's `test`: registers `prefix: name`, hands each test a fresh subject from `make` and
 * closes it however the test ends.
 */
export function subjectTest<S extends { close(): unknown }>(
  run: ContractRunner,
  prefix: string,
  make: () => Promise<S> | S,
): (name: string, fn: (subject: S) => Promise<void>) => void {
  return (name, fn) =>
    run.test(`${prefix}: ${name}`, async () => {
      const subject = await make();
      try {
        await fn(subject);
      } finally {
        await subject.close();
      }
    });
}

/** How long a suite waits for something that should happen before it fails the test. */
const WAIT_MS = 5000;

const utf8 = new TextEncoder();

/** A valid event: kind `test.event` and a unique text payload unless `input` says otherwise. */
export function makeEvent(input: Partial<CreateEventInput> = {}): Event {
  return createEvent({ kind: "test.event", payload: utf8.encode(`payload ${uuidv4()}`), ...input });
}

/** `n` valid independent events of one kind. */
export function makeEvents(n: number, kind = "test.event"): Event[] {
  return Array.from({ length: n }, () => makeEvent({ kind }));
}

/** A deep copy of an event, to tamper with. */
export function cloneEvent(e: Event): Event {
  const h = e.header;
  return {
    header: {
      id: h.id,
      parents: h.parents.map((p) => ({ id: p.id, digest: p.digest.slice() })),
      timestamp: h.timestamp,
      digest: h.digest.slice(),
      intent: h.intent,
      kind: h.kind,
    },
    payload: e.payload.slice(),
  };
}

/** The event with its digest recomputed over its (possibly invalid but digestible) fields. */
export function redigest(e: Event): Event {
  e.header.digest = computeDigest(e.header, e.payload);
  return e;
}

/** Changes an event in place (its header passed first for brevity). */
export type Tamper = (h: EventHeader, e: Event) => void;

/** Each turns a fresh valid event into a malformed one that a vault or store must reject with `invalid_argument`. */
export const MALFORMED_EVENTS: [string, Tamper][] = [
  ["a malformed id", (h) => (h.id = "not-a-uuid")],
  ["an uppercase id", (h) => (h.id = h.id.toUpperCase())],
  ["a kind that breaks the grammar", (h, e) => ((h.kind = "Chat.Msg"), redigest(e))],
  ["a 129-byte kind", (h, e) => ((h.kind = "a".repeat(129)), redigest(e))],
  ["a malformed intent", (h) => (h.intent = "intent")],
  ["a non-Uint8Array payload", (_, e) => (e.payload = Array.from(e.payload) as unknown as Uint8Array)],
  ["a 31-byte digest", (h) => (h.digest = h.digest.slice(1))],
  ["a negative timestamp", (h) => (h.timestamp = -1)],
  ["a fractional timestamp", (h) => (h.timestamp = 1.5)],
  ["a parent with a 31-byte digest", (h) => (h.parents = [{ id: uuidv7(), digest: new Uint8Array(31) }])],
  ["no parents array", (h) => (h.parents = undefined as unknown as [])],
  ["no header", (_, e) => (e.header = undefined as unknown as EventHeader)],
];

/** A fresh valid event after `tamper`. */
export function tampered(tamper: Tamper): Event {
  const e = cloneEvent(makeEvent());
  tamper(e.header, e);
  return e;
}

/** Events as a vault would have stored them, with seqs from `firstSeq` on. */
export function toStored(events: Event[], firstSeq = 1): StoredEvent[] {
  return events.map((e, i) => ({ ...e, seq: firstSeq + i }));
}

/** Everything an async iterable yields. */
export async function drain<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of iterable) out.push(x);
  return out;
}

/** Fails unless `actual` has exactly the header fields and payload of `expected`. */
export function assertSameEvent(actual: Event | undefined, expected: Event, message = "event differs"): void {
  deepEqual(actual && { header: headerFields(actual.header), payload: actual.payload }, {
    header: headerFields(expected.header),
    payload: expected.payload,
  }, message);
}

/** The header fields of the data model only. */
function headerFields(h: EventHeader): EventHeader {
  return {
    id: h.id,
    parents: h.parents.map((p) => ({ id: p.id, digest: p.digest })),
    timestamp: h.timestamp,
    digest: h.digest,
    intent: h.intent,
    kind: h.kind,
  };
}

/**
 * After a rejected commit: the log is exactly `committed`, no event of `rejected` was stored, and a
 * good commit still works (it is appended to `committed`).
 */
export async function assertIntact(vault: Vault, committed: Event[], rejected: Event[] = []): Promise<void> {
  equal(await vault.head(), committed.length, "head after a rejected commit");
  const log = await drain(vault.read());
  const ids = committed.map((e, i) => [i + 1, e.header.id]);
  deepEqual(log.map((s) => [s.seq, s.header.id]), ids, "log after a rejected commit");
  const kept = new Set(committed.map((e) => e.header.id));
  for (const e of rejected) {
    if (!isUuid(e.header?.id) || kept.has(e.header.id)) continue;
    equal(await vault.header(e.header.id), undefined, `rejected event ${e.header.id} was stored`);
  }
  const next = makeEvent();
  const stored = [{ id: next.header.id, seq: committed.length + 1, status: "stored" }];
  deepEqual(await vault.commit([next]), stored, "a good commit after a rejected one");
  committed.push(next);
}

/** Waits `ms` milliseconds (a macrotask even for 0, so queued work runs first). */
export function pause(ms = 0): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** True when `p` is still pending after a short pause. */
export async function isPending(p: Promise<unknown>, ms = 20): Promise<boolean> {
  let settled = false;
  p.then(
    () => (settled = true),
    () => (settled = true),
  );
  await pause(ms);
  return !settled;
}

/** `promise`, or a failure naming `what` if it does not settle within `ms`. */
export function within<T>(promise: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A compact rendering of messages for failure output: `e3 caught-up:5 gap:1-3`. */
export function describeMessages(messages: readonly BusMessage[]): string {
  return messages
    .map((m) => (m.type === "event" ? `e${m.event.seq}` : m.type === "gap" ? `gap:${m.from}-${m.to}` : `caught-up:${m.seq}`))
    .join(" ");
}

/** A subscription consumed in the background, as fast as it delivers. */
export interface Collector {
  readonly messages: BusMessage[];
  /** True once the subscription ended (normally or with {@link Collector.error}). */
  readonly done: boolean;
  readonly error: unknown;
  /** The seqs of the event messages so far. */
  seqs(): number[];
  /** Resolves once `pred` holds; fails naming `what` after `ms`. */
  until(what: string, pred: (c: Collector) => boolean, ms?: number): Promise<void>;
}

/** Starts consuming `sub` into a {@link Collector}. */
export function collect(sub: AsyncIterable<BusMessage>): Collector {
  const messages: BusMessage[] = [];
  const wakers = new Set<() => void>();
  let done = false;
  let error: unknown;
  const wake = () => wakers.forEach((w) => w());
  void (async () => {
    try {
      for await (const m of sub) {
        messages.push(m);
        wake();
      }
    } catch (err) {
      error = err;
    } finally {
      done = true;
      wake();
    }
  })();
  const c: Collector = {
    messages,
    get done() {
      return done;
    },
    get error() {
      return error;
    },
    seqs: () => messages.flatMap((m) => (m.type === "event" ? [m.event.seq] : [])),
    until(what, pred, ms = WAIT_MS) {
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          if (!pred(c)) return;
          cleanup();
          resolve();
        };
        const timer = setTimeout(() => {
          cleanup();
          const state = `got [${describeMessages(messages)}], done=${done}, error=${String(error)}`;
          reject(new Error(`timed out after ${ms} ms waiting for ${what}; ${state}`));
        }, ms);
        const cleanup = () => {
          clearTimeout(timer);
          wakers.delete(check);
        };
        wakers.add(check);
        check();
      });
    },
  };
  return c;
}
