import { ErrorCode, EventError } from "../../core/index.js";
import { fromSqlError } from "./sql-errors.js";
import type { SqlClient } from "./sql-client.js";

/** Options naming where the store's tables live. */
export interface SchemaOptions {
  /** A Postgres schema for the tables (default: the connection's search path). */
  schema?: string;
}

/** The schema version this code writes and reads. */
export const SCHEMA_VERSION = 3;

/**
 * The NOTIFY channel of a schema's logs: `toka_events[_<schema>]`, shortened with a hash of the
 * schema name where that would pass Postgres' 63-byte limit for identifiers.
 */
export function channelFor(schema: string | undefined): string {
  const name = `toka_events${schema ? `_${schema}` : ""}`;
  if (name.length <= 63) return name;
  let h = 0x811c9dc5; // FNV-1a, enough to keep long names apart
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return `${name.slice(0, 54)}_${(h >>> 0).toString(16).padStart(8, "0")}`;
}

/** `"schema".` or nothing: the prefix for every table and function name. */
export function qualifier(opts: SchemaOptions): string {
  const { schema } = opts;
  if (schema === undefined) return "";
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new EventError(ErrorCode.invalid_argument, `schema must be a lowercase SQL identifier, got ${JSON.stringify(schema)}`);
  }
  return `"${schema}".`;
}

/**
 * Each migration is one statement (a DO block), so it applies whole or not at all, and takes a
 * transaction-scoped advisory lock so concurrent `migrate` calls from several servers serialise.
 *
 * - v1: the tables.
 * - v2: the commit function (replacing an earlier body, where there is one).
 * - v3: the commit function takes its bytes as blobs (one bytea each for digests, parent refs,
 *   payloads and parent digests, cut by offsets): one binary parameter instead of an array
 *   literal of hex strings that both sides encode and parse.
 */
function migrations(q: string): string[] {
  const lock = `PERFORM pg_advisory_xact_lock(hashtextextended('toka-events:migrate', 0));`;
  return [
    `DO $migration$ BEGIN
      ${lock}
      IF EXISTS (SELECT 1 FROM ${q}toka_migrations WHERE version = 1) THEN RETURN; END IF;
      CREATE TABLE ${q}toka_events (
        tenant text NOT NULL,
        seq bigint NOT NULL,
        id uuid NOT NULL,
        digest bytea NOT NULL,
        parents bytea NOT NULL,
        kind text NOT NULL,
        intent uuid NOT NULL,
        ts bigint NOT NULL,
        payload bytea NOT NULL,
        PRIMARY KEY (tenant, seq),
        UNIQUE (tenant, id)
      );
      CREATE INDEX toka_events_digest ON ${q}toka_events (tenant, digest);
      CREATE INDEX toka_events_kind ON ${q}toka_events (tenant, kind, seq);
      CREATE TABLE ${q}toka_heads (tenant text PRIMARY KEY, head bigint NOT NULL);
      INSERT INTO ${q}toka_migrations (version) VALUES (1);
    END $migration$`,
    `DO $migration$ BEGIN
      ${lock}
      IF EXISTS (SELECT 1 FROM ${q}toka_migrations WHERE version = 2) THEN RETURN; END IF;
      ${commitFunction(q)}
      INSERT INTO ${q}toka_migrations (version) VALUES (2);
    END $migration$`,
    `DO $migration$ BEGIN
      ${lock}
      IF EXISTS (SELECT 1 FROM ${q}toka_migrations WHERE version = 3) THEN RETURN; END IF;
      DROP FUNCTION IF EXISTS ${q}toka_commit(text, text, boolean, uuid[], bytea[], bytea[], text[], uuid[], bigint[], bytea[], int[], uuid[], bytea[]);
      ${commitFunction(q)}
      INSERT INTO ${q}toka_migrations (version) VALUES (3);
    END $migration$`,
  ];
}

