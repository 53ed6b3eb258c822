// Seq safety on a real PostgreSQL (DESIGN §2 commit rules, §5): 8 committers in 2 processes race
// on one tenant while this process follows the log. A reader that has seen seq n must have seen
// every seq below n, so each seq it ever sees is exactly its cursor + 1.
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import pg from "pg";
import type { StoredEvent } from "toka-events";
import { createPgClient, createPostgresStore, migrate } from "toka-events/adapters/postgres";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";

const fixture = join(import.meta.dirname, "fixtures", "committer.mjs");
const TOTAL = 5000;
const PROCESSES = 2;
const COMMITTERS = 4; // per process

const schema = `seq_${process.pid}_${Date.now().toString(36)}`;
const pool = new pg.Pool({ connectionString: inject("pgUrl"), max: 4 });
pool.on("error", () => {});
const client = createPgClient(pool);
const children: ChildProcess[] = [];

beforeAll(() => migrate(client, { schema }));
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
});
afterAll(async () => {
  await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await pool.end();
});

interface Committer {
  child: ChildProcess;
  ready: Promise<void>;
  /** The [id, seq] of every event it stored, once it exits cleanly. */
  done: Promise<[string, number][]>;
}

function startCommitter(tenant: string, name: string, seed: number): Committer {
  const cfg = { url: inject("pgUrl"), schema, tenant, committers: COMMITTERS, events: TOTAL / PROCESSES, seed, name };
  const child = spawn(process.execPath, [fixture, JSON.stringify(cfg)], { stdio: ["pipe", "pipe", "pipe"] });
  children.push(child);
  let out = "";
  let err = "";
  child.stderr!.on("data", (d) => (err += d));
  let onReady!: () => void;
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  child.stdout!.on("data", (d) => {
    out += d;
    if (out.startsWith("ready\n")) onReady();
  });
  const done = new Promise<[string, number][]>((resolve, reject) => {
    child.once("close", (code, signal) => {
      if (code !== 0) return reject(new Error(`committer ${name} exited ${code ?? signal}: ${err}`));
      resolve(JSON.parse(out.slice("ready\n".length)) as [string, number][]);
    });
  });
  // A child that dies before "ready" must fail the test, not hang it.
  return { child, ready: Promise.race([ready, done.then(() => {})]), done };
}

/** Starts both processes, lets them go at once, and returns what they stored. */
async function race(tenant: string, seed: number, follow: () => Promise<void>): Promise<[string, number][]> {
  const cs = Array.from({ length: PROCESSES }, (_, i) => startCommitter(tenant, `p${i}`, seed + i));
  await Promise.all(cs.map((c) => c.ready));
  const following = follow();
  for (const c of cs) c.child.stdin!.end("go\n");
  const [stored] = await Promise.all([Promise.all(cs.map((c) => c.done)).then((s) => s.flat()), following]);
  return stored;
}

/** Checks the followed log against what the committers stored: seqs 1..TOTAL, each id once, at its seq. */
function checkAgainst(seen: StoredEvent[], stored: [string, number][], seed: number) {
  expect(stored.length, `seed ${seed}`).toBe(TOTAL);
  expect(new Set(stored.map(([id]) => id)).size).toBe(TOTAL);
  expect(seen.map((e) => e.seq)).toEqual(Array.from({ length: TOTAL }, (_, i) => i + 1));
  const bySeq = new Map(seen.map((e) => [e.seq, e.header.id]));
  const wrong = stored.filter(([id, seq]) => bySeq.get(seq) !== id);
  expect(wrong, `commit results whose seq holds another event (seed ${seed})`).toEqual([]);
  expect(new Set(seen.map((e) => e.header.id)).size).toBe(TOTAL);
}

describe("seq safety on PostgreSQL", () => {
  it("a reader polling read({ after }) as fast as it can only ever sees cursor + 1", { timeout: 60_000 }, async () => {
    const seed = Date.now() % 1_000_000;
    const tenant = `reader-${seed}`;
    const store = createPostgresStore({ client, schema, tenant });
    const seen: StoredEvent[] = [];
    const jumps: string[] = [];
    let reads = 0;
    const deadline = Date.now() + 45_000;
    const stored = await race(tenant, seed, async () => {
      let cursor = 0;
      while (cursor < TOTAL && jumps.length === 0 && Date.now() < deadline) {
        reads++;
        for await (const e of store.read({ after: cursor })) {
          if (e.seq !== cursor + 1) {
            jumps.push(`after ${cursor} saw seq ${e.seq}`);
            break;
          }
          cursor = e.seq;
          seen.push(e);
        }
      }
    });
    expect(jumps, `seed ${seed}`).toEqual([]);
    checkAgainst(seen, stored, seed);
    expect(await store.head()).toBe(TOTAL);
    let more = 0;
    for await (const _ of store.read({ after: TOTAL })) more++;
    expect(more).toBe(0);
    // Only a check that the reader really raced the writers rather than reading once at the end.
    expect(reads).toBeGreaterThan(10);
    await store.close();
  });

  it("a subscriber from after: 0 gets every event in seq order, once each", { timeout: 60_000 }, async () => {
    const seed = (Date.now() + 1) % 1_000_000;
    const tenant = `subscriber-${seed}`;
    const store = createPostgresStore({ client, schema, tenant });
    const sub = store.subscribe({ after: 0 });
    const seen: StoredEvent[] = [];
    const problems: string[] = [];
    const timer = setTimeout(() => sub.close(), 45_000);
    const stored = await race(tenant, seed, async () => {
      let last = 0;
      for await (const m of sub) {
        if (m.type !== "event") continue;
        if (m.event.seq !== last + 1) problems.push(`after ${last} got seq ${m.event.seq}`);
        last = m.event.seq;
        seen.push(m.event);
        if (seen.length >= TOTAL || problems.length > 0) break;
      }
    });
    clearTimeout(timer);
    expect(problems, `seed ${seed}`).toEqual([]);
    checkAgainst(seen, stored, seed);
    await store.close();
  });
});
