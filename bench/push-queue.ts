/**
 * The floor a bus subscription is measured against: the least an async-iterable push queue can
 * do (an array buffer plus one pending resolver), with no bound, policy, filter or message wrapper.
 */
export class PushQueue<T> implements AsyncIterableIterator<T> {
  private buf: T[] = [];
  private head = 0;
  private pending: ((r: IteratorResult<T>) => void) | undefined;
  private ended = false;

  push(value: T): void {
    const pending = this.pending;
    if (pending) {
      this.pending = undefined;
      pending({ value, done: false });
    } else this.buf.push(value);
  }

  /** Ends iteration once the buffer is drained. */
  end(): void {
    this.ended = true;
    const pending = this.pending;
    this.pending = undefined;
    pending?.({ value: undefined, done: true });
  }

  next(): Promise<IteratorResult<T>> {
    if (this.head < this.buf.length) {
      const value = this.buf[this.head++]!;
      if (this.head === this.buf.length) {
        this.buf = [];
        this.head = 0;
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => (this.pending = resolve));
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

/**
 * Counts deliveries across all consumers of one run and wakes the publisher when a target count
 * is reached, so the publisher never runs ahead of a consumer by more than one chunk.
 */
export class Tally {
  private count = 0;
  private target = Infinity;
  private wake: (() => void) | undefined;
  private fail: ((err: unknown) => void) | undefined;
  private error: unknown;

  add(): void {
    if (++this.count < this.target) return;
    const wake = this.wake;
    this.target = Infinity;
    this.wake = this.fail = undefined;
    wake?.();
  }

  /** Settles once `target` deliveries were counted; rejects if a consumer failed. */
  reach(target: number): Promise<void> | undefined {
    if (this.error !== undefined) return Promise.reject(this.error);
    if (this.count >= target) return undefined;
    this.target = target;
    return new Promise((resolve, reject) => {
      this.wake = resolve;
      this.fail = reject;
    });
  }

  /** A consumer failed: a waiting publisher must not hang on deliveries that will never come. */
  abort(err: unknown): void {
    this.error = err;
    this.fail?.(err);
  }
}

/**
 * Counts every value of a queue into `tally`. The bus has its own loop (it checks message types):
 * sharing one would make its `next()` call site polymorphic and tax both contenders.
 */
export async function drain<T>(queue: PushQueue<T>, tally: Tally): Promise<void> {
  for await (const _ of queue) tally.add();
}
