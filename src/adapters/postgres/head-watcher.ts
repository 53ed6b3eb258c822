import type { SqlClient } from "./sql-client.js";

/**
 * Wakes a store's subscribers when its head may have moved, with the new head when it is known
 * for this log (every seq up to it is committed and visible), or without one when they must read it.
 */
export interface HeadWatcher {
  /** Registers a wake-up; returns an unregister function. */
  add(wake: (head?: number) => void): () => void;
  /** Tells the subscribers of this process about a head this process just committed. */
  poke(head: number): void;
  /**
   * Holds back notifications while this process commits (a client may deliver the commit's own
   * notification before the commit returns); the returned release delivers what is still new
   * once the commit's head was poked.
   */
  hold(): () => void;
  close(): Promise<void>;
}

/**
 * One LISTEN per store, shared by its subscribers, plus a bounded poll of the head that covers
 * lost notifications, a missing `listen`, and reconnects. Runs only while someone is registered.
 */
export function createHeadWatcher(opts: {
  client: SqlClient;
  channel: string;
  tenant: string;
  pollMs: number;
  head: () => Promise<number>;
  onError: (err: unknown) => void;
}): HeadWatcher {
  const wakes = new Set<(head?: number) => void>();
  let unlisten: Promise<(() => Promise<void>) | undefined> | undefined;
  let timer: ReturnType<typeof setInterval> | undefined;
  let lastPolled = -1;
  /** The highest head this process committed and poked: a notification up to it brings nothing new. */
  let poked = 0;
  let holds = 0;
  /** The highest head announced while held (Infinity: one that could not be read). */
  let heldHead = -Infinity;
  const prefix = `${opts.tenant}:`;

  const wakeAll = (head?: number) => {
    for (const w of [...wakes]) w(head);
  };

  function start(): void {
    if (opts.client.listen) {
      unlisten = opts.client
        .listen(opts.channel, (payload) => {
          if (payload === undefined) return wakeAll(); // reconnected: notifications may be lost
          // "tenant:head": ours, or another log's on the same channel (one chosen by search_path):
          // its head is not taken, the subscribers read their own. Up to the head this process
          // poked there is nothing to read: seqs are assigned in commit order, so a commit with
          // that head came before one of ours that the subscribers already know of (or it is a
          // foreign log's, which never concerns them).
          if (!payload.startsWith(prefix)) return;
          const head = Number(payload.slice(prefix.length));
          if (head <= poked) return;
          if (holds > 0) heldHead = Math.max(heldHead, Number.isNaN(head) ? Infinity : head);
          else wakeAll();
        })
        .catch((err: unknown) => {
          opts.onError(err); // polling still covers it
          return undefined;
        });
    }
    timer = setInterval(() => {
      opts.head().then(
        (h) => {
          if (h !== lastPolled) {
            lastPolled = h;
            wakeAll(h);
          }
        },
        (err: unknown) => opts.onError(err),
      );
    }, opts.pollMs);
    (timer as { unref?: () => void }).unref?.();
  }

  async function stop(): Promise<void> {
    clearInterval(timer);
    timer = undefined;
    lastPolled = -1;
    const u = unlisten;
    unlisten = undefined;
    const off = await u;
    await off?.().catch(opts.onError);
  }

  return {
    poke(head) {
      poked = Math.max(poked, head);
      wakeAll(head);
    },
    hold() {
      holds++;
      let released = false;
      return () => {
        if (released) return;
        released = true;
        if (--holds > 0) return;
        const head = heldHead;
        heldHead = -Infinity;
        if (head > poked) wakeAll();
      };
    },
    add(wake) {
      wakes.add(wake);
      if (wakes.size === 1) start();
      return () => {
        if (wakes.delete(wake) && wakes.size === 0) void stop();
      };
    },
    async close() {
      wakes.clear();
      await stop();
    },
  };
}
