// Test doubles for the runtime's unit tests: a clock that records its sleeps, a remote store
// whose commits and subscriptions the test controls, and runtimes that are closed after each test.
import { createMemoryBus, createMemoryVault } from "../../src/adapters/memory/index.js";
import {
  type CommitOptions,
  type CommitResult,
  createEventStore,
  createSubscriberQueue,
  ErrorCode,
  type Event,
  EventError,
  type EventStore,
  type SubscribeOptions,
  type SubscriberQueue,
  type Subscription,
} from "../../src/core/index.js";
import { type Clock, createEventRuntime, type EventRuntime, type EventRuntimeOptions } from "../../src/runtime/index.js";

/** A clock whose sleeps advance its time at once (after a real 1 ms, so failing loops do not spin). */
export function fakeClock(randoms: number[] = [0.5]): { clock: Clock; sleeps: number[] } {
  const sleeps: number[] = [];
  let offset = 0;
  let i = 0;
  const clock: Clock = {
    now: () => Date.now() + offset,
    sleep: (ms, signal) =>
      new Promise<void>((resolve, reject) => {
        if (signal?.aborted) return reject(new EventError(ErrorCode.canceled, "sleep aborted"));
        sleeps.push(ms);
        offset += ms;
        const timer = setTimeout(() => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        }, 1);
        const onAbort = () => {
          clearTimeout(timer);
          reject(new EventError(ErrorCode.canceled, "sleep aborted"));
        };
        signal?.addEventListener("abort", onAbort, { once: true });
      }),
    random: () => randoms[i++ % randoms.length]!,
  };
  return { clock, sleeps };
}

export type CommitImpl = (events: Event[], opts?: CommitOptions) => Promise<CommitResult[]>;

export interface FakeRemote extends EventStore {
  /** Every commit call, in order. */
  calls: Event[][];
  subs: { opts: SubscribeOptions; queue: SubscriberQueue }[];
  /** Every call to the remote (commit or subscribe), with when it happened. */
  log: { op: string; at: number }[];
  /** The real store behind the fake. */
  store: EventStore;
  commitImpl: CommitImpl;
  /** "feed": each subscription follows the real store from `after`; "manual": the test feeds it. */
  mode: "feed" | "manual";
  /** Thrown by subscribe() instead of subscribing, once each. */
  subscribeThrows: unknown[];
}

/** A remote over a real memory store: commits go through `commitImpl`, subscriptions per `mode`. */
export function fakeRemote(mode: "feed" | "manual" = "manual"): FakeRemote {
  const store = createEventStore({ vault: createMemoryVault(), bus: createMemoryBus() });
  const r: FakeRemote = {
    calls: [],
    subs: [],
    log: [],
    store,
    mode,
    subscribeThrows: [],
    commitImpl: (events, o) => store.commit(events, o),
    async commit(events, o) {
      r.log.push({ op: "commit", at: performance.now() });
      r.calls.push(events);
      return r.commitImpl(events, o);
    },
    header: (id, o) => store.header(id, o),
    payload: (d, o) => store.payload(d, o),
    read: (o) => store.read(o),
    head: (o) => store.head(o),
    subscribe(opts = {}) {
      r.log.push({ op: "subscribe", at: performance.now() });
      if (r.subscribeThrows.length > 0) throw r.subscribeThrows.shift();
      let inner: Subscription | undefined;
      const queue = createSubscriberQueue({ signal: opts.signal, bufferSize: 10_000, overflow: "block", onClose: () => inner?.close() });
      r.subs.push({ opts, queue });
      if (r.mode === "feed" && !queue.closed) {
        const sub = store.subscribe({ after: opts.after, kinds: opts.kinds, bufferSize: 10_000, overflow: "block" });
        inner = sub;
        void (async () => {
          try {
            for await (const m of sub) {
              const p = queue.push(m);
              if (p) await p;
              if (queue.closed) break;
            }
          } catch {
            // ended by the test
          }
        })();
      }
      return queue;
    },
    close: async () => {},
  };
  return r;
}

/** `p`, or `canceled` as soon as `signal` aborts. */
export function abortable<T>(p: Promise<T>, signal?: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new EventError(ErrorCode.canceled, "call aborted"));
    if (signal?.aborted) return onAbort();
    signal?.addEventListener("abort", onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal?.removeEventListener("abort", onAbort));
  });
}

/** A call that never answers (until aborted). */
export const hang = (signal?: AbortSignal): Promise<never> => abortable(new Promise<never>(() => {}), signal);

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runtimes with a memory vault and bus and fast retries; `closeAll` ends them (call it in afterEach). */
export function runtimes(defaults: Partial<EventRuntimeOptions> = {}) {
  const open: EventRuntime[] = [];
  return {
    runtime(remote: EventStore | undefined, extra: Partial<EventRuntimeOptions> = {}): EventRuntime {
      const rt = createEventRuntime({
        vault: createMemoryVault(),
        bus: createMemoryBus(),
        remote,
        idleMs: 10,
        retry: { baseMs: 2, maxMs: 16 },
        ...defaults,
        ...extra,
      });
      open.push(rt);
      return rt;
    },
    closeAll: () => Promise.all(open.splice(0).map((rt) => rt.close())),
  };
}
