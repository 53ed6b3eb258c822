import { type Client, createClient, type Transport } from "@connectrpc/connect";
import {
  type CallOptions,
  checkAfter,
  checkSubscribeOptions,
  checkReadOptions,
  type CommitOptions,
  createSubscriberQueue,
  ErrorCode,
  type Event,
  EventError,
  type EventStore,
  isBytes,
  type ReadOptions,
  type StoredEvent,
  type SubscribeOptions,
  type Subscription,
  throwIfAborted,
  validateEvent,
} from "../../../core/index.js";
import { eventToProto, headerFromProto, resultFromProto, storedFromProto, toNumber } from "../convert.js";
import { fromConnectError } from "../errors.js";
import { EventStoreService } from "../gen/toka/events/v1/event_store_pb.js";

/** Options of {@link createRemoteStore}. */
export interface RemoteStoreOptions {
  /** Any Connect transport: connect-web (Connect, gRPC-web), connect-node (gRPC, Connect). */
  transport: Transport;
  /** Events per Read page (default 1,000; the server may cap it). */
  pageSize?: number;
  /**
   * A Subscribe stream that delivers nothing, not even a heartbeat, for this long is taken for
   * dead (a half-open connection never closes by itself) and ends with `unavailable`. Keep it a
   * few times the server's heartbeat interval (default 45,000 ms; servers beat every 15 s).
   */
  idleTimeoutMs?: number;
  /** Deadline of each unary call; past it the call fails with `deadline_exceeded` (default 30,000 ms). */
  callTimeoutMs?: number;
}

/**
 * A remote event store over the EventStore service: the Vault API plus `subscribe` (history then
 * live). Errors are EventErrors with the server's code. A subscription never shows a gap: a slow
 * consumer holds back the stream (`overflow: "error"` ends it with `resource_exhausted` instead).
 * It ends with an error when the connection fails (`unavailable`); resubscribe after the last
 * seq received.
 *
 * @example
 * const store = createRemoteStore({ transport: createWebTransport({ baseUrl }) });
 * await store.commit([event]);
 * for await (const m of store.subscribe({ kinds: ["chat.*"], after: 0 })) { ... }
 */
export function createRemoteStore(opts: RemoteStoreOptions): EventStore {
  const client: Client<typeof EventStoreService> = createClient(EventStoreService, opts.transport);
  const pageSize = opts.pageSize ?? 1000;
  const idleTimeoutMs = opts.idleTimeoutMs ?? 45_000;
  const timeoutMs = opts.callTimeoutMs ?? 30_000;
  const live = new Set<Subscription>();
  let closed = false;

  async function call<T>(signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
    if (closed) throw new EventError(ErrorCode.failed_precondition, "remote store is closed");
    throwIfAborted(signal);
    try {
      return await fn();
    } catch (err) {
      throw fromConnectError(err);
    }
  }

  async function* read(readOpts: ReadOptions): AsyncGenerator<StoredEvent> {
    const { after, limit } = checkReadOptions(readOpts);
    const { kinds = [], signal } = readOpts;
    let from = after;
    let left = limit;
    while (left > 0) {
      const page = await call(signal, () => client.read({ after: BigInt(from), kinds, limit: Math.min(left, pageSize) }, { signal, timeoutMs }));
      for (const e of page.events) {
        const s = storedFromProto(e);
        from = s.seq;
        left--;
        yield s;
      }
      if (!page.more || page.events.length === 0) return;
    }
  }

  function subscribe(subOpts: SubscribeOptions = {}): Subscription {
    if (closed) throw new EventError(ErrorCode.failed_precondition, "remote store is closed");
    const { bufferSize, overflow, after } = checkSubscribeOptions(subOpts);
    const stop = new AbortController();
    // A full queue stops reading the stream: flow control pushes back to the server, whose own
    // subscription re-reads what it had to drop. So only "error" changes anything here.
    const queue = createSubscriberQueue({
      bufferSize,
      overflow: overflow === "error" ? "error" : "block",
      signal: subOpts.signal,
      onClose: () => {
        stop.abort();
        live.delete(queue);
      },
    });
    if (queue.closed) return queue;
    live.add(queue);
    // Armed only while waiting on the network (not while the consumer holds the queue full).
    let watchdog: ReturnType<typeof setTimeout> | undefined;
    const arm = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => {
        queue.end(new EventError(ErrorCode.unavailable, `the subscription went silent for ${idleTimeoutMs} ms`));
        stop.abort();
      }, idleTimeoutMs);
    };
    (async () => {
      const stream = client.subscribe(
        { kinds: subOpts.kinds ?? [], after: BigInt(after), includePayloads: true },
        { signal: stop.signal },
      );
      arm();
      for await (const res of stream) {
        clearTimeout(watchdog);
        const m = res.message;
        if (m.case === "events") {
          for (const e of m.value.events) {
            const r = queue.push({ type: "event", event: storedFromProto(e) });
            if (r) await r;
          }
        } else if (m.case === "caughtUp") {
          const r = queue.push({ type: "caught-up", seq: toNumber(m.value.seq, "seq") });
          if (r) await r;
        }
        if (queue.closed) return;
        arm();
      }
      queue.end(new EventError(ErrorCode.unavailable, "the server ended the subscription"));
    })()
      .finally(() => clearTimeout(watchdog))
      .catch((err: unknown) => {
        if (queue.closed) return;
        const e = fromConnectError(err);
        // Nobody here canceled it: the connection was cut (e.g. the server went away mid-stream).
        queue.end(e.code === ErrorCode.canceled ? new EventError(ErrorCode.unavailable, `subscription lost: ${e.message}`, { cause: err }) : e);
      });
    return queue;
  }

  return {
    async commit(events: Event[], callOpts?: CommitOptions) {
      if (!Array.isArray(events)) throw new EventError(ErrorCode.invalid_argument, "commit takes an array of events");
      for (const e of events) validateEvent(e);
      checkAfter(callOpts?.after);
      const signal = callOpts?.signal;
      const res = await call(signal, () => client.commit({ events: events.map(eventToProto), after: callOpts?.after ?? "" }, { signal, timeoutMs }));
      if (res.results.length !== events.length) {
        throw new EventError(ErrorCode.internal, `server answered ${res.results.length} results for ${events.length} events`);
      }
      return res.results.map(resultFromProto);
    },
    async header(id, callOpts) {
      if (typeof id !== "string") throw new EventError(ErrorCode.invalid_argument, "header() takes a lowercase canonical UUID");
      const signal = callOpts?.signal;
      const res = await call(signal, () => client.getHeader({ id }, { signal, timeoutMs }));
      return res.header ? headerFromProto(res.header) : undefined;
    },
    async payload(digest, callOpts) {
      if (!isBytes(digest)) throw new EventError(ErrorCode.invalid_argument, "payload() takes a 32-byte digest");
      const signal = callOpts?.signal;
      const res = await call(signal, () => client.getPayload({ digest }, { signal, timeoutMs }));
      return res.payload;
    },
    async head(callOpts) {
      const signal = callOpts?.signal;
      const res = await call(signal, () => client.head({}, { signal, timeoutMs }));
      return toNumber(res.head, "head");
    },
    read: (readOpts = {}) => read(readOpts),
    subscribe,
    async close() {
      closed = true;
      for (const s of [...live]) s.close();
    },
  };
}
