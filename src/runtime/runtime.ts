import {
  bytes,
  type Codec,
  type CommitResult,
  createEvent,
  ErrorCode,
  type EventBus,
  type EventHeader,
  EventError,
  type EventRef,
  type EventStore,
  type HasherOptions,
  isLocalVault,
  json,
  type LocalVault,
  type DeadLetter,
  type StoredEvent,
  type SubscribeOptions,
  type Subscription,
  subscribeWithHistory,
  throwIfAborted,
} from "../core/index.js";
import { type Clock, type RetryOptions, systemClock } from "./clock.js";
import { createEchoes } from "./echoes.js";
import { createMetrics, METRICS, type MetricsSink, type MetricsSnapshot } from "./metrics.js";
import { type PullOptions, REMOTE_CURSOR, runPuller } from "./puller.js";
import { type BatchOptions, runPusher } from "./pusher.js";
import { checkRuntimeOptions } from "./runtime-options.js";
import { createStatusCell, type RuntimeStatus } from "./status.js";
import type { SyncContext } from "./sync-context.js";
import { createWakeup } from "./wakeup.js";

/** Who syncs when several runtimes share one vault (tabs): `createTabLeader` fits. */
export interface Leadership {
  isLeader(): boolean;
  onChange(listener: (leader: boolean) => void): () => void;
}

/** Back-pressure on local commits while the outbox is full. */
export interface RuntimeLimits {
  /** Most events waiting in the outbox (default unbounded). */
  maxPending?: number;
  /** At the limit: `block` (default) waits for room, `reject` fails with `resource_exhausted`. */
  policy?: "block" | "reject";
}

/** Options of {@link createEventRuntime}. */
export interface EventRuntimeOptions extends HasherOptions {
  /** The local vault: memory or IndexedDB. */
  vault: LocalVault;
  /** Where committed and pulled events are published locally (e.g. the cross-tab bus). */
  bus?: EventBus;
  /** The remote store to sync with (e.g. `createRemoteStore`); without it the runtime is local only. */
  remote?: EventStore;
  clock?: Clock;
  batch?: BatchOptions;
  retry?: RetryOptions;
  limits?: RuntimeLimits;
  pull?: PullOptions;
  /** Only the leader syncs; every runtime commits. Default: this runtime always leads. */
  leader?: Leadership;
  /** Also report measurements here (e.g. an OpenTelemetry bridge). */
  metrics?: MetricsSink;
  /** How often an idle pusher looks at the outbox anyway (default 2,000 ms). */
  idleMs?: number;
}

/** Options of {@link EventRuntime.commit}. */
export interface RuntimeCommitOptions<T> {
  /** How to turn the value into payload bytes (default JSON; a Uint8Array is taken as raw bytes). */
  codec?: Codec<T>;
  parents?: (EventHeader | EventRef)[];
  intent?: string;
  signal?: AbortSignal;
}

