import { EventError } from "./errors.js";
import { checkSubscribeOptions, createSubscriberQueue } from "./subscriber-queue.js";
import type { EventBus, QueryApi, StoredEvent, SubscribeOptions, Subscription } from "./types.js";

/**
 * Catch-up from a vault after `opts.after`, then live from the bus it publishes to: one
 * `caught-up` message between the two, and no gap and no duplicate at the boundary, even while
 * commits race with the catch-up. Events the live subscription loses to overflow (`drop-oldest`)
 * are re-read from the vault, so the subscriber sees every matching event exactly once, in seq
 * order. With `overflow: "error"` a subscriber that falls `bufferSize` events behind is ended with
 * `resource_exhausted` instead.
 *
 * The bus must carry exactly the events of this vault, published after they are committed.
 *
 * @example
 * for await (const m of subscribeWithHistory(vault, bus, { kinds: ["chat.*"], after: 0 })) {
 *   if (m.type === "event") render(m.event);
 * }
 */
export function subscribeWithHistory(
  vault: Pick<QueryApi, "read" | "head">,
  bus: EventBus,
  opts: SubscribeOptions = {},
): Subscription {
  const checked = checkSubscribeOptions(opts);
  const { bufferSize, overflow, after } = checked;
  const matches = checked.matches ?? (() => true);
  const stop = new AbortController();
  const out = createSubscriberQueue({
    bufferSize,
    overflow: "block",
    signal: opts.signal,
    onClose: () => stop.abort(),
  });
  // Subscribed before the history is read, so every commit after the read is seen live.
  const live = bus.subscribe({ bufferSize, overflow, signal: stop.signal });
  const readOpts = { kinds: opts.kinds, signal: stop.signal };

  async function emit(event: StoredEvent): Promise<void> {
    const r = out.push({ type: "event", event });
    if (r) await r;
  }

  /** Re-reads from the vault the matching events with seq in (from, to]. */
  async function replay(from: number, to: number): Promise<void> {
    for await (const event of vault.read({ ...readOpts, after: from })) {
      if (event.seq > to || out.closed) break;
      await emit(event);
    }
  }

  async function pump(): Promise<void> {
    const head = await vault.head({ signal: stop.signal });
    let last = after;
    for await (const event of vault.read({ ...readOpts, after })) {
      if (out.closed) return;
      await emit(event);
      last = event.seq;
    }
    last = Math.max(last, head);
    const r = out.push({ type: "caught-up", seq: last });
    if (r) await r;
    for await (const m of live) {
      if (out.closed) return;
      if (m.type === "event") {
        const seq = m.event.seq;
        if (seq <= last) continue;
        if (seq > last + 1) await replay(last, seq - 1);
        if (matches(m.event.header.kind)) await emit(m.event);
        last = seq;
      } else if (m.type === "gap") {
        if (m.to > last) {
          await replay(last, m.to);
          last = m.to;
        }
      }
    }
    out.end();
  }

  pump().then(
    () => live.close(),
    (err: unknown) => {
      live.close();
      if (!out.closed) out.end(EventError.from(err));
    },
  );
  return out;
}
