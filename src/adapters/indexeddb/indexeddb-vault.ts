import {
  assertEventVerifies,
  checkCursor,
  checkReadOptions,
  type CommitResult,
  DIGEST_BYTES,
  equalBytes,
  ErrorCode,
  type Event,
  EventError,
  type EventHeader,
  type HasherOptions,
  isBytes,
  isUuid,
  type LocalCommitOptions,
  type LocalVault,
  type ReadOptions,
  type StoredEvent,
  throwIfAborted,
  toHex,
} from "../../core/index.js";
import { createConnection } from "./connection.js";
import { fromIdbError } from "./idb-errors.js";
import type { EventRecord, VaultDb } from "./schema.js";
import { cursorKey, syncState } from "./sync-state.js";

/** Options of {@link openIndexedDbVault}. */
export interface IndexedDbVaultOptions extends HasherOptions {
  /** The database name (one vault per name and origin, shared by every tab). */
  name: string;
  /** A partial replica: parents need not be present (their digests are still checked when they are). */
  allowMissingParents?: boolean;
  /** Called when opening waits on another tab that keeps an older version of the database open. */
  onBlocked?: () => void;
  /** Events per read transaction when streaming history (default 500). */
  pageSize?: number;
}

/**
 * A vault in IndexedDB with every commit rule of the design, and the sync engine's outbox, dead
 * letters and cursors (a LocalVault). One readwrite transaction per batch
 * (`durability: "strict"`): the events, their payloads and the new head are stored together or
 * not at all, and `commit` resolves only once the transaction is durable. Tabs of one origin
 * share it (IndexedDB orders their transactions, so seqs stay gap-free). Reads stream page by
 * page; opening reads no events. Errors: a full disk is `resource_exhausted`; a database closed
 * under the vault is `unavailable`, and the next call reopens it; if it was cleared or deleted
 * meanwhile (storage eviction, "Clear site data"), that next call reports `data_loss` once and the
 * vault carries on with the now empty database.
 *
 * @example
 * const vault = await openIndexedDbVault({ name: "my-app" });
 */
export async function openIndexedDbVault(opts: IndexedDbVaultOptions): Promise<LocalVault> {
  if (typeof opts?.name !== "string" || opts.name.length === 0) {
    throw new EventError(ErrorCode.invalid_argument, "openIndexedDbVault needs a database name");
  }
  const conn = createConnection(opts);
  const pageSize = opts.pageSize ?? 500;
  try {
    await conn.get();
  } catch (err) {
    conn.close(); // a blocked open may still complete later: it must not stay open
    throw err;
  }
  // The highest head this vault has seen, to notice a database that was cleared under it.
  let knownHead = 0;
  let opened = conn.opens;

  async function withDb<T>(signal: AbortSignal | undefined, fn: (db: VaultDb) => Promise<T>): Promise<T> {
    throwIfAborted(signal);
    const db = await conn.get();
    if (conn.opens !== opened) {
      opened = conn.opens;
      const head = ((await db.get("meta", "head")) as number | undefined) ?? 0;
      if (head < knownHead) {
        const lost = knownHead;
        knownHead = head;
        throw new EventError(ErrorCode.data_loss, `the database was cleared or deleted under the vault: events up to seq ${lost} are gone`, {
          details: { lostUpTo: lost },
        });
      }
    }
    try {
      return await fn(db);
    } catch (err) {
      const e = fromIdbError(err);
      if (e.code === ErrorCode.unavailable) conn.lost(db);
      throw e;
    }
  }

  async function commit(events: Event[], callOpts?: LocalCommitOptions): Promise<CommitResult[]> {
    if (!Array.isArray(events)) throw new EventError(ErrorCode.invalid_argument, "commit takes an array of events");
    const cursor = callOpts?.cursor && checkCursor(callOpts.cursor);
    for (const e of events) assertEventVerifies(e, opts);
    return withDb(callOpts?.signal, async (db) => {
      const tx = db.transaction(["events", "payloads", "meta", "outbox"], "readwrite", { durability: "strict" });
      const done = tx.done;
      quiet(done); // awaited below; an abort must not surface as unhandled
      try {
        const store = tx.objectStore("events");
        const [head0, existing] = await Promise.all([
          tx.objectStore("meta").get("head") as Promise<number | undefined>,
          lookup(store.index("id"), events),
        ]);
        let head = head0 ?? 0;
        const staged = new Map<string, { seq: number; digest: Uint8Array }>();
        const results: CommitResult[] = [];
        for (const { header, payload } of events) {
          const known = staged.get(header.id) ?? existing.get(header.id);
          if (known) {
            if (!equalBytes(known.digest, header.digest)) {
              throw new EventError(ErrorCode.already_exists, `event ${header.id} already exists with a different digest`, {
                details: { id: header.id },
              });
            }
            results.push({ id: header.id, seq: known.seq, status: "duplicate" });
            continue;
          }
          for (const p of header.parents) {
            const parent = staged.get(p.id) ?? existing.get(p.id);
            if (!parent) {
              if (opts.allowMissingParents) continue;
              throw new EventError(ErrorCode.failed_precondition, `event ${header.id}: unknown parent ${p.id}`, {
                details: { id: header.id, parent: p.id },
              });
            }
            if (!equalBytes(parent.digest, p.digest)) {
              throw new EventError(ErrorCode.failed_precondition, `event ${header.id}: parent ${p.id} has a different digest than the event names`, {
                details: { id: header.id, parent: p.id },
              });
            }
          }
          const record = toRecord(++head, header);
          staged.set(header.id, record);
          quiet(store.put(record));
          quiet(tx.objectStore("payloads").put({ digest: toHex(header.digest), payload: payload.slice() }));
          if (callOpts?.outbox) quiet(tx.objectStore("outbox").put({ seq: head }));
          results.push({ id: header.id, seq: head, status: "stored" });
        }
        if (staged.size > 0) quiet(tx.objectStore("meta").put(head, "head"));
        if (cursor) quiet(tx.objectStore("meta").put(cursor.value, cursorKey(cursor.name)));
        await done;
        knownHead = Math.max(knownHead, head);
        return results;
      } catch (err) {
        // Whatever failed, nothing of the batch may stay: abort (a no-op if the browser already did).
        try {
          tx.abort();
        } catch {
          // already finished or aborted
        }
        throw err instanceof EventError ? err : (tx.error ?? err);
      }
    });
  }

  async function* read(readOpts: ReadOptions = {}): AsyncGenerator<StoredEvent> {
    const { after, limit, matches } = checkReadOptions(readOpts);
    let cursor = after;
    let left = limit;
    while (left > 0) {
      // One short transaction per page: a transaction cannot stay open while the consumer works.
      const page = await withDb(readOpts.signal, async (db) => {
        const tx = db.transaction(["events", "payloads"], "readonly");
        const records = await tx.objectStore("events").getAll(IDBKeyRange.lowerBound(cursor, true), pageSize);
        const wanted = records.filter((r) => matches(r.kind)).slice(0, left);
        const payloads = await Promise.all(wanted.map((r) => tx.objectStore("payloads").get(toHex(r.digest))));
        return { last: records.at(-1)?.seq, full: records.length === pageSize, events: wanted.map((r, i) => fromRecord(r, payloads[i]?.payload)) };
      });
      for (const e of page.events) yield e;
      left -= page.events.length;
      if (!page.full || page.last === undefined) return;
      cursor = page.last;
    }
  }

  return {
    commit,
    header: (id, callOpts) => {
      if (!isUuid(id)) return Promise.reject(new EventError(ErrorCode.invalid_argument, "header() takes a lowercase canonical UUID"));
      return withDb(callOpts?.signal, async (db) => {
        const r = await db.getFromIndex("events", "id", id);
        return r && fromRecord(r, new Uint8Array(0)).header;
      });
    },
    payload: (digest, callOpts) => {
      if (!isBytes(digest) || digest.length !== DIGEST_BYTES) {
        return Promise.reject(new EventError(ErrorCode.invalid_argument, `payload() takes a ${DIGEST_BYTES}-byte digest`));
      }
      return withDb(callOpts?.signal, async (db) => (await db.get("payloads", toHex(digest)))?.payload);
    },
    head: (callOpts) =>
      withDb(callOpts?.signal, async (db) => {
        const head = ((await db.get("meta", "head")) as number | undefined) ?? 0;
        knownHead = Math.max(knownHead, head);
        return head;
      }),
    read,
    async close() {
      conn.close();
    },
    ...syncState(withDb, fromRecord),
  };
}

