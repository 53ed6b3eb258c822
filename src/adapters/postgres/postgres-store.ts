import {
  assertEventVerifies,
  type CallOptions,
  checkSubscribeOptions,
  checkReadOptions,
  type CommitOptions,
  type CommitResult,
  createCommitSequencer,
  createSubscriberQueue,
  DIGEST_BYTES,
  encodeParentRefs,
  equalBytes,
  ErrorCode,
  type Event,
  EventError,
  type EventStore,
  type HasherOptions,
  isBytes,
  isRetryable,
  isUuid,
  kindFilter,
  type ReadOptions,
  type StoredEvent,
  type SubscribeOptions,
  type Subscription,
  throwIfAborted,
} from "../../core/index.js";
import { createGroupCommit, type GroupTicket } from "./group-commit.js";
import { pgliteQueryOptions, type PgliteQueryOptions } from "./pglite-codecs.js";
import { createHeadWatcher } from "./head-watcher.js";
import { channelFor, qualifier, type SchemaOptions } from "./migrations.js";
import { blob, bytes, EVENT_COLUMNS, kindCondition, rowToEvent, rowToHeader } from "./rows.js";
import type { SqlClient } from "./sql-client.js";
import { fromSqlError } from "./sql-errors.js";
import { createTail, storedCopy } from "./tail.js";

/** Options of {@link createPostgresStore}. */
export interface PostgresStoreOptions extends SchemaOptions, HasherOptions {
  /** Any client with `query(text, params)`: PGlite, `createPgClient(pool)`, … Run `migrate(client)` first. */
  client: SqlClient;
  /** A separate log with its own seq space in the same tables (default `"default"`). */
  tenant?: string;
  /** How often subscribers check the head when no notification came (default 1,000 ms). */
  pollMs?: number;
  /** Rows per query when reading history (default 1,000). */
  pageSize?: number;
  /** A partial replica: parents need not be stored (their digests are still checked when they are). */
  allowMissingParents?: boolean;
  /** Sees background errors (a failed poll or listen); subscribers keep retrying. */
  onError?: (err: unknown) => void;
}

/**
 * An event store in Postgres: the commit rules of every vault in one round trip per batch (a
 * function that takes a per-tenant advisory lock, so seqs commit in order and a reader that sees
 * seq n has seen everything below), and subscriptions that read rows by seq, woken by
 * LISTEN/NOTIFY and a bounded poll, so several server processes on one database fan out to each
 * other's subscribers.
 *
 * @example
 * await migrate(client);
 * const store = createPostgresStore({ client });
 */
