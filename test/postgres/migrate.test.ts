// migrate(): idempotent, safe to run from several connections at once, refuses a newer schema,
// isolates schemas, rejects bad schema names. On a real PostgreSQL, and on PGlite for idempotence.
import pg from "pg";
import { createEvent, ErrorCode, EventError, text } from "toka-events";
import { createPgClient, createPostgresStore, migrate, SCHEMA_VERSION, type SqlClient } from "toka-events/adapters/postgres";
import { afterAll, describe, expect, inject, it } from "vitest";
import { openTestPglite } from "../support/pglite.js";

const url = inject("pgUrl");
const pool = new pg.Pool({ connectionString: url, max: 4 });
pool.on("error", () => {});
const client = createPgClient(pool);
const schemas: string[] = [];
let n = 0;

/** A schema name no other test (or earlier run) uses. */
function freshSchema(): string {
  const s = `mig_${process.pid}_${Date.now().toString(36)}_${n++}`;
  schemas.push(s);
  return s;
}

afterAll(async () => {
  for (const s of schemas) await pool.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
  await pool.end();
});

/** Every table, index and function in a schema, and toka_migrations' versions with their row counts. */
async function shape(c: SqlClient, schema: string) {
  const rel = await c.query(
    `SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = $1 ORDER BY 1`,
    [schema],
  );
  const fns = await c.query(
    `SELECT p.proname, md5(pg_get_functiondef(p.oid)) AS def FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE n.nspname = $1 ORDER BY 1`,
    [schema],
  );
  const versions = await c.query(`SELECT version, count(*)::int AS rows FROM "${schema}".toka_migrations GROUP BY version ORDER BY version`);
  return { relations: rel.rows, functions: fns.rows, versions: versions.rows };
}

async function rejection(p: Promise<unknown>): Promise<EventError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, "expected a rejection").toBeInstanceOf(EventError);
  return err as EventError;
}

/**
 * Idempotence, for any client: same objects after a second run, one row per version, data kept.
 * `schema` undefined runs migrate without the option (tables land in "public").
 */
async function migrateTwice(c: SqlClient, option: string | undefined) {
  const opts = option === undefined ? {} : { schema: option };
  const schema = option ?? "public";
  await migrate(c, opts);
  const first = await shape(c, schema);
  expect(first.relations.map((r) => r.relname)).toEqual(expect.arrayContaining(["toka_events", "toka_heads", "toka_migrations"]));
  expect(first.functions.map((f) => f.proname)).toEqual(["toka_commit"]);
  expect(first.versions).toEqual(Array.from({ length: SCHEMA_VERSION }, (_, i) => ({ version: i + 1, rows: 1 })));

  const store = createPostgresStore({ client: c, ...opts });
  const e = createEvent({ kind: "mig.test", payload: text.encode("kept") });
  await store.commit([e]);

  await migrate(c, opts);
  expect(await shape(c, schema)).toEqual(first);
  expect(await store.head()).toBe(1);
  expect((await store.header(e.header.id))?.digest).toEqual(e.header.digest);
  await store.close();
}

