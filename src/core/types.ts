/** An event id: a UUIDv7 in lowercase canonical form (time-ordered). */
export type EventId = string;

/** An intent id: a UUID grouping the events of one user intention. */
export type IntentId = string;

/** The intent of events that belong to no particular intent. */
export const NIL_INTENT: IntentId = "00000000-0000-0000-0000-000000000000";

/** A reference to another event: its id and the digest it must have. */
export interface EventRef {
  id: EventId;
  /** 32-byte BLAKE3 causal digest of the referenced event. */
  digest: Uint8Array;
}

/** Everything about an event but its payload. */
export interface EventHeader {
  id: EventId;
  /** Causal parents with their digests (may be empty); no duplicate ids. */
  parents: EventRef[];
  /** Creation time, integer ms since the Unix epoch. */
  timestamp: number;
  /** 32-byte BLAKE3 causal digest v1 over every other field and the payload (docs/digest.md). */
  digest: Uint8Array;
  intent: IntentId;
  /** Dotted lowercase, optional `@version`: `chat.msg`, `chat.msg@2`; at most 128 bytes. */
  kind: string;
}

/** An event: header plus opaque payload bytes. */
export interface Event {
  header: EventHeader;
  payload: Uint8Array;
}

/** An event at its position in the vault or store that holds it (1-based, gap-free). */
export interface StoredEvent extends Event {
  seq: number;
}

/** The outcome of committing one event. */
export interface CommitResult {
  id: EventId;
  seq: number;
  /** `duplicate`: the same event was already stored, `seq` is the original one. */
  status: "stored" | "duplicate";
}

/** What a subscriber receives. */
export type BusMessage =
  | { type: "event"; event: StoredEvent }
  /** History replay finished; everything after this is live. */
  | { type: "caught-up"; seq: number }
  /** The subscriber lost the events with seq in `from..to` (inclusive) to overflow. */
  | { type: "gap"; from: number; to: number };

/** What a slow subscriber's full queue does to the next message. */
export type OverflowPolicy = "block" | "drop-oldest" | "error";

/** Options of {@link EventBus.subscribe}. */
export interface SubscribeOptions {
  /** Kind patterns (`chat.msg`, `chat.*`, `*`); all kinds when omitted or empty. */
  kinds?: string[];
  /** Only events with a greater seq; with a vault behind it, history after this seq first. */
  after?: number;
  /** Messages queued for this subscriber before the overflow policy applies (default 1024). */
  bufferSize?: number;
  /**
   * `block`: publish waits for room; `drop-oldest` (default): the oldest queued events are
   * dropped and a `gap` message names them; `error`: the subscription ends with `resource_exhausted`.
   */
  overflow?: OverflowPolicy;
  /** Ends the subscription when aborted. */
  signal?: AbortSignal;
}

/** A live subscription: iterate it once; close it (or abort its signal) to end it. */
export interface Subscription extends AsyncIterable<BusMessage>, AsyncIterator<BusMessage> {
  close(): void;
  /**
   * Up to `max` messages that are already queued, taken at once without waiting (none when the
   * queue is empty). A consumer that handles messages in batches awaits `next()` for the first and
   * takes the rest with this, instead of an awaited call per message.
   */
  takeQueued(max: number): BusMessage[];
  [Symbol.asyncDispose](): Promise<void>;
}

/** Typed payloads: how a value becomes payload bytes and back. */
export interface Codec<T> {
  encode(value: T): Uint8Array;
  decode(bytes: Uint8Array): T;
}

/** Options accepted by every async call. */
export interface CallOptions {
  signal?: AbortSignal;
}

/** Where events are committed. */
export interface EventSink {
  /** Commits a batch atomically: every event is stored (or found a duplicate) or none is. */
  commit(events: Event[], opts?: CallOptions): Promise<CommitResult[]>;
}

/** Options of {@link QueryApi.read}. */
export interface ReadOptions extends CallOptions {
  /** Only events with a greater seq (default 0: from the start). */
  after?: number;
  /** Kind patterns; all kinds when omitted. */
  kinds?: string[];
  /** At most this many events. */
  limit?: number;
}

/** Reading what a vault or store holds. */
export interface QueryApi {
  header(id: EventId, opts?: CallOptions): Promise<EventHeader | undefined>;
  payload(digest: Uint8Array, opts?: CallOptions): Promise<Uint8Array | undefined>;
  /** Events in seq order. */
  read(opts?: ReadOptions): AsyncIterable<StoredEvent>;
  /** Highest seq, 0 when empty. */
  head(opts?: CallOptions): Promise<number>;
}

/** Fans stored events out to subscribers. */
export interface EventBus {
  /** Delivers events (in seq order) to matching subscribers; a promise when a `block` subscriber is full. */
  publish(events: StoredEvent[]): void | Promise<void>;
  subscribe(opts?: SubscribeOptions): Subscription;
}

/** A local or remote event log. */
export type Vault = EventSink & QueryApi & { close(): Promise<void> };
