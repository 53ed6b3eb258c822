import type { MessageInitShape } from "@bufbuild/protobuf";
import { type BusMessage, ErrorCode, EventError, type Subscription } from "../../../core/index.js";
import { storedToProto } from "../convert.js";
import type { SubscribeResponseSchema } from "../gen/toka/events/v1/event_store_pb.js";

type Response = MessageInitShape<typeof SubscribeResponseSchema>;
type Next = IteratorResult<BusMessage>;

const TIMEOUT = Symbol("timeout");

/** Options of {@link subscribeResponses}. */
export interface StreamOptions {
  maxBatch: number;
  heartbeatMs: number;
  includePayloads: boolean;
  head: () => Promise<number>;
}

/**
 * Turns a subscription into Subscribe responses. Events already queued go out together, up to
 * `maxBatch` per message (one message costs far more than one event), while an event that
 * arrives on an idle stream goes out at once. An idle stream sends heartbeats. The subscription
 * is closed however the stream ends.
 */
export async function* subscribeResponses(sub: Subscription, opts: StreamOptions): AsyncGenerator<Response> {
  let pending: Promise<Next> | undefined;
  try {
    for (;;) {
      // What is queued goes out at once; only an empty queue waits (with a heartbeat timer).
      let messages = pending ? [] : sub.takeQueued(opts.maxBatch);
      if (messages.length === 0) {
        pending ??= sub.next();
        const first = await withTimeout(pending, opts.heartbeatMs);
        if (first === TIMEOUT) {
          yield { message: { case: "heartbeat", value: { head: BigInt(await opts.head()) } } };
          continue;
        }
        pending = undefined;
        if (first.done) return;
        messages = [first.value, ...sub.takeQueued(opts.maxBatch - 1)];
      }
      const out: Response[] = [];
      let batch: ReturnType<typeof storedToProto>[] = [];
      for (const m of messages) {
        if (m.type === "event") {
          batch.push(storedToProto(m.event, opts.includePayloads));
          continue;
        }
        if (batch.length > 0) out.push(eventsMessage(batch));
        batch = [];
        out.push(control(m));
      }
      if (batch.length > 0) out.push(eventsMessage(batch));
      yield* out;
    }
  } finally {
    sub.close();
  }
}

function eventsMessage(events: ReturnType<typeof storedToProto>[]): Response {
  return { message: { case: "events", value: { events } } };
}

function control(m: Exclude<BusMessage, { type: "event" }>): Response {
  if (m.type === "caught-up") return { message: { case: "caughtUp", value: { seq: BigInt(m.seq) } } };
  // The store's subscriptions re-read lost events themselves; a gap here means they could not.
  throw new EventError(ErrorCode.aborted, `subscription lost events ${m.from}..${m.to}; resubscribe after the last seq received`);
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | typeof TIMEOUT> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<typeof TIMEOUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMEOUT), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}
