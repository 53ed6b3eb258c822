import { type CommitResult, ErrorCode, type Event, EventError, type StoredEvent } from "../core/index.js";
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
  /**
   * Most pushes on the way at once (default 4). Each names the batch before it, so the server
   * stores them in outbox order; 1 sends the next batch only after the last one's ack.
   */
  maxInFlight?: number;
}

/**
 * Drains the outbox to the remote store for as long as the runtime is open, with up to
 * `maxInFlight` batches on the way at once: each names the last event of the batch before it
 * (`after`), so the server stores them in the order they left the outbox. Failures that say
 * nothing about the events (outages, auth, bugs) wait with capped exponential backoff and jitter,
 * then retry the same events; a refused batch is split until the refused event is found, which then
 * moves to the dead letters with every outbox event that descends from it. Acks are recorded in
 * the vault (outbox removal and remote seq in one transaction). No error ends the loop.
 */
export async function runPusher(ctx: SyncContext, batch: BatchOptions): Promise<void> {
  const maxEvents = batch.maxEvents ?? 500;
  const maxBytes = batch.maxBytes ?? 1 << 20;
  const maxInFlight = batch.maxInFlight ?? 4;
  const flights: Flight[] = []; // oldest first
  let attempt = 0;
  let isolate = 0; // after a refusal, push one event at a time for this many events
  while (!ctx.signal.aborted) {
    try {
      if (ctx.isLeader() && flights.length < (isolate > 0 ? 1 : maxInFlight)) {
        const last = flights.at(-1)?.events.at(-1);
        let events = await ctx.vault.outbox({ after: last?.seq ?? 0, limit: isolate > 0 ? 1 : maxEvents });
        if (events.length > 0) {
          if (batch.delayMs && !last && events.length < maxEvents && isolate === 0) {
            await ctx.clock.sleep(batch.delayMs, ctx.signal);
            events = await ctx.vault.outbox({ limit: maxEvents });
          }
          if (events.length > 0) flights.push(send(ctx, byBytes(events, maxBytes), last?.header.id));
          continue;
        }
      }
      const flight = flights.shift();
      if (!flight) {
        await idle(ctx, attempt > 0);
        attempt = 0;
        continue;
      }
      const outcome = await land(ctx, flight, false);
      if (outcome === "pushed") {
        attempt = 0;
        isolate = Math.max(0, isolate - flight.events.length);
        continue;
      }
      // The batches behind it were sent to follow it: settle them (they may have been stored).
      await landAll(ctx, flights);
      if (outcome === "split") {
        isolate = flight.events.length;
      } else if (outcome === "rejected") {
        isolate = Math.max(0, isolate - 1);
      } else if (!(await pause(ctx, attempt++))) return;
    } catch (err) {
      // The vault itself failed (or code we call threw): note it, back off, carry on.
      await landAll(ctx, flights).catch(() => {});
      if (ctx.signal.aborted) return;
      ctx.report(err);
      if (!(await pause(ctx, attempt++))) return;
    }
  }
  await landAll(ctx, flights).catch(() => {});
}

/** A push on its way: the events, when it left, and its outcome (never rejects). */
interface Flight {
  events: StoredEvent[];
  sent: number;
  reply: Promise<{ results: CommitResult[] } | { error: unknown }>;
}

function send(ctx: SyncContext, events: StoredEvent[], after: string | undefined): Flight {
  ctx.echoes.sent(events);
  const reply = ctx.remote.commit(events.map(toEvent), { signal: ctx.signal, after }).then(
    (results) => ({ results }),
    (error: unknown) => ({ error }),
  );
  return { events, sent: ctx.clock.now(), reply };
}

/** Nothing to push: wait for a commit (or the idle tick), keeping `pending` and the status true. */
async function idle(ctx: SyncContext, failedBefore: boolean): Promise<void> {
  if (!ctx.isLeader()) {
    await ctx.pushWake.wait(ctx.idleMs, ctx.signal);
    // The leader's acks are not announced to followers: re-count what is still pending.
    if (!ctx.signal.aborted) await ctx.refreshPending();
    return;
  }
  // What a failed push held was delivered after all (the pull acknowledged it): the push link has
  // nothing left that fails.
  if (failedBefore) ctx.link("push", true);
  // A commit that counted itself after this loop had pushed it would leave pending stale.
  if (ctx.status.peek().pending !== 0) await ctx.refreshPending();
  await ctx.pushWake.wait(ctx.idleMs, ctx.signal);
}

/** Settles every flight in order, as followers of a failed one. */
async function landAll(ctx: SyncContext, flights: Flight[]): Promise<void> {
  for (const f of flights.splice(0)) await land(ctx, f, true);
}

/**
 * Records a push's outcome: acks when it was stored. A failure of a follower (a batch sent behind
 * one that failed) is expected and not reported; its events are pushed again.
 */
async function land(ctx: SyncContext, flight: Flight, follower: boolean): Promise<"pushed" | "retry" | "split" | "rejected"> {
  const { events } = flight;
  const reply = await flight.reply;
  if ("error" in reply) {
    if (ctx.signal.aborted || follower) return "retry";
    const e = ctx.report(reply.error);
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
  const { results } = reply;
  await ctx.vault.acknowledge(results.map((r, i) => ({ id: events[i]!.header.id, remoteSeq: r.seq })));
  const now = ctx.clock.now();
  ctx.metrics.add(METRICS.pushed, events.length);
  ctx.metrics.record(METRICS.pushDuration, now - flight.sent);
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