/**
 * `toka_commit`: the commit rules of every vault, set-based, in one statement. Byte fields come
 * as blobs: digests and parent digests 32 bytes each, parent refs and payloads cut at offsets
 * (`offs[i]` to `offs[i + 1]`, zero-based, n + 1 of them). The batch's
 * stored rows are found once through the unique index on (tenant, id); every later check works
 * on those arrays, so no statement joins the batch against the whole tenant (a plan the planner
 * picks for tables without statistics, which made commits grow with the log).
 */
function commitFunction(q: string): string {
  return `CREATE OR REPLACE FUNCTION ${q}toka_commit(
        p_tenant text, p_channel text, p_allow_missing boolean,
        p_ids uuid[], p_digest_blob bytea, p_parents bytea, p_parent_offs int[], p_kinds text[],
        p_intents uuid[], p_ts bigint[], p_payloads bytea, p_payload_offs int[],
        p_parent_of int[], p_parent_ids uuid[], p_parent_digest_blob bytea
      ) RETURNS TABLE (id uuid, seq bigint, stored boolean) LANGUAGE plpgsql AS $fn$
      DECLARE
        p_digests bytea[] := ARRAY(SELECT substring(p_digest_blob FROM i * 32 - 31 FOR 32)
          FROM generate_series(1, cardinality(p_ids)) AS i);
        p_parent_digests bytea[] := ARRAY(SELECT substring(p_parent_digest_blob FROM i * 32 - 31 FOR 32)
          FROM generate_series(1, cardinality(p_parent_of)) AS i);
        v_head bigint;
        v_known uuid[];
        v_known_seqs bigint[];
        v_known_digests bytea[];
        v_bad record;
        v_new bigint;
      BEGIN
        -- One writer per tenant at a time: seqs commit in order, so a reader that sees seq n
        -- has seen every seq below n. The caller sends each id once per batch.
        PERFORM pg_advisory_xact_lock(hashtextextended('toka-events:' || p_tenant, 0));
        SELECT h.head INTO v_head FROM ${q}toka_heads h WHERE h.tenant = p_tenant;
        v_head := coalesce(v_head, 0);

        SELECT coalesce(array_agg(e.id), '{}'), coalesce(array_agg(e.seq), '{}'), coalesce(array_agg(e.digest), '{}')
          INTO v_known, v_known_seqs, v_known_digests
          FROM ${q}toka_events e WHERE e.tenant = p_tenant AND e.id = ANY (p_ids);

        IF cardinality(v_known) > 0 THEN
          SELECT b.id INTO v_bad FROM unnest(p_ids, p_digests) WITH ORDINALITY AS b(id, digest, i)
            JOIN unnest(v_known, v_known_digests) AS k(id, digest) ON k.id = b.id
            WHERE k.digest <> b.digest ORDER BY b.i LIMIT 1;
          IF FOUND THEN
            RAISE EXCEPTION 'event % already exists with a different digest', v_bad.id USING ERRCODE = 'TK003';
          END IF;
        END IF;

        -- Parents of new events: stored, or new earlier in this batch, with the digest named.
        IF cardinality(p_parent_of) > 0 THEN
          WITH b AS (
            SELECT x.id, x.digest, x.i FROM unnest(p_ids, p_digests) WITH ORDINALITY AS x(id, digest, i)
            WHERE NOT x.id = ANY (v_known)
          )
          SELECT c.id AS child, p.pid, (coalesce(e.digest, eb.digest) IS NULL) AS missing INTO v_bad
            FROM unnest(p_parent_of, p_parent_ids, p_parent_digests) AS p(child, pid, pdigest)
            JOIN b c ON c.i = p.child
            LEFT JOIN ${q}toka_events e ON e.tenant = p_tenant AND e.id = p.pid AND e.id = ANY (p_parent_ids)
            LEFT JOIN b eb ON eb.id = p.pid AND eb.i < p.child
            WHERE (coalesce(e.digest, eb.digest) IS NULL AND NOT p_allow_missing)
               OR coalesce(e.digest, eb.digest) <> p.pdigest
            ORDER BY p.child LIMIT 1;
          IF FOUND THEN
            IF v_bad.missing THEN
              RAISE EXCEPTION 'event %: unknown parent %', v_bad.child, v_bad.pid USING ERRCODE = 'TK001';
            END IF;
            RAISE EXCEPTION 'event %: parent % has a different digest than the event names', v_bad.child, v_bad.pid
              USING ERRCODE = 'TK002';
          END IF;
        END IF;

        INSERT INTO ${q}toka_events (tenant, seq, id, digest, parents, kind, intent, ts, payload)
          SELECT p_tenant, v_head + row_number() OVER (ORDER BY x.i), x.id, p_digests[x.i],
                 substring(p_parents FROM p_parent_offs[x.i] + 1 FOR p_parent_offs[x.i + 1] - p_parent_offs[x.i]),
                 p_kinds[x.i], p_intents[x.i], p_ts[x.i],
                 substring(p_payloads FROM p_payload_offs[x.i] + 1 FOR p_payload_offs[x.i + 1] - p_payload_offs[x.i])
          FROM unnest(p_ids) WITH ORDINALITY AS x(id, i) WHERE NOT x.id = ANY (v_known) ORDER BY x.i;
        GET DIAGNOSTICS v_new = ROW_COUNT;
        IF v_new > 0 THEN
          INSERT INTO ${q}toka_heads AS h (tenant, head) VALUES (p_tenant, v_head + v_new)
            ON CONFLICT (tenant) DO UPDATE SET head = EXCLUDED.head;
          PERFORM pg_notify(p_channel, p_tenant || ':' || (v_head + v_new));
        END IF;

        RETURN QUERY
          WITH n AS (
            SELECT x.i, v_head + row_number() OVER (ORDER BY x.i) AS seq
            FROM unnest(p_ids) WITH ORDINALITY AS x(id, i) WHERE NOT x.id = ANY (v_known)
          )
          SELECT x.id, coalesce(n.seq, k.seq), n.seq IS NOT NULL
          FROM unnest(p_ids) WITH ORDINALITY AS x(id, i)
          LEFT JOIN n ON n.i = x.i
          LEFT JOIN unnest(v_known, v_known_seqs) AS k(id, seq) ON k.id = x.id
          ORDER BY x.i;
      END
      $fn$;`;
}

