import {
  createFanout,
  ErrorCode,
  type EventBus,
  EventError,
  type StoredEvent,
  type SubscribeOptions,
  type Subscription,
  validateEvent,
} from "../../core/index.js";

/** Options of {@link createBroadcastChannelBus}. */
export interface BroadcastChannelBusOptions {
  /** Tabs and workers that use the same name (and origin) share the bus. */
  name: string;
}

/** Counters of what arrived from other contexts. */
export interface BroadcastChannelBusStats {
  /** Events received from other tabs and delivered. */
  received: number;
  /** Messages ignored because they were not well-formed toka-events messages. */
  rejected: number;
}

/** A bus shared by the tabs and workers of one origin. */
export interface BroadcastChannelBus extends EventBus {
  stats(): BroadcastChannelBusStats;
  /** Leaves the channel and ends every subscription. */
  close(): void;
  [Symbol.asyncDispose](): Promise<void>;
}

const TAG = "toka-events/bus/v1";
const asyncDispose: typeof Symbol.asyncDispose = Symbol.asyncDispose ?? Symbol.for("Symbol.asyncDispose");

/**
 * An {@link EventBus} across the tabs and workers of one origin: events published in one context
 * are delivered to its own subscribers and, through a BroadcastChannel, once to every other
 * context's subscribers, in the order that context published them. Incoming messages are checked;
 * anything malformed or foreign is ignored and counted, never delivered. For one global seq order
 * across tabs, subscribe with `subscribeWithHistory` over the shared vault, which re-reads what
 * arrives out of order.
 *
 * @example
 * const bus = createBroadcastChannelBus({ name: "my-app" });
 */
export function createBroadcastChannelBus(opts: BroadcastChannelBusOptions): BroadcastChannelBus {
  if (typeof opts?.name !== "string" || opts.name.length === 0) {
    throw new EventError(ErrorCode.invalid_argument, "createBroadcastChannelBus needs a name");
  }
  if (typeof BroadcastChannel === "undefined") {
    throw new EventError(ErrorCode.unimplemented, "BroadcastChannel is not available in this runtime");
  }
  const local = createFanout();
  const channel = new BroadcastChannel(`toka-events:${opts.name}`);
  const stats: BroadcastChannelBusStats = { received: 0, rejected: 0 };
  let closed = false;

  channel.onmessage = (msg: MessageEvent) => {
    const events = accept(msg.data);
    if (!events) {
      stats.rejected++;
      return;
    }
    stats.received += events.length;
    // A slow "block" subscriber here cannot hold the sender back; its queue parks the events.
    void local.publish(events);
  };
  channel.onmessageerror = () => void stats.rejected++;

  function close(): void {
    if (closed) return;
    closed = true;
    channel.close();
    local.close();
  }

  return {
    publish(events: StoredEvent[]) {
      const wait = local.publish(events); // validates and throws when closed
      if (events.length > 0) channel.postMessage({ t: TAG, events });
      return wait;
    },
    subscribe: (subOpts?: SubscribeOptions): Subscription => local.subscribe(subOpts),
    stats: () => ({ ...stats }),
    close,
    [asyncDispose]: async () => close(),
  };
}

/** The events of a well-formed bus message, or undefined. */
function accept(data: unknown): StoredEvent[] | undefined {
  if (typeof data !== "object" || data === null) return undefined;
  const { t, events } = data as { t?: unknown; events?: unknown };
  if (t !== TAG || !Array.isArray(events) || events.length === 0) return undefined;
  try {
    for (const e of events) {
      validateEvent(e);
      const seq = (e as { seq?: unknown }).seq;
      if (!Number.isSafeInteger(seq) || (seq as number) < 1) return undefined;
    }
  } catch {
    return undefined;
  }
  return events as StoredEvent[];
}
