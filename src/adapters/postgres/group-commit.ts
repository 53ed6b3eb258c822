import { ErrorCode, EventError, isRetryable, throwIfAborted } from "../../core/index.js";

/** Writes one batch; results one per event, in order. */
export type WriteBatch<E, R> = (events: E[], signal?: AbortSignal) => Promise<R[]>;

/**
 * Group commit: one write at a time per store, and the batches that queued up meanwhile go to the
 * database together, as one write (one transaction, one WAL flush) of up to `maxEvents` events.
 * Under many small concurrent commits the database does one flush per group instead of one per
 * batch, and a queue that built up behind a slow flush drains in one go. Every batch still gets
 * its own outcome: when a merged write is refused (one batch's bad event, a conflict between two
 * batches) each batch of the group is written again on its own, in order, so only the bad one
 * fails; when the database is unavailable, every batch of the group fails with that error.
 */
export function createGroupCommit<E, R>(write: WriteBatch<E, R>, maxEvents = 1000): (events: E[], signal?: AbortSignal) => Promise<R[]> {
  interface Waiting {
    events: E[];
    signal: AbortSignal | undefined;
    resolve(r: R[]): void;
    reject(err: unknown): void;
  }
  const queue: Waiting[] = [];
  let running = false;

  async function writeAlone(w: Waiting): Promise<void> {
    try {
      throwIfAborted(w.signal);
      w.resolve(await write(w.events, w.signal));
    } catch (err) {
      w.reject(err);
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
      // A batch whose caller gave up while it waited is not written.
      const live: Waiting[] = [];
      for (const w of group) {
        if (w.signal?.aborted) w.reject(new EventError(ErrorCode.canceled, "operation was aborted", { cause: w.signal.reason }));
        else live.push(w);
      }
      if (live.length <= 1) {
        if (live[0]) await writeAlone(live[0]);
        continue;
      }
      try {
        const results = await write(live.flatMap((w) => w.events));
        let at = 0;
        for (const w of live) {
          w.resolve(results.slice(at, at + w.events.length));
          at += w.events.length;
        }
      } catch (err) {
        if (isRetryable(err)) for (const w of live) w.reject(err);
        else for (const w of live) await writeAlone(w);
      }
    }
    running = false;
  }

  return (events, signal) =>
    new Promise<R[]>((resolve, reject) => {
      queue.push({ events, signal, resolve, reject });
      if (!running) void drain();
    });
}