export function createPostgresStore(opts: PostgresStoreOptions): EventStore {
  const { client, hasher } = opts;
  const q = qualifier(opts);
  const tenant = opts.tenant ?? "default";
  if (typeof tenant !== "string" || tenant.length === 0 || tenant.length > 128 || tenant.includes(":")) {
    throw new EventError(ErrorCode.invalid_argument, "tenant must be 1-128 characters without ':'");
  }
  const pageSize = opts.pageSize ?? 1000;
  const channel = channelFor(opts.schema);
  const onError = opts.onError ?? (() => {});
  const live = new Set<Subscription>();
  let closed = false;

  // PGlite gets bytea in binary and one-pass hex parsing (pglite-codecs.ts); others get (text, params).
  const pglite = pgliteQueryOptions(client);
  const query = pglite
    ? (text: string, params: unknown[]) => (client.query as (t: string, p: unknown[], o: PgliteQueryOptions) => ReturnType<SqlClient["query"]>)(text, params, pglite)
    : (text: string, params: unknown[]) => client.query(text, params);

  async function sql(text: string, params: unknown[], signal?: AbortSignal) {
    if (closed) throw new EventError(ErrorCode.failed_precondition, "store is closed");
    throwIfAborted(signal);
    try {
      return (await query(text, params)).rows;
    } catch (err) {
      throw fromSqlError(err);
    }
  }

  async function head(callOpts?: CallOptions): Promise<number> {
    const rows = await sql(`SELECT head FROM ${q}toka_heads WHERE tenant = $1`, [tenant], callOpts?.signal);
    return rows.length === 0 ? 0 : Number(rows[0]!.head);
  }

  async function page(after: number, upTo: number, kinds: string[] | undefined, limit: number, signal?: AbortSignal) {
    const k = kindCondition(kinds, 4);
    const rows = await sql(
      `SELECT ${EVENT_COLUMNS} FROM ${q}toka_events WHERE tenant = $1 AND seq > $2 AND seq <= $3${k.sql} ORDER BY seq LIMIT ${limit}`,
      [tenant, after, upTo, ...k.params],
      signal,
    );
    return rows.map(rowToEvent);
  }

  /**
   * The highest seq a page of `n` rows after `cursor` can reach. Seqs are gap-free, so without a
   * kind filter that is `cursor + n`: the bound keeps every page an index range scan, even when
   * the planner has no statistics yet and would otherwise sort the whole rest of the log.
   */
  function bound(cursor: number, n: number, kinds: string[] | undefined): number {
    return kinds?.length && !kinds.includes("*") ? Number.MAX_SAFE_INTEGER : cursor + n;
  }

  /**
   * Verifies the batch and queues it for the group commit, behind `prior` (the queued batch it
   * must follow) if any, then tells the sequencer it is queued, so its own follower can queue too.
   */
  async function commit(
    events: Event[],
    callOpts: CommitOptions | undefined,
    prior: GroupTicket | undefined,
    admit: (ticket: GroupTicket) => void,
  ): Promise<CommitResult[]> {
    if (closed) throw new EventError(ErrorCode.failed_precondition, "store is closed");
    throwIfAborted(callOpts?.signal);
    if (!Array.isArray(events)) throw new EventError(ErrorCode.invalid_argument, "commit takes an array of events");
    for (const e of events) assertEventVerifies(e, { hasher });
    if (events.length === 0) return [];
    const follows = prior && callOpts?.after !== undefined ? { ticket: prior, id: callOpts.after } : undefined;
    const { ticket, result } = group(events, { signal: callOpts?.signal, follows });
    admit(ticket);
    return result;
  }

  /** Writes verified events (one batch, or several merged by the group commit) in one call. */
  async function write(events: Event[], signal?: AbortSignal): Promise<CommitResult[]> {
    // Each id goes to the database once; a repeat in the batch is a duplicate of its first copy.
    const first = new Map<string, number>();
    const unique: Event[] = [];
    for (const e of events) {
      const at = first.get(e.header.id);
      if (at === undefined) {
        first.set(e.header.id, unique.length);
        unique.push(e);
      } else if (!equalBytes(unique[at]!.header.digest, e.header.digest)) {
        throw new EventError(ErrorCode.already_exists, `event ${e.header.id} appears twice in the batch with different digests`, {
          details: { id: e.header.id },
        });
      }
    }
    const parentOf: number[] = [];
    const parentIds: string[] = [];
    const parentDigests: Uint8Array[] = [];
    unique.forEach((e, i) => {
      for (const p of e.header.parents) {
        parentOf.push(i + 1);
        parentIds.push(p.id);
        parentDigests.push(p.digest);
      }
    });
    const parents = blob(unique.map((e) => encodeParentRefs(e.header.parents)));
    const payloads = blob(unique.map((e) => e.payload));
    // The commit's own notification may come before the commit returns: held until it is poked.
    const release = watcher.hold();
    let results: { seq: number; stored: boolean }[];
    try {
      const rows = await sql(
        `SELECT id, seq, stored FROM ${q}toka_commit($1, $2, $3, $4::uuid[], $5::bytea, $6::bytea, $7::int[], $8::text[], $9::uuid[], $10::bigint[], $11::bytea, $12::int[], $13::int[], $14::uuid[], $15::bytea)`,
        [
          tenant,
          channel,
          opts.allowMissingParents ?? false,
          unique.map((e) => e.header.id),
          blob(unique.map((e) => e.header.digest)).bytes,
          parents.bytes,
          parents.offsets,
          unique.map((e) => e.header.kind),
          unique.map((e) => e.header.intent),
          unique.map((e) => e.header.timestamp),
          payloads.bytes,
          payloads.offsets,
          parentOf,
          parentIds,
          blob(parentDigests).bytes,
        ],
        signal,
      );
      results = rows.map((r) => ({ seq: Number(r.seq), stored: r.stored === true }));
      // Committed: the subscribers of this process (if any) get the new events without reading them back.
      const fresh = live.size === 0 ? [] : unique.flatMap((e, i) => (results[i]!.stored ? [storedCopy(e, results[i]!.seq)] : []));
      if (fresh.length > 0) {
        tail.add(fresh);
        watcher.poke(fresh[fresh.length - 1]!.seq);
      }
    } finally {
      release();
    }
    const seen = new Set<number>();
    return events.map((e) => {
      const i = first.get(e.header.id)!;
      const r = results[i]!;
      const status = r.stored && !seen.has(i) ? "stored" : "duplicate";
      seen.add(i);
      return { id: e.header.id, seq: r.seq, status };
    });
  }

  async function* read(readOpts: ReadOptions = {}): AsyncGenerator<StoredEvent> {
    const { after, limit } = checkReadOptions(readOpts);
    let cursor = after;
    let left = limit;
    while (left > 0) {
      const want = Math.min(left, pageSize);
      const rows = await page(cursor, bound(cursor, want, readOpts.kinds), readOpts.kinds, want, readOpts.signal);
      for (const e of rows) yield e;
      if (rows.length < want) return;
      left -= rows.length;
      cursor = rows[rows.length - 1]!.seq;
    }
  }

  const pollMs = opts.pollMs ?? 1000;
  const tail = createTail();
  const group = createGroupCommit(write);
  const watcher = createHeadWatcher({ client, channel, tenant, pollMs, head: () => head(), onError });

  function subscribe(subOpts: SubscribeOptions = {}): Subscription {
    if (closed) throw new EventError(ErrorCode.failed_precondition, "store is closed");
    const { bufferSize, overflow, after } = checkSubscribeOptions(subOpts);
    const matches = kindFilter(subOpts.kinds);
    let wake: (() => void) | undefined;
    let dirty = true;
    // The head as the watcher told it; read from the log itself when it could not say.
    let known = 0;
    let readHead = true;
    const stop = new AbortController();
    const unregister = watcher.add((head) => {
      if (head === undefined) readHead = true;
      else known = Math.max(known, head);
      dirty = true;
      const w = wake;
      wake = undefined;
      w?.();
    });
    // Rows are pulled from the database, so a slow consumer just pauses the pull: never a gap.
    const queue = createSubscriberQueue({
      bufferSize,
      overflow: overflow === "error" ? "error" : "block",
      signal: subOpts.signal,
      onClose: () => {
        stop.abort();
        live.delete(queue);
        unregister();
        wake?.();
      },
    });
    if (queue.closed) return queue;
    live.add(queue);

    (async () => {
      let cursor = after;
      let caughtUp = false;
      while (!queue.closed) {
        if (!dirty) await new Promise<void>((resolve) => (wake = () => resolve()));
        if (queue.closed) return;
        dirty = false;
        try {
          if (readHead) {
            readHead = false;
            known = Math.max(known, await head({ signal: stop.signal }));
          }
          const upTo = known;
          while (cursor < upTo && !queue.closed) {
            // Recent events come from the tail (what this process committed or read), else a page.
            let to = Math.min(upTo, cursor + pageSize);
            const cached = tail.run(cursor, to);
            let events: StoredEvent[];
            if (cached) {
              events = cached.filter((e) => matches(e.header.kind));
            } else {
              to = Math.min(upTo, bound(cursor, pageSize, subOpts.kinds));
              events = await page(cursor, to, subOpts.kinds, pageSize, stop.signal);
              tail.add(events);
              if (events.length === pageSize) to = events[events.length - 1]!.seq;
            }
            for (const event of events) {
              const r = queue.push({ type: "event", event });
              if (r) await r;
            }
            cursor = to;
          }
        } catch (err) {
          // The database went away: the subscription waits for the next poll and carries on.
          if (!isRetryable(err) || queue.closed) throw err;
          onError(err);
          readHead = true;
          dirty = true;
          await new Promise<void>((resolve) => {
            const t = setTimeout(resolve, pollMs);
            wake = () => {
              clearTimeout(t);
              resolve();
            };
          });
          continue;
        }
        if (!caughtUp) {
          caughtUp = true;
          const r = queue.push({ type: "caught-up", seq: Math.max(cursor, after) });
          if (r) await r;
        }
      }
    })().catch((err: unknown) => {
      if (!queue.closed) queue.end(EventError.from(err, ErrorCode.unavailable));
    });
    return queue;
  }

  // Pipelined batches (`after`) keep their order: behind a batch of this process they queue for
  // the group commit as soon as it is queued; one from another server shows up in the table.
  const sequencer = createCommitSequencer<GroupTicket>(
    async (id, o) => (await sql(`SELECT 1 FROM ${q}toka_events WHERE tenant = $1 AND id = $2`, [tenant, id], o.signal)).length > 0,
  );

  return {
    commit: (events, callOpts) => sequencer.run(events, callOpts, (prior, admit) => commit(events, callOpts, prior, admit)),
    async header(id, callOpts) {
      if (!isUuid(id)) throw new EventError(ErrorCode.invalid_argument, "header() takes a lowercase canonical UUID");
      const rows = await sql(`SELECT ${EVENT_COLUMNS} FROM ${q}toka_events WHERE tenant = $1 AND id = $2`, [tenant, id], callOpts?.signal);
      return rows.length === 0 ? undefined : rowToHeader(rows[0]!);
    },
    async payload(digest, callOpts) {
      if (!isBytes(digest) || digest.length !== DIGEST_BYTES) {
        throw new EventError(ErrorCode.invalid_argument, `payload() takes a ${DIGEST_BYTES}-byte digest`);
      }
      const rows = await sql(`SELECT payload FROM ${q}toka_events WHERE tenant = $1 AND digest = $2 LIMIT 1`, [tenant, digest], callOpts?.signal);
      return rows.length === 0 ? undefined : bytes(rows[0]!.payload);
    },
    head,
    read,
    subscribe,
    async close() {
      closed = true;
      for (const s of [...live]) s.close();
      await watcher.close();
    },
  };
}