describe("migrate on PostgreSQL", () => {
  it("a second run is a no-op: same tables and function, one toka_migrations row per version, data kept", async () => {
    await migrateTwice(client, freshSchema());
  });

  it("without a schema option it migrates the search path's schema, twice without error", async () => {
    // A database of its own, so the public schema starts empty.
    const db = `mig_${process.pid}_${Date.now().toString(36)}`;
    await pool.query(`CREATE DATABASE "${db}"`);
    const u = new URL(url);
    u.pathname = `/${db}`;
    const own = new pg.Pool({ connectionString: u.toString(), max: 2 });
    own.on("error", () => {});
    try {
      await migrateTwice(createPgClient(own), undefined);
    } finally {
      await own.end();
      await pool.query(`DROP DATABASE "${db}" WITH (FORCE)`);
    }
  });

  it("several connections migrating a new schema at once all succeed", { timeout: 30_000 }, async () => {
    // Separate connections (not a pool) so the runs truly overlap; a few fresh schemas, since a
    // race between "does it exist" and "create it" only shows some of the time.
    const conns = await Promise.all(
      Array.from({ length: 6 }, async () => {
        const c = new pg.Client({ connectionString: url });
        c.on("error", () => {});
        await c.connect();
        return c;
      }),
    );
    try {
      for (let round = 0; round < 4; round++) {
        const schema = freshSchema();
        const outcomes = await Promise.allSettled(conns.map((c) => migrate(c, { schema })));
        const failed = outcomes.flatMap((o, i) => (o.status === "rejected" ? [`connection ${i}: ${(o.reason as EventError).code} ${String(o.reason)}`] : []));
        expect(failed, `round ${round}`).toEqual([]);
        const s = await shape(client, schema);
        expect(s.versions).toEqual(Array.from({ length: SCHEMA_VERSION }, (_, i) => ({ version: i + 1, rows: 1 })));
        expect(s.functions.map((f) => f.proname)).toEqual(["toka_commit"]);
      }
    } finally {
      await Promise.all(conns.map((c) => c.end()));
    }
  });

  it("upgrades a v2 database: the old commit function signature goes, stored events stay, commits continue", async () => {
    const schema = freshSchema();
    await migrate(client, { schema });
    const store = createPostgresStore({ client, schema });
    const first = createEvent({ kind: "chat.msg", payload: text.encode("before") });
    await store.commit([first]);
    // Back to what v2 left: its row and a commit function with v2's signature (arrays of bytea).
    await pool.query(`DELETE FROM "${schema}".toka_migrations WHERE version = 3`);
    await pool.query(`CREATE FUNCTION "${schema}".toka_commit(text, text, boolean, uuid[], bytea[], bytea[], text[], uuid[], bigint[], bytea[], int[], uuid[], bytea[])
      RETURNS TABLE (id uuid, seq bigint, stored boolean) LANGUAGE sql AS $$ SELECT NULL::uuid, 0::bigint, false $$`);
    expect((await shape(client, schema)).functions).toHaveLength(2);
    await migrate(client, { schema });
    const s = await shape(client, schema);
    expect(s.functions.map((f) => f.proname)).toEqual(["toka_commit"]);
    expect(s.versions).toEqual(Array.from({ length: SCHEMA_VERSION }, (_, i) => ({ version: i + 1, rows: 1 })));
    const child = createEvent({ kind: "chat.msg", payload: text.encode("after"), parents: [first.header] });
    expect(await store.commit([child])).toEqual([{ id: child.header.id, seq: 2, status: "stored" }]);
    const all = [];
    for await (const e of store.read()) all.push(e);
    expect(all.map((e) => [e.seq, e.header.id, text.decode(e.payload)])).toEqual([
      [1, first.header.id, "before"],
      [2, child.header.id, "after"],
    ]);
    await store.close();
  });

  it("refuses a database whose schema is newer than this code, with failed_precondition", async () => {
    const schema = freshSchema();
    await migrate(client, { schema });
    await pool.query(`INSERT INTO "${schema}".toka_migrations (version) VALUES (999)`);
    const err = await rejection(migrate(client, { schema }));
    expect(err.code).toBe(ErrorCode.failed_precondition);
    expect(err.message).toMatch(/999/);
    expect(err.message).toMatch(new RegExp(`newer[^]*\\b${SCHEMA_VERSION}\\b`));
    // Nothing was touched.
    const { rows } = await pool.query(`SELECT version FROM "${schema}".toka_migrations ORDER BY version`);
    expect(rows.map((r) => r.version)).toEqual([...Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1), 999]);
  });

  it("the schema option isolates two logs: same tenant, separate tables, seqs and heads", async () => {
    const [a, b] = [freshSchema(), freshSchema()];
    await Promise.all([migrate(client, { schema: a }), migrate(client, { schema: b })]);
    const sa = createPostgresStore({ client, schema: a });
    const sb = createPostgresStore({ client, schema: b });
    const ea = [createEvent({ kind: "iso.a", payload: text.encode("a1") }), createEvent({ kind: "iso.a", payload: text.encode("a2") })];
    const eb = createEvent({ kind: "iso.b", payload: text.encode("b1") });
    expect((await sa.commit(ea)).map((r) => r.seq)).toEqual([1, 2]);
    expect(await sb.head()).toBe(0);
    expect(await sb.commit([eb])).toEqual([{ id: eb.header.id, seq: 1, status: "stored" }]);
    expect(await sa.head()).toBe(2);
    expect(await sb.header(ea[0]!.header.id)).toBeUndefined();
    expect(await sa.header(eb.header.id)).toBeUndefined();
    const kinds = async (s: typeof sa) => {
      const out: string[] = [];
      for await (const e of s.read()) out.push(e.header.kind);
      return out;
    };
    expect(await kinds(sa)).toEqual(["iso.a", "iso.a"]);
    expect(await kinds(sb)).toEqual(["iso.b"]);
    // The rows are where the schema says, not in the search path's schema.
    const count = async (s: string) => Number((await pool.query(`SELECT count(*) AS n FROM "${s}".toka_events`)).rows[0].n);
    expect([await count(a), await count(b)]).toEqual([2, 1]);
    await Promise.all([sa.close(), sb.close()]);
  });

  it("the longest schema name it accepts (63 characters) works for commit and subscribe too", async () => {
    // 63 bytes is Postgres' identifier limit, and what qualifier() allows; the store's NOTIFY
    // channel is derived from the schema name and must not outgrow that limit.
    const schema = `long_${process.pid}_${Date.now().toString(36)}_`.padEnd(63, "x");
    schemas.push(schema);
    await migrate(client, { schema });
    const store = createPostgresStore({ client, schema, pollMs: 200 });
    try {
      const sub = store.subscribe({ after: 0 });
      const e = createEvent({ kind: "long.name", payload: text.encode("x") });
      expect(await store.commit([e])).toEqual([{ id: e.header.id, seq: 1, status: "stored" }]);
      let got: unknown;
      for await (const m of sub) {
        if (m.type === "event") {
          got = m.event.header.id;
          break;
        }
      }
      expect(got).toBe(e.header.id);
    } finally {
      await store.close();
    }
  });

  it("two schemas chosen by search_path rather than the schema option do not wake each other with wrong heads", async () => {
    // Each pool's connections default to their own schema; both stores use tenant "default".
    const [a, b] = [freshSchema(), freshSchema()];
    await pool.query(`CREATE SCHEMA "${a}"; CREATE SCHEMA "${b}"`);
    const pools = [a, b].map((s) => {
      const p = new pg.Pool({ connectionString: url, max: 3, options: `-c search_path=${s}` });
      p.on("error", () => {});
      return p;
    });
    const [ca, cb] = pools.map((p) => createPgClient(p)) as [SqlClient, SqlClient];
    const sa = createPostgresStore({ client: ca, pollMs: 100 });
    const sb = createPostgresStore({ client: cb, pollMs: 100 });
    try {
      await migrate(ca);
      await migrate(cb);
      const sub = sa.subscribe({ after: 0 });
      expect((await sub.next()).value).toEqual({ type: "caught-up", seq: 0 });
      // B's log moves far ahead first (its notifications name head 20) ...
      await sb.commit(Array.from({ length: 20 }, (_, i) => createEvent({ kind: "path.b", payload: text.encode(`b${i}`) })));
      expect(await sb.head()).toBe(20);
      // ... then A gets 3 events, and 3 more once those arrived: A's subscriber must receive
      // exactly its own 6, whichever way B's notification and A's commits interleave.
      const batch = (from: number) => Array.from({ length: 3 }, (_, i) => createEvent({ kind: "path.a", payload: text.encode(`a${from + i}`) }));
      await sa.commit(batch(1));
      const got: string[] = [];
      const timer = setTimeout(() => sub.close(), 5000);
      for await (const m of sub) {
        if (m.type !== "event") continue;
        got.push(`${m.event.seq} ${m.event.header.kind}`);
        if (got.length === 3) await sa.commit(batch(4));
        if (got.length === 6) break;
      }
      clearTimeout(timer);
      expect(got).toEqual(Array.from({ length: 6 }, (_, i) => `${i + 1} path.a`));
    } finally {
      await Promise.all([sa.close(), sb.close()]);
      await Promise.all(pools.map((p) => p.end()));
    }
  });

  it("a bad schema name is invalid_argument, and nothing is created", async () => {
    for (const schema of ["Upper", "has-dash", 'x"; DROP SCHEMA public; --', "", "1starts_with_digit", "a".repeat(64)]) {
      const err = await rejection(migrate(client, { schema }));
      expect(err.code, JSON.stringify(schema)).toBe(ErrorCode.invalid_argument);
      expect(() => createPostgresStore({ client, schema }), JSON.stringify(schema)).toThrow(
        expect.objectContaining({ code: ErrorCode.invalid_argument }),
      );
    }
    const { rows } = await pool.query(`SELECT nspname FROM pg_namespace WHERE nspname ILIKE 'upper' OR nspname LIKE 'has-dash'`);
    expect(rows).toEqual([]);
  });
});

describe("migrate on PGlite", () => {
  it("a second run is a no-op, with and without a schema", { timeout: 30_000 }, async () => {
    const pglite = await openTestPglite();
    try {
      await migrateTwice(pglite.db, undefined);
      await migrateTwice(pglite.db, "tenant_x");
    } finally {
      await pglite.close();
    }
  });
});
