import { openDB } from "idb";
import { ErrorCode, EventError } from "../../core/index.js";
import { fromIdbError } from "./idb-errors.js";
import { SCHEMA_VERSION, upgrade, type VaultDb, type VaultSchema } from "./schema.js";

/** The vault's database connection, reopened on demand after it was lost. */
export interface Connection {
  get(): Promise<VaultDb>;
  /** How many times a database connection was opened: changes after a reopen. */
  readonly opens: number;
  /** Forgets a connection that failed, so the next call reopens. */
  lost(db: VaultDb): void;
  close(): void;
}

/** Options of {@link createConnection}. */
export interface ConnectionOptions {
  name: string;
  /** Called when opening waits on another tab that keeps an older version open. */
  onBlocked?: () => void;
}

/**
 * Opens `name` at the current schema, upgrading older data. The connection closes itself when
 * another tab needs a version change (so that tab is not blocked) and when the browser closes it
 * (storage cleared or evicted); the next call reopens. An open blocked by another tab fails at
 * once with `unavailable` (after `onBlocked`) instead of hanging; it completes in the background.
 */
export function createConnection(opts: ConnectionOptions): Connection {
  let current: VaultDb | undefined;
  let opening: Promise<VaultDb> | undefined;
  let waiters: ((err: EventError) => void)[] = [];
  let blockedBy: EventError | undefined; // while an open waits on another tab
  let opens = 0;
  let closed = false;

  function open(): Promise<VaultDb> {
    if (typeof indexedDB === "undefined") {
      return Promise.reject(new EventError(ErrorCode.unimplemented, "IndexedDB is not available in this runtime"));
    }
    const p = openDB<VaultSchema>(opts.name, SCHEMA_VERSION, {
      upgrade: (db, oldVersion, _newVersion, tx) => upgrade(db, oldVersion, tx),
      blocked: () => {
        opts.onBlocked?.();
        blockedBy = new EventError(ErrorCode.unavailable, `opening "${opts.name}" is blocked: another tab keeps an older version open`);
        for (const w of waiters.splice(0)) w(blockedBy);
      },
      blocking: () => {
        // Another tab upgrades or deletes the database: step aside; reopen on the next call.
        if (current === db) current = undefined;
        db?.close();
      },
      terminated: () => {
        if (current === db) current = undefined;
      },
    });
    let db: VaultDb | undefined;
    return p.then(
      (opened) => {
        db = opened;
        opening = undefined;
        blockedBy = undefined;
        waiters = [];
        opens++;
        if (closed) {
          opened.close();
          throw new EventError(ErrorCode.failed_precondition, "vault is closed");
        }
        current = opened;
        return opened;
      },
      (err: unknown) => {
        opening = undefined;
        blockedBy = undefined;
        waiters = [];
        throw fromIdbError(err);
      },
    );
  }

  return {
    get opens() {
      return opens;
    },
    get() {
      if (closed) return Promise.reject(new EventError(ErrorCode.failed_precondition, "vault is closed"));
      if (current) return Promise.resolve(current);
      opening ??= open();
      if (blockedBy) return Promise.reject(blockedBy);
      const pending = opening;
      return new Promise((resolve, reject) => {
        waiters.push(reject);
        pending.then(resolve, reject);
      });
    },
    lost(db) {
      if (current === db) current = undefined;
      db.close();
    },
    close() {
      closed = true;
      current?.close();
      current = undefined;
    },
  };
}
