import { ErrorCode, EventError } from "./errors.js";
import { isUuid } from "./uuid.js";
import type { CallOptions, CommitResult, Event, EventId, StoredEvent, Vault } from "./types.js";

/** Options of {@link LocalVault.commit}: what moves in the same transaction as the events. */
export interface LocalCommitOptions extends CallOptions {
  /** Enqueue the newly stored events in the outbox, for the sync engine to push. */
  outbox?: boolean;
  /** Set a named cursor (e.g. how far the remote log has been pulled). */
  cursor?: { name: string; value: number };
}

/** An acknowledgement from the remote store: the event is stored there at `remoteSeq`. */
export interface Ack {
  id: EventId;
  remoteSeq: number;
}

/** An event the remote store refused for good, kept visible with the reason. */
export interface DeadLetter {
  event: StoredEvent;
  error: { code: ErrorCode; message: string };
  /** When it was moved here, ms since the epoch. */
  at: number;
}

/**
 * A vault the offline-first sync engine can run on: besides events it keeps an outbox, dead
 * letters and named cursors, and changes each of them in one transaction with the events they
 * concern, so a crash can never leave an event committed but not queued, or a cursor moved past
 * events that were not stored. The memory and IndexedDB vaults implement it.
 */
export interface LocalVault extends Vault {
  commit(events: Event[], opts?: LocalCommitOptions): Promise<CommitResult[]>;
  /** The oldest `limit` outbox entries (default all) with a seq above `after` (default 0), in seq order. */
  outbox(opts?: { after?: number; limit?: number } & CallOptions): Promise<StoredEvent[]>;
  /** How many events wait in the outbox. */
  outboxSize(opts?: CallOptions): Promise<number>;
  /** Removes acknowledged events from the outbox and records their remote seqs, in one transaction. */
  acknowledge(acks: Ack[], opts?: CallOptions): Promise<void>;
  /** The remote seq recorded for an event, if it was acknowledged. */
  remoteSeq(id: EventId, opts?: CallOptions): Promise<number | undefined>;
  /** Moves events from the outbox to the dead letters, in one transaction. */
  deadLetter(items: { id: EventId; error: { code: ErrorCode; message: string } }[], opts?: CallOptions): Promise<void>;
  /** The dead letters, oldest event first. */
  deadLetters(opts?: CallOptions): Promise<DeadLetter[]>;
  /** Moves dead letters back to the outbox (after the app fixed the cause), in one transaction. */
  requeue(ids: EventId[], opts?: CallOptions): Promise<void>;
  /** A named cursor's value, 0 when never set. */
  cursor(name: string, opts?: CallOptions): Promise<number>;
}

/** True for a vault that implements {@link LocalVault}. */
export function isLocalVault(v: unknown): v is LocalVault {
  const o = v as Partial<LocalVault> | null;
  return typeof o === "object" && o !== null && typeof o.outbox === "function" && typeof o.acknowledge === "function";
}

/** Validates a cursor name: 1–128 characters. Shared by every local vault. */
export function checkCursorName(name: unknown): string {
  if (typeof name !== "string" || name.length === 0 || name.length > 128) {
    throw new EventError(ErrorCode.invalid_argument, "a cursor name is a string of 1-128 characters");
  }
  return name;
}

/** Validates a cursor move: a name and a non-negative integer value. */
export function checkCursor(c: { name: string; value: number }): { name: string; value: number } {
  checkCursorName(c?.name);
  if (!Number.isSafeInteger(c.value) || c.value < 0) {
    throw new EventError(ErrorCode.invalid_argument, `cursor ${c.name} must be a non-negative integer, got ${String(c.value)}`);
  }
  return c;
}

/** Validates an acknowledgement. */
export function checkAck(a: Ack): Ack {
  if (!isUuid(a?.id) || !Number.isSafeInteger(a.remoteSeq) || a.remoteSeq < 1) {
    throw new EventError(ErrorCode.invalid_argument, "an ack needs an event id and a positive remote seq");
  }
  return a;
}