/** The offline-first sync engine. */
export interface EventRuntime {
  /** Builds the event, stores it with its outbox entry (one transaction), publishes it locally. */
  commit<T>(kind: string, value: T, opts?: RuntimeCommitOptions<T>): Promise<StoredEvent>;
  /** History from the vault, then live from the bus (needs a bus). */
  subscribe(opts?: SubscribeOptions): Subscription;
  status(): RuntimeStatus;
  /** The current status, then every change. */
  statusChanges(opts?: { signal?: AbortSignal }): AsyncIterable<RuntimeStatus>;
  metrics(): MetricsSnapshot;
  deadLetters(): Promise<DeadLetter[]>;
  /** Puts dead letters (all, or those named) back in the outbox to be pushed again. */
  retryDeadLetters(ids?: string[]): Promise<void>;
  /** Resolves when the outbox is empty. */
  flush(opts?: { signal?: AbortSignal }): Promise<void>;
  /** Stops syncing; everything committed stays in the vault (pushed on the next start). */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const asyncDispose: typeof Symbol.asyncDispose = Symbol.asyncDispose ?? Symbol.for("Symbol.asyncDispose");

/**
 * Creates the sync engine over a local vault: commit at any time, online or not; the outbox is
 * pushed to `remote` exactly once per event (acks and outbox removal share a transaction), the
 * remote log is pulled into the vault (cursor and events share a transaction), and both loops
 * retry forever with backoff while the runtime is open.
 *
 * @example
 * const runtime = createEventRuntime({ vault, bus, remote: createRemoteStore({ transport }) });
 * await runtime.commit("todo.added", { title: "milk" });
 */
export function createEventRuntime(opts: EventRuntimeOptions): EventRuntime {
  const { vault, bus, remote, hasher } = opts;
  if (!isLocalVault(vault)) throw new EventError(ErrorCode.invalid_argument, "createEventRuntime needs a LocalVault (memory or IndexedDB)");
  checkRuntimeOptions(opts);
  const clock = opts.clock ?? systemClock;
  const metrics = createMetrics(opts.metrics);
  const maxPending = opts.limits?.maxPending ?? Infinity;
  const stop = new AbortController();
  const pushWake = createWakeup();
  const pullWake = createWakeup();
  let leading = opts.leader ? opts.leader.isLeader() : true;
  let leaderStop = new AbortController();
  if (!leading) leaderStop.abort();
  const status = createStatusCell({ online: false, leader: leading, pending: 0, deadLetters: 0, caughtUp: false, cursors: { remote: 0 }, closed: false });
  const report = (err: unknown) => {
    const e = EventError.from(err);
    status.update({ lastError: { code: e.code, message: e.message, at: clock.now() } });
    return e;
  };
  // Online once a link has worked, and while neither the push nor the pull link is failing.
  const linksDown = new Set<"push" | "pull">();
  let reached = false;
  const link = (name: "push" | "pull", up: boolean) => {
    if (up) {
      linksDown.delete(name);
      reached = true;
    } else linksDown.add(name);
    status.update({ online: reached && linksDown.size === 0 });
  };
  const refreshPending = async () => {
    const pending = await vault.outboxSize();
    metrics.set(METRICS.outboxDepth, pending);
    status.update({ pending });
  };

  const offLeader = opts.leader?.onChange((now) => {
    leading = now;
    if (now) leaderStop = new AbortController();
    else leaderStop.abort();
    status.update({ leader: now });
    pushWake.ring();
    pullWake.ring();
  });

  // With several runtimes on one vault (tabs), another one's commit lands in the shared vault and
  // arrives on the bus: the leader pushes it, and everyone's pending count follows.
  const watch = bus && remote && opts.leader ? bus.subscribe({ bufferSize: 1, overflow: "drop-oldest", signal: stop.signal }) : undefined;
  if (watch) void (async () => { for await (const _ of watch) { pushWake.ring(); void refreshPending().catch(() => {}); } })().catch(() => {});

  // Never rejects: a failed first read is reported, and the numbers catch up with the next update.
  const ready = Promise.all([refreshPending(), vault.cursor(REMOTE_CURSOR), vault.deadLetters()]).then(
    ([, remoteCursor, dead]) => status.update({ cursors: { remote: remoteCursor }, deadLetters: dead.length }),
    (err: unknown) => void report(err),
  );

  const loops: Promise<void>[] = [];
  if (remote) {
    const ctx: SyncContext = {
      vault, remote, bus, clock, retry: opts.retry ?? {}, metrics, status, signal: stop.signal,
      isLeader: () => leading,
      leaderSignal: () => (stop.signal.aborted ? stop.signal : leaderStop.signal),
      pushWake, pullWake, idleMs: opts.idleMs ?? 2000, refreshPending, report, link, echoes: createEchoes(),
    };
    loops.push(runPusher(ctx, opts.batch ?? {}), runPuller(ctx, opts.pull ?? {}));
  }

  // Commits admitted but not yet counted in `pending`: concurrent commits must not all slip in.
  let reserved = 0;

  async function admit(signal?: AbortSignal): Promise<void> {
    while (remote && status.peek().pending + reserved >= maxPending) {
      if (opts.limits?.policy === "reject") {
        throw new EventError(ErrorCode.resource_exhausted, `outbox is full (${maxPending} events wait to be pushed)`);
      }
      throwIfAborted(signal);
      if (stop.signal.aborted) throw new EventError(ErrorCode.failed_precondition, "runtime is closed");
      await status.next(signal);
    }
    reserved++;
  }

  async function commit<T>(kind: string, value: T, o: RuntimeCommitOptions<T> = {}): Promise<StoredEvent> {
    if (stop.signal.aborted) throw new EventError(ErrorCode.failed_precondition, "runtime is closed");
    const codec = (o.codec ?? (value instanceof Uint8Array ? bytes : json)) as Codec<T>;
    const event = createEvent({ kind, payload: codec.encode(value), parents: o.parents, intent: o.intent }, { hasher });
    await ready;
    await admit(o.signal);
    const t0 = clock.now();
    let r: CommitResult | undefined;
    try {
      [r] = await vault.commit([event], { outbox: remote !== undefined, signal: o.signal });
      if (r!.status === "stored" && remote) {
        const pending = status.peek().pending + 1;
        metrics.set(METRICS.outboxDepth, pending);
        status.update({ pending });
        pushWake.ring();
      }
    } finally {
      reserved--;
      if (!r) status.update({}); // a failed commit frees its place: wake commits waiting for room
    }
    const stored: StoredEvent = { ...event, seq: r!.seq };
    metrics.add(METRICS.committed, 1);
    metrics.record(METRICS.commitDuration, clock.now() - t0);
    if (r!.status === "stored" && bus) await bus.publish([stored]);
    return stored;
  }

  let closing: Promise<void> | undefined;
  function close(): Promise<void> {
    // Every caller waits for the same shutdown, however many times close() is called.
    return (closing ??= (async () => {
      stop.abort();
      leaderStop.abort();
      offLeader?.();
      await Promise.allSettled(loops);
      status.update({ closed: true, online: false });
    })());
  }

  return {
    commit,
    subscribe(subOpts) {
      if (!bus) throw new EventError(ErrorCode.failed_precondition, "subscribe needs a bus");
      return subscribeWithHistory(vault, bus, subOpts);
    },
    status: () => status.get(),
    statusChanges: (o) => status.changes(o?.signal),
    metrics: () => metrics.snapshot(),
    deadLetters: () => vault.deadLetters(),
    async retryDeadLetters(ids) {
      const all = ids ?? (await vault.deadLetters()).map((d) => d.event.header.id);
      await vault.requeue(all);
      status.update({ deadLetters: (await vault.deadLetters()).length });
      await refreshPending();
      pushWake.ring();
    },
    async flush(o) {
      await ready;
      for (;;) {
        throwIfAborted(o?.signal);
        if ((await vault.outboxSize()) === 0) return;
        if (!remote) throw new EventError(ErrorCode.failed_precondition, "nothing to flush to: the runtime has no remote");
        if (stop.signal.aborted) throw new EventError(ErrorCode.failed_precondition, "runtime is closed");
        // Progress shows in the status; a follower tab also looks again now and then, since the
        // leader's pushes are not announced to it.
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([status.next(o?.signal), new Promise<void>((r) => (timer = setTimeout(r, 250)))]);
        clearTimeout(timer);
      }
    },
    close,
    [asyncDispose]: close,
  };
}
