import { type EventBus, EventError, type EventStore, type LocalVault } from "../core/index.js";
import { backoff, type Clock, type RetryOptions } from "./clock.js";
import type { Echoes } from "./echoes.js";
import type { MetricsSink } from "./metrics.js";
import type { StatusCell } from "./status.js";
import type { Wakeup } from "./wakeup.js";

/** What the push and pull loops share with the runtime. */
export interface SyncContext {
  vault: LocalVault;
  remote: EventStore;
  bus: EventBus | undefined;
  clock: Clock;
  retry: RetryOptions;
  metrics: MetricsSink;
  status: StatusCell;
  /** Aborted when the runtime closes. */
  signal: AbortSignal;
  isLeader(): boolean;
  /** Aborted when this runtime stops leading (or closes). */
  leaderSignal(): AbortSignal;
  /** Rung when the outbox may have grown, or leadership changed. */
  pushWake: Wakeup;
  /** Rung when leadership changed. */
  pullWake: Wakeup;
  /** Checks the outbox again now and then even without a ring (another tab may have written). */
  idleMs: number;
  /** Re-reads the outbox size into the status and the depth gauge. */
  refreshPending(): Promise<void>;
  /** Remembers an error in the status, whatever was thrown. */
  report(err: unknown): EventError;
  /** What the pusher sent, for the puller to recognise when it comes back. */
  echoes: Echoes;
  /** Records whether a link to the remote works; the status is online while both do. */
  link(name: "push" | "pull", up: boolean): void;
}

/** Sleeps for the backoff of `attempt`; false when the runtime closed meanwhile. */
export async function pause(ctx: SyncContext, attempt: number): Promise<boolean> {
  try {
    await ctx.clock.sleep(backoff(attempt, ctx.retry, ctx.clock), ctx.signal);
    return true;
  } catch {
    return false;
  }
}
