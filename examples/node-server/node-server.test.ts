// Smoke test of the production-style server: its exact command on a fresh PostgreSQL database.
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import pg from "pg";
import { type BusMessage, createEvent, type EventStore, json, text } from "toka-events";
import { createRemoteStore, createWebTransport } from "toka-events/adapters/connect/client";
import { afterAll, describe, expect, inject, it } from "vitest";

const script = join(import.meta.dirname, "server.mjs");
const children: ChildProcess[] = [];
const stores: EventStore[] = [];
let admin: pg.Client | undefined;
let dbName: string | undefined;

afterAll(async () => {
  for (const s of stores) await s.close().catch(() => {});
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  if (admin && dbName) await admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`).catch(() => {});
  await admin?.end();
});

interface Running {
  child: ChildProcess;
  url: string;
  /** Every stdout line, parsed (the test fails on one that is not JSON). */
  lines: () => Record<string, unknown>[];
  remote: EventStore;
}

/** `DATABASE_URL=… PORT=0 node examples/node-server/server.mjs`; resolves on its "listening" line. */
async function start(databaseUrl: string): Promise<Running> {
  const child = spawn(process.execPath, [script], {
    env: { ...process.env, DATABASE_URL: databaseUrl, PORT: "0", HOST: "127.0.0.1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let out = "";
  let err = "";
  child.stderr!.on("data", (d) => (err += d));
  const lines = () =>
    out
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "listening" line in: ${out}${err}`)), 20_000);
    child.stdout!.on("data", (d) => {
      out += d;
      const listening = lines().find((l) => l["msg"] === "listening");
      if (listening) {
        clearTimeout(timer);
        resolve(listening["url"] as string);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`exited ${code}: ${out}${err}`));
    });
  });
  const remote = createRemoteStore({ transport: createWebTransport({ baseUrl: url }) });
  stores.push(remote);
  return { child, url, lines, remote };
}

async function stop(r: Running, signal: NodeJS.Signals): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => r.child.once("exit", (code) => resolve(code)));
  r.child.kill(signal);
  return exited;
}

describe("examples/node-server", () => {
  it("serves a fresh PostgreSQL database, fans out across instances, logs JSON and stops cleanly", async () => {
    const base = inject("pgUrl");
    admin = new pg.Client({ connectionString: base });
    await admin.connect();
    dbName = `toka_example_${process.pid}_${Date.now()}`;
    await admin.query(`CREATE DATABASE "${dbName}"`);
    const url = new URL(base);
    url.pathname = `/${dbName}`;

    // Two instances on one database, as behind a load balancer.
    const [a, b] = await Promise.all([start(url.toString()), start(url.toString())]);
    const sub = b.remote.subscribe({ kinds: ["chat.*"], after: 0 });
    const it = sub[Symbol.asyncIterator]();
    expect((await it.next()).value).toEqual({ type: "caught-up", seq: 0 });

    const hello = createEvent({ kind: "chat.msg", payload: json.encode({ text: "hello" }) });
    const reply = createEvent({ kind: "chat.msg", payload: text.encode("hi!"), parents: [hello.header] });
    expect(await a.remote.commit([hello, reply])).toEqual([
      { id: hello.header.id, seq: 1, status: "stored" },
      { id: reply.header.id, seq: 2, status: "stored" },
    ]);
    // Committed through one instance, delivered live by the other (NOTIFY, or the poll).
    const seen: number[] = [];
    while (seen.length < 2) {
      const m = (await it.next()).value as BusMessage;
      if (m.type === "event") seen.push(m.event.seq);
    }
    expect(seen).toEqual([1, 2]);
    sub.close();
    expect(await b.remote.head()).toBe(2);
    // Straight from PostgreSQL: the events are rows of the migrated schema.
    const db = new pg.Client({ connectionString: url.toString() });
    await db.connect();
    const rows = await db.query("SELECT kind FROM toka_events ORDER BY seq").finally(() => db.end());
    expect(rows.rows).toEqual([{ kind: "chat.msg" }, { kind: "chat.msg" }]);

    // SIGTERM with a subscription open, SIGINT on the other: both exit 0 after "stopped".
    const open = a.remote.subscribe({ after: 0 });
    await open[Symbol.asyncIterator]().next();
    expect(await stop(a, "SIGTERM")).toBe(0);
    expect(await stop(b, "SIGINT")).toBe(0);
    for (const r of [a, b]) {
      const msgs = r.lines().map((l) => l["msg"]);
      expect(msgs).toEqual(["starting", "database ready", "listening", "shutting down", "stopped"]);
      for (const l of r.lines()) expect(l).toMatchObject({ time: expect.any(String), level: expect.any(String) });
      expect(JSON.stringify(r.lines())).not.toContain("postgres:postgres@"); // the password is redacted
    }
    expect(a.lines().find((l) => l["msg"] === "shutting down")).toMatchObject({ signal: "SIGTERM", openSubscriptions: 1 });

    // The data outlives the processes: a restarted server serves it.
    const again = await start(url.toString());
    expect(await again.remote.head()).toBe(2);
    expect(await stop(again, "SIGTERM")).toBe(0);
  });

  it("refuses to start without DATABASE_URL", async () => {
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env["DATABASE_URL"];
    const child = spawn(process.execPath, [script], { env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    const code = await new Promise((resolve) => child.once("exit", resolve));
    expect(code).toBe(2);
    expect(JSON.parse(out)).toMatchObject({ level: "fatal", msg: expect.stringMatching(/DATABASE_URL is not set/) });
  });
});
