import type { DBSchema, IDBPDatabase, IDBPTransaction, StoreNames } from "idb";

/** An event as stored: the header fields flattened, seq as the key; the payload lives apart. */
export interface EventRecord {
  seq: number;
  id: string;
  digest: Uint8Array;
  parents: { id: string; digest: Uint8Array }[];
  kind: string;
  intent: string;
  ts: number;
}

/** A payload, keyed by its event's digest (lowercase hex). */
export interface PayloadRecord {
  digest: string;
  payload: Uint8Array;
}

/** The database layout at {@link SCHEMA_VERSION}. */
export interface VaultSchema extends DBSchema {
  events: { key: number; value: EventRecord; indexes: { id: string; kind: string; intent: string; ts: number } };
  payloads: { key: string; value: PayloadRecord };
  /** Small named values: `head` and `cursor:<name>`. */
  meta: { key: string; value: unknown };
  /** Events waiting to be pushed, by seq. */
  outbox: { key: number; value: { seq: number } };
  /** Events the remote store refused for good, by seq. */
  dead: { key: number; value: { seq: number; error: { code: string; message: string }; at: number } };
  /** Remote seqs of acknowledged events, by id. */
  acks: { key: string; value: { id: string; remoteSeq: number } };
}

export type VaultDb = IDBPDatabase<VaultSchema>;
type UpgradeTx = IDBPTransaction<VaultSchema, StoreNames<VaultSchema>[], "versionchange">;

/** The layout this code writes; {@link upgrade} brings any earlier one here. */
export const SCHEMA_VERSION = 3;

/**
 * Each step takes the database from version i to i+1, so a database of any earlier version is
 * upgraded in one `versionchange` transaction, keeping its data.
 *
 * - v1: `events` (key seq; unique index id; index kind), `payloads` (key digest), `meta` (head).
 * - v2: indexes on intent and timestamp, for queries by intent and by time.
 * - v3: the sync engine's `outbox`, `dead` (dead letters) and `acks` (remote seqs) stores.
 */
const steps: ((db: VaultDb, tx: UpgradeTx) => void)[] = [
  (db) => {
    const events = db.createObjectStore("events", { keyPath: "seq" });
    events.createIndex("id", "id", { unique: true });
    events.createIndex("kind", "kind");
    db.createObjectStore("payloads", { keyPath: "digest" });
    db.createObjectStore("meta");
  },
  (_db, tx) => {
    const events = tx.objectStore("events");
    events.createIndex("intent", "intent");
    events.createIndex("ts", "ts");
  },
  (db) => {
    db.createObjectStore("outbox", { keyPath: "seq" });
    db.createObjectStore("dead", { keyPath: "seq" });
    db.createObjectStore("acks", { keyPath: "id" });
  },
];

/** Runs the steps from `oldVersion` to {@link SCHEMA_VERSION}. */
export function upgrade(db: VaultDb, oldVersion: number, tx: UpgradeTx): void {
  for (let v = oldVersion; v < SCHEMA_VERSION; v++) steps[v]!(db, tx);
}
