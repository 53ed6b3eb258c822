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
  const prefix = `${opts.tenant}:`;

  const wakeAll = (head?: number) => {
    for (const w of [...wakes]) w(head);
  };

  function start(): void {
    if (opts.client.listen) {
      unlisten = opts.client
        .listen(opts.channel, (payload) => {
          if (payload === undefined) wakeAll(); // reconnected: notifications may be lost
          // "tenant:head": ours, or another log's on the same channel (one chosen by search_path):
          // its head is not taken, the subscribers read their own.
          else if (payload.startsWith(prefix)) wakeAll();
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
    poke: (head) => wakeAll(head),
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
