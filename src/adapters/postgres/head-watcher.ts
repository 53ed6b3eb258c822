import type { SqlClient } from "./sql-client.js";

/** Wakes a store's subscribers when its head may have moved. */
export interface HeadWatcher {
  /** Registers a wake-up; returns an unregister function. */
  add(wake: () => void): () => void;
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
  const wakes = new Set<() => void>();
  let unlisten: Promise<(() => Promise<void>) | undefined> | undefined;
  let timer: ReturnType<typeof setInterval> | undefined;
  let lastPolled = -1;
  const prefix = `${opts.tenant}:`;

  const wakeAll = () => {
    for (const w of [...wakes]) w();
  };

  function start(): void {
    if (opts.client.listen) {
      unlisten = opts.client
        .listen(opts.channel, (payload) => {
          if (payload === undefined) wakeAll(); // reconnected: notifications may be lost
          else if (payload.startsWith(prefix)) wakeAll(); // "tenant:head": ours; re-read the head
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
            wakeAll();
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
