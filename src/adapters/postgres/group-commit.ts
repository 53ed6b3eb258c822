import { ErrorCode, EventError, isRetryable, throwIfAborted } from "../../core/index.js";

/** Writes one batch; results one per event, in order. */
export type WriteBatch<E, R> = (events: E[], signal?: AbortSignal) => Promise<R[]>;

/** A batch in the group commit's queue, for a later batch to name as the one it follows. */
export interface GroupTicket {
  /** Settled once its batch was written or failed (before any later batch's write starts). */
  readonly state: "queued" | "stored" | "failed";
}

/** What a batch must follow: a batch queued before it, and the id of that batch's last event. */
export interface GroupFollows {
  ticket: GroupTicket;
  id: string;
}

/** Queues a batch behind every batch queued before it; `follows` is one of those it must follow. */
export type GroupCommit<E, R> = (events: E[], opts?: { signal?: AbortSignal; follows?: GroupFollows }) => { ticket: GroupTicket; result: Promise<R[]> };

/**
 * Group commit: one write at a time per store, and the batches that queued up meanwhile go to the
 * database together, as one write (one transaction, one WAL flush) of up to `maxEvents` events.
 * Under many small concurrent commits the database does one flush per group instead of one per
 * batch, and a queue that built up behind a slow flush drains in one go. Batches are written in
 * the order they were queued, so a client's pipelined batches can queue right behind the one they
 * follow (`follows`) instead of waiting for its flush; when that one fails, they fail with `aborted`
 * and are not written. Every batch gets its own outcome: when a merged write is refused (one
 * batch's bad event, a conflict between two batches) each batch of the group is written again on
 * its own, in order, so only the bad one (and those that follow it) fail; when the database is
 * unavailable, every batch of the group fails with that error.
 */
export function createGroupCommit<E, R>(write: WriteBatch<E, R>, maxEvents = 1000): GroupCommit<E, R> {
  interface Waiting extends GroupTicket {
    state: GroupTicket["state"];
    events: E[];
    signal: AbortSignal | undefined;
    follows: GroupFollows | undefined;
    resolve(r: R[]): void;
    reject(err: unknown): void;
  }
  const queue: Waiting[] = [];
  let running = false;

  const succeed = (w: Waiting, r: R[]) => {
    w.state = "stored";
    w.resolve(r);
  };
  const fail = (w: Waiting, err: unknown) => {
    w.state = "failed";
    w.reject(err);
  };

  /** Fails `w` when it may not be written (canceled, or the batch it follows failed); true then. */
  function refused(w: Waiting): boolean {
    if (w.signal?.aborted) fail(w, new EventError(ErrorCode.canceled, "operation was aborted", { cause: w.signal.reason }));
    else if (w.follows?.ticket.state === "failed") {
      const after = w.follows.id;
      fail(w, new EventError(ErrorCode.aborted, `event ${after}, which this batch must follow, was not stored: its batch failed`, { details: { after } }));
    } else return false;
    return true;
  }

  async function writeAlone(w: Waiting): Promise<void> {
    if (refused(w)) return;
    try {
      throwIfAborted(w.signal);
      succeed(w, await write(w.events, w.signal));
    } catch (err) {
      fail(w, err);
    }
  }

  async function drain(): Promise<void> {
    running = true;
    while (queue.length > 0) {
      const group = [queue.shift()!];
      let n = group[0]!.events.length;
      while (queue.length > 0 && n + queue[0]!.events.length <= maxEvents) {
        n += queue[0]!.events.length;
        group.push(queue.shift()!);
      }
      // Not written: batches whose caller gave up while they waited, or whose predecessor failed.
      // A predecessor in this same group is still queued here, so its followers stay with it.
      const live = group.filter((w) => !refused(w));
      if (live.length <= 1) {
        if (live[0]) await writeAlone(live[0]);
        continue;
      }
      try {
        const results = await write(live.flatMap((w) => w.events));
        let at = 0;
        for (const w of live) {
          succeed(w, results.slice(at, at + w.events.length));
          at += w.events.length;
        }
      } catch (err) {
        if (isRetryable(err)) for (const w of live) fail(w, err);
        else for (const w of live) await writeAlone(w);
      }
    }
    running = false;
  }

  return (events, opts = {}) => {
    let w!: Waiting;
    const result = new Promise<R[]>((resolve, reject) => {
      w = { state: "queued", events, signal: opts.signal, follows: opts.follows, resolve, reject };
    });
    queue.push(w);
    if (!running) void drain();
    return { ticket: w, result };
  };
}
