import { ErrorCode, EventError } from "../../core/index.js";

/** Options of {@link createTabLeader}. */
export interface TabLeaderOptions {
  /** Contexts that use the same name (and origin) elect one leader among them. */
  name: string;
}

/** This context's part in the election. */
export interface TabLeader {
  /** True while this context holds the lock. */
  isLeader(): boolean;
  /** Calls `listener` with the new state on every change; returns an unsubscribe function. */
  onChange(listener: (leader: boolean) => void): () => void;
  /** Resolves once this context is the leader (or rejects when closed first). */
  whenLeader(): Promise<void>;
  /** Gives the lock up (or stops waiting for it). */
  close(): void;
  [Symbol.asyncDispose](): Promise<void>;
}

const asyncDispose: typeof Symbol.asyncDispose = Symbol.asyncDispose ?? Symbol.for("Symbol.asyncDispose");

interface LockManagerLike {
  request(name: string, opts: { signal?: AbortSignal }, cb: () => Promise<void>): Promise<unknown>;
}

/**
 * Elects exactly one leader among the tabs and workers of an origin with the Web Locks API: each
 * context waits for one exclusive lock and holds it until it closes. When the leader's tab closes
 * or crashes the browser releases the lock, and the next waiting context becomes leader at once.
 * The sync engine uses it so that one tab syncs while every tab writes.
 *
 * @example
 * const leader = createTabLeader({ name: "my-app" });
 * leader.onChange((on) => console.log(on ? "syncing here" : "another tab syncs"));
 */
export function createTabLeader(opts: TabLeaderOptions): TabLeader {
  if (typeof opts?.name !== "string" || opts.name.length === 0) {
    throw new EventError(ErrorCode.invalid_argument, "createTabLeader needs a name");
  }
  const locks = (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator?.locks;
  if (!locks) throw new EventError(ErrorCode.unimplemented, "the Web Locks API is not available in this runtime");
  const listeners = new Set<(leader: boolean) => void>();
  const stop = new AbortController();
  let leader = false;
  let release: (() => void) | undefined;
  let becameLeader: () => void = () => {};
  let closedBeforeLeading: (err: unknown) => void = () => {};
  const led = new Promise<void>((resolve, reject) => {
    becameLeader = resolve;
    closedBeforeLeading = reject;
  });
  led.catch(() => {});

  const set = (v: boolean) => {
    if (leader === v) return;
    leader = v;
    for (const l of [...listeners]) l(v);
  };

  locks
    .request(`toka-events:leader:${opts.name}`, { signal: stop.signal }, () => {
      set(true);
      becameLeader();
      return new Promise<void>((resolve) => (release = resolve));
    })
    .catch(() => {}); // aborted while waiting: closed

  function close(): void {
    if (stop.signal.aborted) return;
    closedBeforeLeading(new EventError(ErrorCode.canceled, "tab leader closed"));
    stop.abort();
    release?.();
    set(false);
  }

  return {
    isLeader: () => leader,
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    whenLeader: () => led,
    close,
    [asyncDispose]: async () => close(),
  };
}