/**
 * The stored records of every id a batch names (its events and their parents). The batch's own
 * ids are UUIDv7, close together in time: one range read over the id index finds them instead
 * of a get per event; parents outside the batch are fetched one by one, all at once.
 */
async function lookup(
  byId: { getAll(range: IDBKeyRange, count: number): Promise<EventRecord[]>; get(id: string): Promise<EventRecord | undefined> },
  events: Event[],
): Promise<Map<string, EventRecord>> {
  const ids = [...new Set(events.map((e) => e.header.id))].sort();
  const found = new Map<string, EventRecord>();
  if (ids.length === 0) return found;
  const cap = ids.length * 4;
  const inRange = await byId.getAll(IDBKeyRange.bound(ids[0], ids[ids.length - 1]), cap);
  const wanted = new Set(ids);
  const others = new Set<string>();
  if (inRange.length < cap) {
    for (const r of inRange) if (wanted.has(r.id)) found.set(r.id, r);
  } else {
    for (const id of ids) others.add(id); // a crowded range: ask for each id instead
  }
  for (const e of events) for (const p of e.header.parents) if (!wanted.has(p.id)) others.add(p.id);
  const got = await Promise.all([...others].map((id) => byId.get(id)));
  for (const r of got) if (r) found.set(r.id, r);
  return found;
}

/** Lets a request settle unobserved: its failure is the transaction's, reported by `tx.done`. */
function quiet(p: Promise<unknown>): void {
  p.catch(() => {});
}

function toRecord(seq: number, h: EventHeader): EventRecord {
  return {
    seq,
    id: h.id,
    digest: h.digest.slice(),
    parents: h.parents.map((p) => ({ id: p.id, digest: p.digest.slice() })),
    kind: h.kind,
    intent: h.intent,
    ts: h.timestamp,
  };
}

function fromRecord(r: EventRecord, payload: Uint8Array | undefined): StoredEvent {
  if (payload === undefined) throw new EventError(ErrorCode.data_loss, `payload of event ${r.id} (seq ${r.seq}) is missing`);
  return {
    seq: r.seq,
    header: { id: r.id, parents: r.parents, timestamp: r.ts, digest: r.digest, intent: r.intent, kind: r.kind },
    payload,
  };
}
