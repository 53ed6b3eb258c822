import { createFanout, type Fanout } from "../../core/index.js";

/** The in-process bus: closeable, with per-subscriber bounded queues and overflow policies. */
export type MemoryBus = Fanout;

/**
 * The in-process bus: each subscriber has its own bounded queue (`bufferSize`, default 1024) and
 * overflow policy, so a slow subscriber never delays the others. `block` makes `publish` return
 * a promise that settles when the slow subscriber has room; `drop-oldest` replaces lost events
 * with a `gap` message; `error` ends that subscription with `resource_exhausted`.
 *
 * @example
 * const bus = createMemoryBus();
 * const sub = bus.subscribe({ kinds: ["chat.*"] });
 * bus.publish(stored);
 * for await (const m of sub) if (m.type === "event") console.log(m.event.seq);
 */
export function createMemoryBus(): MemoryBus {
  return createFanout();
}
