// The Durable Object vault in real workerd: the contract suites over the wire (one fresh object per
// test, by tenant), and persistence across a restart of the runtime.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createEvent, text, uuidv4 } from "toka-events";
import { createRemoteStore, createWebTransport } from "toka-events/adapters/connect/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { historyContract, vaultContract } from "../../src/adapters/_contract/index.js";
import { bundle } from "../support/bundle.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const workerd = join(root, "node_modules/.bin/workerd");
let dir: string;
let port: number;
let proc: ChildProcess | undefined;
let workerdLog = "";

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

async function start(): Promise<void> {
  const child = spawn(workerd, ["serve", join(dir, "config.capnp")], { stdio: ["ignore", "pipe", "pipe"] });
  proc = child;
  let log = "";
  child.stdout!.on("data", (d) => ((log += d), (workerdLog += d)));
  child.stderr!.on("data", (d) => ((log += d), (workerdLog += d)));
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`workerd exited ${child.exitCode}: ${log}`);
    const up = await fetch(`http://127.0.0.1:${port}/`).then(() => true, () => false);
    if (up) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`workerd did not start: ${log}`);
}

async function stop(): Promise<void> {
  const p = proc;
  proc = undefined;
  if (!p || p.exitCode !== null) return;
  const exited = new Promise((r) => p.once("exit", r));
  p.kill("SIGTERM");
  await exited;
}

const remote = (tenant = uuidv4()) => createRemoteStore({ transport: createWebTransport({ baseUrl: `http://127.0.0.1:${port}/t/${tenant}` }) });

beforeAll(async () => {
  dir = mkdtempSync(join(root, ".tmp", "do-"));
  mkdirSync(join(dir, "storage"));
  writeFileSync(join(dir, "worker.js"), await bundle(fileURLToPath(new URL("./worker.ts", import.meta.url))));
  port = await freePort();
  writeFileSync(
    join(dir, "config.capnp"),
    `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "main", worker = .worker), (name = "storage", disk = (path = "${join(dir, "storage")}", writable = true)) ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
);
const worker :Workerd.Worker = (
  modules = [ (name = "worker.js", esModule = embed "worker.js") ],
  compatibilityDate = "2026-11-01",
  durableObjectNamespaces = [ (className = "EventLog", uniqueKey = "toka-events-test", enableSql = true) ],
  durableObjectStorage = (localDisk = "storage"),
  bindings = [ (name = "LOGS", durableObjectNamespace = "EventLog") ],
);
`,
  );
  await start();
}, 120_000);

afterAll(async () => {
  if (process.env.TOKA_DEBUG_WORKERD) console.log(workerdLog);
  await stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("durable object vault in workerd", () => {
  const run = { test: (name: string, fn: () => Promise<void>) => it(name, fn) };
  vaultContract(run, (opts) => remote(opts?.allowMissingParents ? `partial-${uuidv4()}` : uuidv4()));
  historyContract(run, () => remote());

  it("keeps the log across a restart of the runtime", async () => {
    const tenant = uuidv4();
    const a = createEvent({ kind: "chat.msg", payload: text.encode("before restart") });
    const b = createEvent({ kind: "chat.msg", payload: text.encode("child"), parents: [a.header] });
    const store = remote(tenant);
    expect((await store.commit([a, b])).map((r) => r.seq)).toEqual([1, 2]);
    await store.close();
    await stop();
    await start();
    const again = remote(tenant);
    expect(await again.head()).toBe(2);
    expect((await again.header(b.header.id))?.parents[0]?.id).toBe(a.header.id);
    expect(text.decode((await again.payload(b.header.digest))!)).toBe("child");
    const c = createEvent({ kind: "chat.msg", payload: text.encode("after"), parents: [b.header] });
    expect(await again.commit([c, a])).toEqual([
      { id: c.header.id, seq: 3, status: "stored" },
      { id: a.header.id, seq: 1, status: "duplicate" },
    ]);
    await again.close();
  });
});
