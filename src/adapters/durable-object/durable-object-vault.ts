import {
  assertEventVerifies,
  type CallOptions,
  checkReadOptions,
  type CommitResult,
  decodeParentRefs,
  DIGEST_BYTES,
  encodeParentRefs,
  equalBytes,
  ErrorCode,
  type Event,
  EventError,
  type EventHeader,
  type HasherOptions,
  isBytes,
  isUuid,
  type ReadOptions,
  type StoredEvent,
  throwIfAborted,
  type Vault,
} from "../../core/index.js";

/** The parts of a Durable Object's `SqlStorage` this vault uses. */
export interface SqlStorageLike {
  exec(query: string, ...bindings: unknown[]): { toArray(): Record<string, unknown>[] };
}

/** The parts of `ctx.storage` (a SQLite-backed Durable Object) this vault uses. */
export interface DurableObjectStorageLike {
  sql: SqlStorageLike;
  transactionSync<T>(fn: () => T): T;
}

/** Options of {@link createDurableObjectVault}. */
export interface DurableObjectVaultOptions extends HasherOptions {
  /** Rows per query when reading history (default 500). */
  pageSize?: number;
  /** A partial replica: parents need not be stored (their digests are still checked when they are). */
  allowMissingParents?: boolean;
}

const COLUMNS = "seq, id, digest, parents, kind, intent, ts, payload";

/**
 * A vault in a Durable Object's SQLite storage (`ctx.storage`), for Cloudflare Workers: one object
 * per tenant holds its log, with every commit rule of the design. A batch is one synchronous
 * transaction, and a Durable Object runs one request at a time, so seqs are gap-free and in commit
 * order by construction. Join it with `createFanout()` in `createEventStore` and serve it with
 * the connect adapter's fetch handler.
 *
 * @example
 * export class EventLog {
 *   constructor(ctx) {
 *     const store = createEventStore({ vault: createDurableObjectVault(ctx.storage), bus: createFanout() });
 *     this.handler = createEventStoreHandler({ store });
 *   }
 *   fetch(request) { return this.handler.fetch(request); }
 * }
 */
export function createDurableObjectVault(storage: DurableObjectStorageLike, opts: DurableObjectVaultOptions = {}): Vault {
  const sql = storage.sql;
  const pageSize = opts.pageSize ?? 500;
  sql.exec(`CREATE TABLE IF NOT EXISTS toka_events (
    seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, digest BLOB NOT NULL, parents BLOB NOT NULL,
    kind TEXT NOT NULL, intent TEXT NOT NULL, ts INTEGER NOT NULL, payload BLOB NOT NULL)`);
  sql.exec("CREATE INDEX IF NOT EXISTS toka_events_digest ON toka_events (digest)");
  let closed = false;

  function open(signal?: AbortSignal): void {
    if (closed) throw new EventError(ErrorCode.failed_precondition, "vault is closed");
    throwIfAborted(signal);
  }
  const head = () => Number(sql.exec("SELECT coalesce(max(seq), 0) AS h FROM toka_events").toArray()[0]!.h);
  const byId = (id: string) => sql.exec("SELECT seq, digest FROM toka_events WHERE id = ?", id).toArray()[0];

  function commit(events: Event[]): CommitResult[] {
    return storage.transactionSync(() => {
      const staged = new Map<string, { seq: number; digest: Uint8Array }>();
      const results: CommitResult[] = [];
      let seq = head();
      for (const { header, payload } of events) {
        const known = staged.get(header.id) ?? stored(byId(header.id));
        if (known) {
          if (!equalBytes(known.digest, header.digest)) {
            throw new EventError(ErrorCode.already_exists, `event ${header.id} already exists with a different digest`, { details: { id: header.id } });
          }
          results.push({ id: header.id, seq: known.seq, status: "duplicate" });
          continue;
        }
        for (const p of header.parents) {
          const parent = staged.get(p.id) ?? stored(byId(p.id));
          if (!parent) {
            if (opts.allowMissingParents) continue;
            throw new EventError(ErrorCode.failed_precondition, `event ${header.id}: unknown parent ${p.id}`, { details: { id: header.id, parent: p.id } });
          }
          if (!equalBytes(parent.digest, p.digest)) {
            throw new EventError(ErrorCode.failed_precondition, `event ${header.id}: parent ${p.id} has a different digest than the event names`, {
              details: { id: header.id, parent: p.id },
            });
          }
        }
        seq++;
        sql.exec(
          `INSERT INTO toka_events (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
          seq, header.id, header.digest, encodeParentRefs(header.parents), header.kind, header.intent, header.timestamp, payload,
        );
        staged.set(header.id, { seq, digest: header.digest });
        results.push({ id: header.id, seq, status: "stored" });
      }
      return results;
    });
  }

  return {
    async commit(events: Event[], callOpts?: CallOptions) {
      open(callOpts?.signal);
      if (!Array.isArray(events)) throw new EventError(ErrorCode.invalid_argument, "commit takes an array of events");
      for (const e of events) assertEventVerifies(e, opts);
      return commit(events);
    },
    async header(id, callOpts) {
      open(callOpts?.signal);
      if (!isUuid(id)) throw new EventError(ErrorCode.invalid_argument, "header() takes a lowercase canonical UUID");
      const row = sql.exec(`SELECT ${COLUMNS} FROM toka_events WHERE id = ?`, id).toArray()[0];
      return row && toHeader(row);
    },
    async payload(digest, callOpts) {
      open(callOpts?.signal);
      if (!isBytes(digest) || digest.length !== DIGEST_BYTES) {
        throw new EventError(ErrorCode.invalid_argument, `payload() takes a ${DIGEST_BYTES}-byte digest`);
      }
      const row = sql.exec("SELECT payload FROM toka_events WHERE digest = ? LIMIT 1", digest).toArray()[0];
      return row && bytes(row.payload);
    },
    async head(callOpts) {
      open(callOpts?.signal);
      return head();
    },
    read(readOpts: ReadOptions = {}) {
      const { after, limit, matches } = checkReadOptions(readOpts);
      return (async function* () {
        let cursor = after;
        let left = limit;
        for (;;) {
          open(readOpts.signal);
          const rows = sql.exec(`SELECT ${COLUMNS} FROM toka_events WHERE seq > ? ORDER BY seq LIMIT ?`, cursor, pageSize).toArray();
          for (const row of rows) {
            cursor = Number(row.seq);
            if (!matches(row.kind as string)) continue;
            if (left-- <= 0) return;
            yield toEvent(row);
          }
          if (rows.length < pageSize) return;
        }
      })();
    },
    async close() {
      closed = true;
    },
  };
}

function stored(row: Record<string, unknown> | undefined): { seq: number; digest: Uint8Array } | undefined {
  return row && { seq: Number(row.seq), digest: bytes(row.digest) };
}

/** SQLite BLOBs come back as ArrayBuffers. */
function bytes(v: unknown): Uint8Array {
  return v instanceof Uint8Array ? v : new Uint8Array(v as ArrayBuffer);
}

function toHeader(r: Record<string, unknown>): EventHeader {
  return {
    id: r.id as string,
    parents: decodeParentRefs(bytes(r.parents)),
    timestamp: Number(r.ts),
    digest: bytes(r.digest),
    intent: r.intent as string,
    kind: r.kind as string,
  };
}

function toEvent(r: Record<string, unknown>): StoredEvent {
  return { seq: Number(r.seq), header: toHeader(r), payload: bytes(r.payload) };
}
