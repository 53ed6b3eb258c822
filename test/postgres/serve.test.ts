// `toka-events serve` on Postgres-backed stores, as a user runs it: the built bin in child processes.
import { type ChildProcess, spawn } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { type BusMessage, createEvent, type EventStore, type StoredEvent, text } from "toka-events";
import { createRemoteStore, createWebTransport } from "toka-events/adapters/connect/client";
import { afterAll, afterEach, describe, expect, inject, it } from "vitest";

const bin = join(import.meta.dirname, "..", "..", "dist", "cli.js");
const children: ChildProcess[] = [];
const dirs: string[] = [];

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
});
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "toka-serve-"));
  dirs.push(d);
  return d;
}

interface Server {
  child: ChildProcess;
  url: string;
  out: () => string;
  remote: EventStore;
}

/** Starts the bin; resolves once it logs where it listens. */
async function start(args: string[], cwd?: string, ms = 30_000): Promise<Server> {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ["ignore", "pipe", "pipe"], cwd });
  children.push(child);
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line within ${ms} ms in: ${out}`)), ms);
    child.stdout!.on("data", () => {
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`exited ${code}: ${out}`));
    });
  });
  return { child, url, out: () => out, remote: createRemoteStore({ transport: createWebTransport({ baseUrl: url }) }) };
}

/** SIGTERM, and the exit code. */
async function stop(s: Server): Promise<number | null> {
  await s.remote.close();
  if (s.child.exitCode !== null) return s.child.exitCode;
  const exited = new Promise<number | null>((resolve) => s.child.once("exit", (code) => resolve(code)));
  s.child.kill("SIGTERM");
  return exited;
}

async function all(store: EventStore): Promise<StoredEvent[]> {
  const out: StoredEvent[] = [];
  for await (const e of store.read()) out.push(e);
  return out;
}

/** Commits a small chain through a running server; returns what it then reads back. */
async function commitSome(s: Server): Promise<StoredEvent[]> {
  const a = createEvent({ kind: "serve.note", payload: text.encode("first") });
  const b = createEvent({ kind: "serve.note", payload: text.encode("second"), parents: [a.header] });
  const c = createEvent({ kind: "serve.other", payload: text.encode("third"), parents: [a.header, b.header] });
  expect((await s.remote.commit([a, b])).map((r) => r.status)).toEqual(["stored", "stored"]);
  expect((await s.remote.commit([c])).map((r) => r.seq)).toEqual([3]);
  const events = await all(s.remote);
  expect(events.map((e) => e.header.id)).toEqual([a.header.id, b.header.id, c.header.id]);
  return events;
}

describe("serve --store pglite:<dir>", () => {
  it("keeps head and events across a SIGTERM and a restart on the same directory", { timeout: 40_000 }, async () => {
    // A copy of the run's PGlite template: a fresh data directory costs seconds of initdb, and the
    // default-store test below covers creating one.
    const dir = join(tempDir(), "data");
    cpSync(inject("pgliteTemplate"), dir, { recursive: true });
    const first = await start(["serve", "--port", "0", "--store", `pglite:${dir}`]);
    expect(first.out()).toMatch(/store: pglite/);
    const before = await commitSome(first);
    expect(await first.remote.head()).toBe(3);
    // A subscription left open must not hold the shutdown up.
    const watcher = createRemoteStore({ transport: createWebTransport({ baseUrl: first.url }) });
    const sub = watcher.subscribe({ after: 2 });
    expect((await sub.next()).value).toMatchObject({ type: "event", event: { seq: 3 } });
    expect(await stop(first)).toBe(0);
    await watcher.close();

    const second = await start(["serve", "--port", "0", "--store", `pglite:${dir}`]);
    expect(await second.remote.head()).toBe(3);
    expect(await all(second.remote)).toEqual(before);
    // And it is still writable, carrying on from the same seq.
    const d = createEvent({ kind: "serve.note", payload: text.encode("after restart"), parents: [before[2]!.header] });
    expect(await second.remote.commit([d])).toEqual([{ id: d.header.id, seq: 4, status: "stored" }]);
    expect(await stop(second)).toBe(0);
  });

  it("defaults to pglite:./toka-data relative to the working directory, creating it", { timeout: 60_000 }, async () => {
    const cwd = tempDir();
    const first = await start(["serve", "--port", "0"], cwd, 50_000);
    expect(first.out()).toMatch(/store: pglite \(\.\/toka-data\)/);
    expect(existsSync(join(cwd, "toka-data", "PG_VERSION"))).toBe(true);
    const before = await commitSome(first);
    expect(await stop(first)).toBe(0);
    // The same data through an explicit absolute spec: the default really was <cwd>/toka-data.
    const second = await start(["serve", "--port", "0", "--store", `pglite:${join(cwd, "toka-data")}`]);
    expect(await all(second.remote)).toEqual(before);
    expect(await stop(second)).toBe(0);
  });
});

describe("two serve processes on one PostgreSQL", () => {
  it("a subscriber on B gets the events committed through A, in order and once each", { timeout: 60_000 }, async () => {
    const base = inject("pgUrl");
    const db = `toka_serve_${process.pid}_${Date.now().toString(36)}`;
    const admin = new pg.Client({ connectionString: base });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${db}"`);
    const u = new URL(base);
    u.pathname = `/${db}`;
    const dbUrl = u.toString();
    try {
      // Started together: both migrate the new database at once.
      const [a, b] = await Promise.all([start(["serve", "--port", "0", "--store", dbUrl]), start(["serve", "--port", "0", "--store", dbUrl])]);
      expect(a.out()).toMatch(/store: postgres \(postgres:\/\/postgres:\*\*\*@/);
      expect(a.out()).not.toMatch(/postgres:postgres@/);

      const N = 500;
      const sub = b.remote.subscribe({ after: 0 });
      const first = await sub.next();
      expect(first.value).toEqual({ type: "caught-up", seq: 0 });

      const sentAt = new Map<string, number>();
      const received: { seq: number; id: string; ms: number }[] = [];
      const receiving = (async () => {
        for (;;) {
          const r: IteratorResult<BusMessage> = await sub.next();
          if (r.done) throw new Error(`the subscription ended after ${received.length} events`);
          if (r.value.type !== "event") continue;
          const e = r.value.event;
          received.push({ seq: e.seq, id: e.header.id, ms: performance.now() - (sentAt.get(e.header.id) ?? Number.NaN) });
          if (received.length === N) return;
        }
      })();
      const timer = setTimeout(() => sub.close(), 40_000);

      const ids: string[] = [];
      const rtt: number[] = [];
      let prev: StoredEvent["header"] | undefined;
      for (let i = 0; i < N; i++) {
        const e = createEvent({ kind: "fanout.msg", payload: text.encode(`m${i}`), parents: prev && i % 10 !== 0 ? [prev] : [] });
        sentAt.set(e.header.id, performance.now());
        ids.push(e.header.id);
        const [r] = await a.remote.commit([e]);
        rtt.push(performance.now() - sentAt.get(e.header.id)!);
        expect(r).toEqual({ id: e.header.id, seq: i + 1, status: "stored" });
        prev = e.header;
      }
      await receiving;
      clearTimeout(timer);
      sub.close();

      expect(received.map((r) => r.seq)).toEqual(Array.from({ length: N }, (_, i) => i + 1));
      expect(received.map((r) => r.id)).toEqual(ids);
      const pct = (xs: number[], p: number) => {
        const s = [...xs].sort((x, y) => x - y);
        return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!.toFixed(1);
      };
      const ms = received.map((r) => r.ms);
      console.log(
        `commit through A -> received from B, ${N} events one at a time: p50 ${pct(ms, 50)} ms, p99 ${pct(ms, 99)} ms ` +
          `(A's commit round trip alone: p50 ${pct(rtt, 50)} ms, p99 ${pct(rtt, 99)} ms)`,
      );
      expect(await stop(a)).toBe(0);
      expect(await stop(b)).toBe(0);
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`);
      await admin.end();
    }
  });
});
