import { type CommitOptions, createCommitSequencer } from "./commit-order.js";
import { ErrorCode, EventError } from "./errors.js";
import { subscribeWithHistory } from "./subscribe-with-history.js";
import type { CommitResult, Event, EventBus, StoredEvent, SubscribeOptions, Subscription, Vault } from "./types.js";

/**
 * A vault whose subscriptions replay history and then go live: what a server serves and what a
 * remote client offers. `subscribe({ after })` yields the events after `after`, one `caught-up`,
 * then live events, with no gap and no duplicate.
 */
export interface EventStore extends Vault {
  /** Commits a batch atomically, after the event named by `opts.after` (if any); see {@link CommitOptions}. */
  commit(events: Event[], opts?: CommitOptions): Promise<CommitResult[]>;
  subscribe(opts?: SubscribeOptions): Subscription;
}

/** Parts of {@link createEventStore}. */
export interface EventStoreParts {
  vault: Vault;
  /** Carries exactly this vault's events; the store publishes each newly stored event to it. */
  bus: EventBus;
}

/**
 * Joins a vault and a bus into an {@link EventStore}: commits persist, then publish what was
 * newly stored; subscriptions are {@link subscribeWithHistory}; `close()` closes both.
 *
 * @example
 * const store = createEventStore({ vault: createMemoryVault(), bus: createMemoryBus() });
 */
export function createEventStore({ vault, bus }: EventStoreParts): EventStore {
  if (!vault || !bus) throw new EventError(ErrorCode.invalid_argument, "createEventStore needs a vault and a bus");
  const sequencer = createCommitSequencer(async (id, o) => (await vault.header(id, o)) !== undefined);
  async function commit(events: Event[], opts?: CommitOptions) {
    const results = await vault.commit(events, opts);
    const stored: StoredEvent[] = [];
    for (let i = 0; i < results.length; i++) {
      const r = results[i]!;
      if (r.status === "stored") stored.push({ ...events[i]!, seq: r.seq });
    }
    if (stored.length > 0) await bus.publish(stored);
    return results;
  }
  return {
    commit: (events: Event[], opts?: CommitOptions) => sequencer.run(events, opts, () => commit(events, opts)),
    header: (id, opts) => vault.header(id, opts),
    payload: (digest, opts) => vault.payload(digest, opts),
    read: (opts) => vault.read(opts),
    head: (opts) => vault.head(opts),
    subscribe: (opts) => subscribeWithHistory(vault, bus, opts),
    async close() {
      // A bus that can be closed ends its subscriptions with the store.
      (bus as { close?: () => void }).close?.();
      await vault.close();
    },
  };
}
