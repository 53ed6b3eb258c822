import { ErrorCode, EventError } from "./errors.js";
import { kindFilter } from "./kind.js";
import type { BusMessage, OverflowPolicy, SubscribeOptions, Subscription } from "./types.js";

/** Default number of queued event messages per subscriber. */
export const DEFAULT_BUFFER_SIZE = 1024;

const asyncDispose: typeof Symbol.asyncDispose = Symbol.asyncDispose ?? Symbol.for("Symbol.asyncDispose");
const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/** Options of {@link createSubscriberQueue}. */
export interface SubscriberQueueOptions {
  bufferSize?: number;
  overflow?: OverflowPolicy;
  signal?: AbortSignal;
  /** Called once when the subscription ends for any reason (close, abort, overflow error, end). */
  onClose?: () => void;
}

/**
 * A subscription's bounded queue, fed by a bus with {@link SubscriberQueue.push}. Event messages
 * count against `bufferSize`; control messages (`caught-up`, `gap`) never do and are never dropped.
 */
export interface SubscriberQueue extends Subscription {
  /**
   * Queues a message. Returns a promise only under the `block` policy when the queue is full: it
   * settles once the message is queued (or the subscription ended). Never throws.
   */
  push(message: BusMessage): void | Promise<void>;
  /** Ends the subscription after the queued messages, with `err` if given. */
  end(err?: EventError): void;
  /** True once closed or ended: further pushes are ignored. */
  readonly closed: boolean;
}

/**
 * Creates the queue behind a {@link Subscription}. Every bus adapter uses it, so overflow
 * policies behave the same everywhere.
 */
export function createSubscriberQueue(opts: SubscriberQueueOptions = {}): SubscriberQueue {
  const { bufferSize, overflow } = checkQueueOptions(opts);
  let buf: BusMessage[] = [];
  let head = 0;
  let events = 0; // event messages in buf
  let parked: { message: BusMessage; resolve: () => void }[] = [];
  let waiter: ((r: IteratorResult<BusMessage>) => void) | undefined;
  let failWaiter: ((e: unknown) => void) | undefined;
  let ending = false; // no more pushes; drain then finish
  let error: EventError | undefined;
  let finished = false; // fully done: iteration returns done
  const signal = opts.signal;

  const onAbort = () => close();
  signal?.addEventListener("abort", onAbort, { once: true });

  function release(): void {
    signal?.removeEventListener("abort", onAbort);
    for (const p of parked) p.resolve();
    parked = [];
    opts.onClose?.();
  }

  function close(): void {
    if (finished) return;
    const wasEnding = ending;
    finished = ending = true;
    buf = [];
    head = 0;
    events = 0;
    error = undefined;
    if (!wasEnding) release();
    const w = waiter;
    waiter = failWaiter = undefined;
    w?.(DONE);
  }

  function end(err?: EventError): void {
    if (ending) return;
    ending = true;
    error = err;
    release();
    if (waiter && head === buf.length) settleEmpty();
  }

  function settleEmpty(): void {
    const w = waiter;
    const f = failWaiter;
    waiter = failWaiter = undefined;
    finished = true;
    if (error) {
      const e = error;
      error = undefined;
      f?.(e);
    } else w?.(DONE);
  }

  function take(): BusMessage {
    const m = buf[head]!;
    buf[head++] = undefined as unknown as BusMessage;
    if (head === buf.length) {
      buf = [];
      head = 0;
    } else if (head > 1024 && head * 2 > buf.length) {
      buf = buf.slice(head);
      head = 0;
    }
    if (m.type === "event") {
      events--;
      if (parked.length > 0) unpark();
    }
    return m;
  }

  function unpark(): void {
    let i = 0;
    while (i < parked.length && (events < bufferSize || parked[i]!.message.type !== "event")) {
      const p = parked[i++]!;
      append(p.message);
      p.resolve();
    }
    parked = i === parked.length ? [] : parked.slice(i);
  }

  function append(m: BusMessage): void {
    if (m.type === "event") events++;
    buf.push(m);
  }

  function dropOldest(): void {
    let i = head;
    while (buf[i]!.type !== "event") i++;
    const seq = (buf[i] as Extract<BusMessage, { type: "event" }>).event.seq;
    events--;
    const prev = i > head ? buf[i - 1]! : undefined;
    if (prev?.type === "gap") {
      // A new object: a message may be shared with other subscribers' queues.
      buf[i - 1] = { type: "gap", from: Math.min(prev.from, seq), to: Math.max(prev.to, seq) };
      for (let k = i; k > head; k--) buf[k] = buf[k - 1]!;
      buf[head++] = undefined as unknown as BusMessage;
    } else {
      buf[i] = { type: "gap", from: seq, to: seq };
    }
  }

  function push(message: BusMessage): void | Promise<void> {
    if (ending) return;
    if (waiter) {
      const w = waiter;
      waiter = failWaiter = undefined;
      w({ value: message, done: false });
      return;
    }
    if (message.type !== "event" || events < bufferSize) {
      if (parked.length > 0 && message.type !== "event") {
        return new Promise((resolve) => parked.push({ message, resolve }));
      }
      append(message);
      return;
    }
    if (overflow === "drop-oldest") {
      dropOldest();
      append(message);
      return;
    }
    if (overflow === "error") {
      end(
        new EventError(
          ErrorCode.resource_exhausted,
          `subscriber fell more than ${bufferSize} events behind (overflow policy "error")`,
          { details: { bufferSize } },
        ),
      );
      return;
    }
    return new Promise((resolve) => parked.push({ message, resolve }));
  }

  const queue: SubscriberQueue = {
    push,
    end,
    close,
    get closed() {
      return ending;
    },
    takeQueued(max: number): BusMessage[] {
      if (!Number.isSafeInteger(max) || max < 0) {
        throw new EventError(ErrorCode.invalid_argument, `takeQueued takes a non-negative integer, got ${String(max)}`);
      }
      const out: BusMessage[] = [];
      while (out.length < max && head < buf.length) out.push(take());
      return out;
    },
    next(): Promise<IteratorResult<BusMessage>> {
      if (head < buf.length) return Promise.resolve({ value: take(), done: false });
      if (finished) return Promise.resolve(DONE);
      if (ending) {
        return new Promise((resolve, reject) => {
          waiter = resolve;
          failWaiter = reject;
          settleEmpty();
        });
      }
      if (waiter) return Promise.reject(new TypeError("a subscription is iterated by one consumer at a time"));
      return new Promise((resolve, reject) => {
        waiter = resolve;
        failWaiter = reject;
      });
    },
    return(): Promise<IteratorResult<BusMessage>> {
      close();
      return Promise.resolve(DONE);
    },
    [Symbol.asyncIterator]() {
      return queue;
    },
    [asyncDispose]() {
      close();
      return Promise.resolve();
    },
  };
  if (signal?.aborted) close();
  return queue;
}

