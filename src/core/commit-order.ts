import { ErrorCode, EventError } from "./errors.js";
import type { CallOptions, EventId } from "./types.js";
import { isUuid } from "./uuid.js";

/** Options of an event store's commit. */
export interface CommitOptions extends CallOptions {
  /**
   * Commit only once the event with this id is stored: a client with several batches in flight
   * names the last event of the batch before, so the store keeps them in the order they were sent
   * even when they arrive out of order. The store waits a bounded time (2 s) for that event, and
   * fails at once when that event's batch failed in this process; then `aborted` (retryable).
   */
  after?: EventId;
}

/** How long a batch waits for the event it must follow. */
const ORDER_WAIT_MS = 2000;
/** How many recent batches (in flight or settled) a store remembers. */
const REMEMBERED = 4096;
/** How often a batch whose predecessor is unknown here looks for it in the store. */
const RECHECK_MS = 25;

/** Throws `invalid_argument` for an `after` that is not an event id. */
export function checkAfter(after: unknown): void {
  if (after !== undefined && !isUuid(after)) {
    throw new EventError(ErrorCode.invalid_argument, `commit option after must be an event id (a UUID), got ${JSON.stringify(after)?.slice(0, 80)}`);
  }
}

/** Keeps batches that name `after` in the order their client sent them; see {@link createCommitSequencer}. */
export interface CommitSequencer<T = never> {
  /**
   * Runs `commit` once the batch may go: when the event `opts.after` (if any) is stored, or, for
   * a store with an ordered write queue, as soon as the batch of this process that ends with it
   * was admitted to that queue: `prior` is then that batch's ticket, and the store must write
   * this batch after it, and not at all if it fails. `commit` calls `admit` with its own ticket
   * once its batch is queued in order; a store without such a queue never calls it, and its
   * followers wait for the outcome. Registers the batch's last event while it runs.
   */
  run<R>(events: unknown, opts: CommitOptions | undefined, commit: (prior: T | undefined, admit: (ticket: T) => void) => Promise<R>): Promise<R>;
}

export function createCommitSequencer<T = never>(
  has: (id: EventId, o: CallOptions) => Promise<boolean>,
  waitMs = ORDER_WAIT_MS,
): CommitSequencer<T> {
  /**
   * Last event id of a batch → whether that batch was stored (pending while it commits), and its
   * admission: its ticket once it is queued in order, or nothing when it settles unqueued.
   */
  const recent = new Map<string, { outcome: Promise<boolean>; admission: Promise<T | undefined> }>();
  /** Batches waiting for an id to be registered here. */
  const waiting = new Map<string, Set<() => void>>();

  function register(id: string, entry: { outcome: Promise<boolean>; admission: Promise<T | undefined> }): void {
    recent.delete(id);
    recent.set(id, entry);
    if (recent.size > REMEMBERED) recent.delete(recent.keys().next().value!);
    for (const wake of waiting.get(id) ?? []) wake();
  }

  /** Resolves when `id` is registered here, after `ms`, or when `signal` aborts. */
  function arrival(id: string, ms: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve) => {
      const set = waiting.get(id) ?? new Set();
      waiting.set(id, set);
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        set.delete(done);
        if (set.size === 0) waiting.delete(id);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener("abort", done, { once: true });
      set.add(done);
    });
  }

  /** Waits until a batch that follows `after` may go; the predecessor's ticket when it is queued. */
  async function follow(after: string, signal: AbortSignal | undefined): Promise<T | undefined> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const before = recent.get(after);
      if (before) {
        const ticket = await before.admission;
        if (ticket !== undefined) return ticket;
        if (await before.outcome) return undefined;
        throw new EventError(ErrorCode.aborted, `event ${after}, which this batch must follow, was not stored: its batch failed`, { details: { after } });
      }
      if (await has(after, { signal })) return undefined;
      if (signal?.aborted) throw new EventError(ErrorCode.canceled, "operation was aborted", { cause: signal.reason });
      if (Date.now() >= deadline) {
        throw new EventError(ErrorCode.aborted, `event ${after}, which this batch must follow, is not stored (waited ${waitMs} ms)`, { details: { after } });
      }
      await arrival(after, Math.min(RECHECK_MS, deadline - Date.now()), signal);
    }
  }

  return {
    async run(events, opts, commit) {
      const after = opts?.after;
      checkAfter(after);
      // The batch itself is checked by `commit`; here only its last id matters, if it has one.
      const last = Array.isArray(events) ? (events.at(-1) as { header?: { id?: unknown } } | null)?.header?.id : undefined;
      let settle: (stored: boolean) => void = () => {};
      let admit: (ticket: T | undefined) => void = () => {};
      if (typeof last === "string") {
        const outcome = new Promise<boolean>((resolve) => (settle = resolve));
        const admission = new Promise<T | undefined>((resolve) => (admit = resolve));
        register(last, { outcome, admission });
      }
      try {
        const prior = after !== undefined ? await follow(after, opts?.signal) : undefined;
        const r = await commit(prior, admit);
        settle(true);
        return r;
      } catch (err) {
        settle(false);
        throw err;
      } finally {
        admit(undefined); // settled without a queue (or already admitted: a no-op)
      }
    },
  };
}
