import { ErrorCode, type Event, EventError, type StoredEvent } from "../core/index.js";
import { METRICS } from "./metrics.js";
import { pause, type SyncContext } from "./sync-context.js";

/** Bounds of one push. */
export interface BatchOptions {
  /** Most events per Commit (default 500). */
  maxEvents?: number;
  /** Most payload bytes per Commit; a bigger single event still goes alone (default 1 MiB). */
  maxBytes?: number;
  /** Wait this long for more events before pushing a partial batch (default 0: push at once). */
  delayMs?: number;
}

/**
 * Drains the outbox to the remote store for as long as the runtime is open. Failures that say
 * nothing about the events (outages, auth, bugs) wait with capped exponential backoff and jitter,
 * then retry the same events; a refused batch is
 * split until the refused event is found, which then moves to the dead letters with every outbox
 * event that descends from it. Acks are recorded in the vault (outbox removal and remote seq in
 * one transaction). No error ends the loop.
 */
export async function runPusher(ctx: SyncContext, batch: BatchOptions): Promise<void> {
  const maxEvents = batch.maxEvents ?? 500;
  const maxBytes = batch.maxBytes ?? 1 << 20;
  let attempt = 0;
  let isolate = 0; // after a refusal, push one event at a time for this many events
  while (!ctx.signal.aborted) {
    try {
      if (!ctx.isLeader()) {
        await ctx.pushWake.wait(ctx.idleMs, ctx.signal);
        // The leader's acks are not announced to followers: re-count what is still pending.
        if (!ctx.signal.aborted) await ctx.refreshPending();
        continue;
      }
      let events = await ctx.vault.outbox({ limit: isolate > 0 ? 1 : maxEvents });
      if (events.length === 0) {
        // What a failed push held was delivered after all (the pull acknowledged it): the push
        // link has nothing left that fails.
        if (attempt > 0) {
          attempt = 0;
          ctx.link("push", true);
        }
        // A commit that counted itself after this loop had pushed it would leave pending stale.
        if (ctx.status.get().pending !== 0) await ctx.refreshPending();
        await ctx.pushWake.wait(ctx.idleMs, ctx.signal);
        continue;
      }
      if (batch.delayMs && events.length < maxEvents && isolate === 0) {
        await ctx.clock.sleep(batch.delayMs, ctx.signal);
        events = await ctx.vault.outbox({ limit: maxEvents });
      }
      events = byBytes(events, maxBytes);
      const outcome = await pushOnce(ctx, events);
      if (outcome === "pushed") {
        attempt = 0;
        isolate = Math.max(0, isolate - events.length);
      } else if (outcome === "split") {
        isolate = events.length;
      } else if (outcome === "rejected") {
        isolate = Math.max(0, isolate - 1);
      } else if (outcome === "retry" && !(await pause(ctx, attempt++))) return;
    } catch (err) {
      // The vault itself failed (or code we call threw): note it, back off, carry on.
      if (ctx.signal.aborted) return;
      ctx.report(err);
      if (!(await pause(ctx, attempt++))) return;
    }
  }
}

async function pushOnce(ctx: SyncContext, events: StoredEvent[]): Promise<"pushed" | "retry" | "split" | "rejected"> {
  const t0 = ctx.clock.now();
  let results;
  try {
    results = await ctx.remote.commit(events.map(toEvent), { signal: ctx.signal });
  } catch (err) {
    if (ctx.signal.aborted) return "retry";
    const e = ctx.report(err);
    if (!isRefusal(e)) {
      ctx.link("push", false);
      ctx.metrics.add(METRICS.retried, 1);
      return "retry";
    }
    ctx.link("push", true); // the server answered: it is reachable, it refused
    if (events.length > 1) return "split";
    await deadLetter(ctx, events[0]!, e);
    return "rejected";
  }
  await ctx.vault.acknowledge(results.map((r, i) => ({ id: events[i]!.header.id, remoteSeq: r.seq })));
  const now = ctx.clock.now();
  ctx.metrics.add(METRICS.pushed, events.length);
  ctx.metrics.record(METRICS.pushDuration, now - t0);
  for (const e of events) ctx.metrics.record(METRICS.syncLatency, Math.max(0, now - e.header.timestamp));
  ctx.status.update({ lastPushAt: now });
  ctx.link("push", true);
  await ctx.refreshPending();
  return "pushed";
}

/** Moves a refused event and its outbox descendants (they can never be accepted) to the dead letters. */
async function deadLetter(ctx: SyncContext, refused: StoredEvent, err: EventError): Promise<void> {
  const dead = new Set([refused.header.id]);
  for (const e of await ctx.vault.outbox()) {
    if (e.header.parents.some((p) => dead.has(p.id))) dead.add(e.header.id);
  }
  const error = { code: err.code, message: err.message };
  const items = [...dead].map((id) => ({
    id,
    error: id === refused.header.id ? error : { code: err.code, message: `ancestor ${refused.header.id} was refused: ${err.message}` },
  }));
  await ctx.vault.deadLetter(items);
  ctx.metrics.add(METRICS.rejected, items.length);
  ctx.status.update({ deadLetters: (await ctx.vault.deadLetters()).length });
  await ctx.refreshPending();
}

/**
 * Whether the server refused the events themselves. Everything else — outages, an expired token
 * (`unauthenticated`), a server or client bug (`internal`, `unknown`) — says nothing about the
 * events and is retried instead of dead-lettering them.
 */
function isRefusal(e: EventError): boolean {
  return REFUSALS.has(e.code);
}

const REFUSALS = new Set<string>([
  ErrorCode.invalid_argument,
  ErrorCode.failed_precondition,
  ErrorCode.already_exists,
  ErrorCode.permission_denied,
  ErrorCode.out_of_range,
]);

function byBytes(events: StoredEvent[], maxBytes: number): StoredEvent[] {
  let total = 0;
  for (let i = 0; i < events.length; i++) {
    total += events[i]!.payload.length;
    if (total > maxBytes) return events.slice(0, Math.max(1, i));
  }
  return events;
}

function toEvent(e: StoredEvent): Event {
  return { header: e.header, payload: e.payload };
}
