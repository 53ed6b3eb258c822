import type { ErrorCode } from "../core/index.js";

/** What the sync engine is doing, for an app's "synced / offline / 3 pending" indicator. */
export interface RuntimeStatus {
  /** The remote store has been reached, and neither pushing nor pulling is failing now (false while offline or retrying). */
  online: boolean;
  /** This runtime syncs (always true without a leader election). */
  leader: boolean;
  /** Events waiting in the outbox. */
  pending: number;
  /** Events the remote store refused for good. */
  deadLetters: number;
  /** The pull stream has replayed the remote history and is live. */
  caughtUp: boolean;
  lastPushAt?: number;
  lastPullAt?: number;
  lastError?: { code: ErrorCode; message: string; at: number };
  /** How far the remote log has been pulled (remote seq). */
  cursors: { remote: number };
  closed: boolean;
}

/** Holds the status and tells watchers about changes. */
export interface StatusCell {
  get(): RuntimeStatus;
  /** The current status itself, not a copy: for reading a field, never to be changed or kept. */
  peek(): Readonly<RuntimeStatus>;
  update(patch: Partial<RuntimeStatus>): void;
  /** The current status, then each change; a slow reader skips to the latest. */
  changes(signal?: AbortSignal): AsyncIterable<RuntimeStatus>;
  /** Resolves at the next change (or at once when aborted). */
  next(signal?: AbortSignal): Promise<void>;
}

export function createStatusCell(initial: RuntimeStatus): StatusCell {
  let status: RuntimeStatus = { ...initial, cursors: { ...initial.cursors } };
  let waiters: (() => void)[] = [];

  function next(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted || status.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        signal?.removeEventListener("abort", done);
        resolve();
      };
      waiters.push(done);
      signal?.addEventListener("abort", done, { once: true });
    });
  }

  return {
    peek: () => status,
    get: () => ({ ...status, cursors: { ...status.cursors } }),
    update(patch) {
      status = { ...status, ...patch, cursors: { ...status.cursors, ...patch.cursors } };
      const w = waiters;
      waiters = [];
      for (const f of w) f();
    },
    next,
    changes(signal) {
      const cell = this;
      return {
        async *[Symbol.asyncIterator]() {
          let last: RuntimeStatus | undefined;
          for (;;) {
            const now = cell.get();
            if (JSON.stringify(now) !== JSON.stringify(last)) {
              last = now;
              yield now;
              continue; // it may have changed again while the reader was busy
            }
            if (signal?.aborted || now.closed) return;
            await next(signal);
          }
        },
      };
    },
  };
}