/**
 * Brings the store's schema up to {@link SCHEMA_VERSION}. Idempotent (running it again is a
 * no-op) and safe to run from several servers at once. A database whose schema is newer than
 * this code knows is refused with `failed_precondition`.
 */
export async function migrate(client: SqlClient, opts: SchemaOptions = {}): Promise<void> {
  const q = qualifier(opts);
  try {
    // Under the lock: CREATE ... IF NOT EXISTS is not safe against a concurrent copy of itself.
    await client.query(
      `DO $$ BEGIN
        PERFORM pg_advisory_xact_lock(hashtextextended('toka-events:migrate', 0));
        ${opts.schema ? `CREATE SCHEMA IF NOT EXISTS "${opts.schema}";` : ""}
        CREATE TABLE IF NOT EXISTS ${q}toka_migrations (version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());
      END $$`,
    );
    const { rows } = await client.query(`SELECT coalesce(max(version), 0) AS v FROM ${q}toka_migrations`);
    const current = Number(rows[0]?.v ?? 0);
    if (current > SCHEMA_VERSION) {
      throw new EventError(
        ErrorCode.failed_precondition,
        `database schema version ${current} is newer than this toka-events knows (${SCHEMA_VERSION}); upgrade toka-events`,
      );
    }
    for (const sql of migrations(q).slice(current)) await client.query(sql);
  } catch (err) {
    throw fromSqlError(err);
  }
}