/** Validates subscription buffer options, with the defaults filled in. */
export function checkQueueOptions(opts: { bufferSize?: number; overflow?: OverflowPolicy }): {
  bufferSize: number;
  overflow: OverflowPolicy;
} {
  const bufferSize = opts.bufferSize ?? DEFAULT_BUFFER_SIZE;
  const overflow = opts.overflow ?? "drop-oldest";
  if (!Number.isSafeInteger(bufferSize) || bufferSize < 1) {
    throw new EventError(ErrorCode.invalid_argument, `bufferSize must be a positive integer, got ${String(bufferSize)}`);
  }
  if (overflow !== "block" && overflow !== "drop-oldest" && overflow !== "error") {
    throw new EventError(ErrorCode.invalid_argument, `overflow must be "block", "drop-oldest" or "error", got ${String(overflow)}`);
  }
  return { bufferSize, overflow };
}

/**
 * Validates all subscribe options, with defaults filled in: the kind filter (`undefined` when
 * every kind matches), buffer and overflow, and `after`. Shared by every bus and store.
 */
export function checkSubscribeOptions(opts: SubscribeOptions): {
  matches: ((kind: string) => boolean) | undefined;
  bufferSize: number;
  overflow: OverflowPolicy;
  after: number;
} {
  const filter = kindFilter(opts.kinds);
  const matches = !opts.kinds || opts.kinds.length === 0 || opts.kinds.includes("*") ? undefined : filter;
  const after = opts.after ?? 0;
  if (!Number.isSafeInteger(after) || after < 0) {
    throw new EventError(ErrorCode.invalid_argument, `after must be a non-negative integer seq, got ${String(after)}`);
  }
  return { matches, after, ...checkQueueOptions(opts) };
}
