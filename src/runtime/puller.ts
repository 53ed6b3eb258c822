import { type BusMessage, type Event, type StoredEvent, type Subscription } from "../core/index.js";
import { METRICS } from "./metrics.js";
import { pause, type SyncContext } from "./sync-context.js";

/** What to pull. */
export interface PullOptions {
  /** Kind patterns to sync down (default all). With a subset the vault must be a partial replica (`allowMissingParents`). */
  kinds?: string[];
  /** Most events committed locally per transaction (default 500). */
  maxBatch?: number;
}

/** The cursor that records how far the remote log has been pulled. */
export const REMOTE_CURSOR = "remote";

/**
 * Follows the remote log from the persisted cursor: incoming events are committed to the vault
 * together with the new cursor (one transaction), then the newly stored ones are published
 * locally. The client's own events come back as duplicates and just acknowledge any outbox
 * entry (those identical to what it pushed are recognised without the vault: see echoes.ts).
 * After any error it backs off and resubscribes from the persisted cursor, which also heals a gap.
 */
export async function runPuller(ctx: SyncContext, pull: PullOptions): Promise<void> {
  const maxBatch = pull.maxBatch ?? 500;
  let attempt = 0;
  while (!ctx.signal.aborted) {
    if (!ctx.isLeader()) {
      await ctx.pullWake.wait(60_000, ctx.signal);
      continue;
    }
    let sub: Subscription | undefined;
    try {
      const after = await ctx.vault.cursor(REMOTE_CURSOR);
      ctx.status.update({ cursors: { remote: after }, caughtUp: false });
      // Ends by itself when this runtime stops leading or closes.
      sub = ctx.remote.subscribe({ after, kinds: pull.kinds, signal: ctx.leaderSignal() });
      for (;;) {
        const first = await sub.next();
        if (first.done) break;
        // Everything already queued goes into one local transaction.
        const messages = [first.value, ...sub.takeQueued(maxBatch - 1)];
        // How far the vault trails the stream: what had queued up while the last batch committed.
        ctx.metrics.set(METRICS.pullLag, messages.length);
        if (!(await apply(ctx, messages))) break;
        ctx.metrics.set(METRICS.pullLag, 0);
        attempt = 0;
      }
      // The stream ended while this runtime still leads: reopen it, paced like a failure.
      if (ctx.isLeader() && !ctx.signal.aborted && !(await pause(ctx, attempt++))) return;
    } catch (err) {
      if (ctx.signal.aborted) return;
      ctx.report(err);
      ctx.link("pull", false);
      if (!(await pause(ctx, attempt++))) return;
    } finally {
      sub?.close();
    }
  }
}

/** Commits a run of stream messages; false when the stream must be reopened (a gap). */
async function apply(ctx: SyncContext, messages: BusMessage[]): Promise<boolean> {
  let events: StoredEvent[] = [];
  const flush = async () => {
    if (events.length === 0) return;
    const batch = events;
    events = [];
    const remoteHead = batch[batch.length - 1]!.seq;
    // Our own pushed events, back unchanged, are duplicates already: only the rest go to the vault
    // (with the cursor, also when nothing is left).
    const acks = [];
    const fresh: StoredEvent[] = [];
    for (const e of batch) {
      if (ctx.echoes.take(e)) acks.push({ id: e.header.id, remoteSeq: e.seq });
      else fresh.push(e);
    }
    const results = await ctx.vault.commit(fresh.map(toEvent), { cursor: { name: REMOTE_CURSOR, value: remoteHead } });
    const stored: StoredEvent[] = [];
    for (let i = 0; i < results.length; i++) {
      const r = results[i]!;
      if (r.status === "stored") stored.push({ ...toEvent(fresh[i]!), seq: r.seq });
      else acks.push({ id: r.id, remoteSeq: fresh[i]!.seq });
    }
    if (acks.length > 0) await ctx.vault.acknowledge(acks); // our own events, back from the server
    ctx.metrics.add(METRICS.pulled, stored.length);
    ctx.status.update({ lastPullAt: ctx.clock.now(), cursors: { remote: remoteHead } });
    ctx.link("pull", true);
    if (acks.length > 0) await ctx.refreshPending();
    if (stored.length > 0 && ctx.bus) await ctx.bus.publish(stored);
  };
  for (const m of messages) {
    if (m.type === "event") events.push(m.event);
    else {
      await flush();
      if (m.type === "gap") return false;
      ctx.status.update({ caughtUp: true });
      ctx.link("pull", true);
    }
  }
  await flush();
  return true;
}

function toEvent(e: StoredEvent): Event {
  return { header: e.header, payload: e.payload };
}
