/**
 * The sync runtime, as an app uses it (the built package, imported by name):
 * - runtime.commit against the bare vault commit of a createEvent-built event, over a memory vault
 *   in Node and over an IndexedDB vault in Chromium (bench/pages/runtime-cases.ts), local only and
 *   with an unreachable remote (so each commit also enqueues its outbox entry);
 * - pushes over a simulated 20 ms round trip, one in flight vs four (batch.maxInFlight);
 * - end-to-end sync client → server → client on loopback: `toka-events serve` in a child process
 *   on PGlite and on PostgreSQL; runtime A (memory vault + createRemoteStore) commits, runtime B
 *   (memory vault + bus + createRemoteStore) pulls. Throughput: after 20k events of warm-up, three
 *   bursts of N events committed on A, each timed until B's remote cursor covers them; the median
 *   burst is the figure. Latency: A commits at a paced 1,000 events/s; each event
 *   is timed from the start of runtime.commit to its arrival at a subscriber of the server
 *   (createRemoteStore.subscribe) and at a subscriber of runtime B (runtime.subscribe).
 */
import { cpus, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { createEventStore, type EventStore, type Subscription } from "toka-events";
import { createRemoteStore, createWebTransport } from "toka-events/adapters/connect/client";
import { createMemoryBus, createMemoryVault } from "toka-events/adapters/memory";
import { createEventRuntime, type EventRuntime } from "toka-events/runtime";
import { startPostgres } from "../test/support/postgres-server.js";
import { DEFAULT_BUDGET, measureAll, pick, printTable, ratio } from "./harness.js";
import { callPage, openBenchPage } from "./indexeddb.js";
import { bareName, PAYLOAD_BYTES, runtimeCommitCases, runtimeName } from "./pages/runtime-cases.js";
import type { RuntimeBenchApi } from "./pages/runtime.page.js";
import {
  cpuMeter,
  freshDatabase,
  latencyLine,
  paced,
  quantile,
  type ServeProcess,
  sleep,
  startServe,
  tmpDir,
  untilCaughtUp,
} from "./postgres.js";

const COMMIT_RATIO_TARGET = 0.7;
const SYNC_EVENTS = 20_000;
const SYNC_BURSTS = 3;
// Until V8 has optimized the hot paths of all three processes: the first 20k events run at about
// two thirds of the rate of the next ones. The warm-up's own rate is printed, not counted.
const WARMUP_EVENTS = 20_000;
const SYNC_TARGET = 20_000; // events/s
const LATENCY_RATE = 1_000; // events/s
const LATENCY_MS = 5_000;
const LATENCY_P99_TARGET = 100; // ms

/** Resolves once `pred()` holds (checked every millisecond); false after `timeoutMs`. */
async function until(pred: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = performance.now() + timeoutMs;
  while (!pred()) {
    if (performance.now() > end) return false;
    await sleep(1);
  }
  return true;
}

/** A 256 B payload whose first 4 bytes carry `i`, so a receiver can tell which commit it was. */
function payloadFor(i: number): Uint8Array {
  const p = crypto.getRandomValues(new Uint8Array(PAYLOAD_BYTES));
  new DataView(p.buffer).setUint32(0, i);
  return p;
}
const indexOf = (payload: Uint8Array) => new DataView(payload.buffer, payload.byteOffset, payload.byteLength).getUint32(0);

function commitRatios(results: Awaited<ReturnType<typeof measureAll>>, label: string): void {
  for (const outbox of [false, true]) {
    ratio(
      `${label}: runtime.commit / bare vault.commit, ${outbox ? "outbox" : "local only"}`,
      pick(results, runtimeName(label, outbox)) / pick(results, bareName(label, outbox)),
      COMMIT_RATIO_TARGET,
    );
  }
}

/** Sync through one server: throughput of a burst, then latency at a paced rate. */
async function syncThrough(title: string, storeSpec: string, server: ServeProcess, serverPids: Record<string, number>): Promise<void> {
  const transport = () => createWebTransport({ baseUrl: server.url });
  const remotes: EventStore[] = [];
  const remote = () => {
    const r = createRemoteStore({ transport: transport() });
    remotes.push(r);
    return r;
  };
  const vaultB = createMemoryVault();
  const a = createEventRuntime({ vault: createMemoryVault(), remote: remote() });
  const b = createEventRuntime({ vault: vaultB, bus: createMemoryBus(), remote: remote() });
  const runtimes: EventRuntime[] = [a, b];
  const subs: Subscription[] = [];
  try {
    if (!(await until(() => a.status().caughtUp && b.status().caughtUp, 20_000))) throw new Error("runtimes did not catch up");
    console.log(`\n## runtime: end-to-end sync through ${title}\n`);
    console.log(
      "  A, B: createEventRuntime({ vault: createMemoryVault(), remote: createRemoteStore(createWebTransport) }), B also with a memory bus;\n" +
        `  server: node dist/cli.js serve --port 0 --store ${storeSpec} (a child process; fresh store); ${WARMUP_EVENTS / 1000}k events of warm-up first`,
    );

    // Warm-up (its time printed, not counted): JIT, connections, prepared plans, the first batches.
    const warm = b.status().cursors.remote;
    const w0 = performance.now();
    for (let i = 0; i < WARMUP_EVENTS; i++) await a.commit("bench.warmup", payloadFor(i));
    if (!(await until(() => b.status().cursors.remote >= warm + WARMUP_EVENTS, 60_000))) throw new Error("warm-up did not sync");
    console.log(`\n  warm-up (not counted): ${WARMUP_EVENTS / 1000}k events A → server → B in ${(performance.now() - w0).toFixed(0)} ms`);

    // Throughput: bursts of SYNC_EVENTS commits on A; the median burst is the figure.
    const rates: number[] = [];
    for (let burst = 1; burst <= SYNC_BURSTS; burst++) {
      const before = b.status().cursors.remote;
      const payloads = Array.from({ length: SYNC_EVENTS }, (_, i) => payloadFor(i)); // made before the clock starts
      const cpu = cpuMeter({ "bench (A + B)": process.pid, ...serverPids });
      const t0 = performance.now();
      for (let i = 0; i < SYNC_EVENTS; i++) await a.commit("bench.sync", payloads[i]!);
      const committed = performance.now() - t0;
      const pushedOk = await until(() => a.status().pending === 0, 60_000);
      const pushed = performance.now() - t0;
      const pulledOk = await until(() => b.status().cursors.remote >= before + SYNC_EVENTS, 60_000);
      const pulled = performance.now() - t0;
      const cpuLine = cpu();
      rates.push(pulledOk ? (SYNC_EVENTS / pulled) * 1000 : 0);
      const k = (ms: number) => `${((SYNC_EVENTS / ms) * 1000 / 1000).toFixed(1)}k events/s`;
      console.log(
        `\n  burst ${burst}: ${SYNC_EVENTS / 1000}k runtime.commit on A: ${committed.toFixed(0)} ms; A's outbox empty after ${pushed.toFixed(0)} ms` +
          `${pushedOk ? "" : " (timed out)"}; B pulled all after ${pulled.toFixed(0)} ms (${k(pulled)})${pulledOk ? "" : " (timed out)"}\n  ${cpuLine}`,
      );
    }
    const push = a.metrics().histograms["toka.runtime.push.duration"];
    if (push) console.log(`  A: ${push.count} pushes, p50 ${push.p50.toFixed(1)} ms, max ${push.max.toFixed(1)} ms; B pulled ${b.metrics().counters["toka.runtime.events.pulled"] ?? 0} events`);
    console.log();
    const median = [...rates].sort((x, y) => x - y)[rates.length >> 1]!;
    ratio(`${title}: sync A → server → B (median burst) / ${SYNC_TARGET / 1000}k events/s`, median / SYNC_TARGET, 1);

    // Latency at a paced rate.
    const probe = remote();
    const serverSub = probe.subscribe({ after: await probe.head() });
    subs.push(serverSub);
    await untilCaughtUp(serverSub);
    const bSub = b.subscribe({ after: await vaultB.head() });
    subs.push(bSub);
    await untilCaughtUp(bSub);
    const total = (LATENCY_RATE * LATENCY_MS) / 1000;
    const started = new Float64Array(total);
    const lat = { server: [] as number[], b: [] as number[] };
    const listen = (sub: Subscription, into: number[]) =>
      (async () => {
        for await (const m of sub) {
          if (m.type !== "event" || m.event.header.kind !== "bench.latency") continue;
          into.push(performance.now() - started[indexOf(m.event.payload)]!);
        }
      })().catch(() => {});
    const loops = [listen(serverSub, lat.server), listen(bSub, lat.b)];
    const commitMs: number[] = [];
    const cpu2 = cpuMeter({ "bench (A + B)": process.pid, ...serverPids });
    await paced(LATENCY_RATE, LATENCY_MS, async (i) => {
      started[i] = performance.now();
      await a.commit("bench.latency", payloadFor(i));
      commitMs.push(performance.now() - started[i]!);
    });
    const cpuLine2 = cpu2();
    await until(() => lat.server.length >= total && lat.b.length >= total, 5_000);
    for (const s of subs) s.close();
    await Promise.all(loops);
    console.log(`\n  ${LATENCY_RATE} runtime.commit/s on A for ${LATENCY_MS / 1000} s, one event each; ${cpuLine2}`);
    console.log(latencyLine("runtime.commit on A (start → resolved)", commitMs));
    console.log(latencyLine("A commit start → server subscriber (remote store)", lat.server, total));
    console.log(latencyLine("A commit start → runtime B's subscriber", lat.b, total));
    console.log();
    const p99 = (l: number[]) => (l.length < total ? Infinity : quantile([...l].sort((x, y) => x - y), 0.99));
    ratio(`${title}: p99 A → server subscriber: ${LATENCY_P99_TARGET} ms / measured`, LATENCY_P99_TARGET / p99(lat.server), 1);
    ratio(`${title}: p99 A → B's subscriber: ${LATENCY_P99_TARGET} ms / measured`, LATENCY_P99_TARGET / p99(lat.b), 1);
  } finally {
    for (const s of subs) s.close();
    await Promise.allSettled(runtimes.map((r) => r.close()));
    await Promise.allSettled(remotes.map((r) => r.close()));
  }
}

/** Pushing over a slow link: a memory store behind a simulated round trip, one push vs several in flight. */
async function pipelinedPushes(): Promise<void> {
  const rttMs = 20;
  const n = 20_000;
  console.log(
    `\n## runtime: pushes over a ${rttMs} ms round trip (a memory store whose commit waits ${rttMs / 2} ms before and after; ${n / 1000}k runtime.commit, then flush)\n`,
  );
  const rates: Record<number, number> = {};
  for (const maxInFlight of [1, 4]) {
    const inner = createEventStore({ vault: createMemoryVault(), bus: createMemoryBus() });
    const delay = () => sleep(rttMs / 2);
    const remote: EventStore = { ...inner, commit: async (events, o) => (await delay(), await inner.commit(events, o).finally(delay)) };
    const rt = createEventRuntime({ vault: createMemoryVault(), remote, batch: { maxInFlight } });
    try {
      const payloads = Array.from({ length: n }, (_, i) => payloadFor(i));
      const t0 = performance.now();
      for (const p of payloads) await rt.commit("bench.rtt", p);
      await rt.flush();
      const ms = performance.now() - t0;
      if ((await inner.head()) !== n) throw new Error(`the store has ${await inner.head()} events, not ${n}`);
      rates[maxInFlight] = n / ms;
      console.log(`  batch.maxInFlight ${maxInFlight}: ${ms.toFixed(0)} ms, ${(n / ms).toFixed(1)}k events/s`);
    } finally {
      await rt.close();
    }
  }
  console.log();
  ratio(`pushes over ${rttMs} ms: maxInFlight 4 / maxInFlight 1`, rates[4]! / rates[1]!);
}

export async function runRuntime(): Promise<void> {
  const started = performance.now();
  const load = () => loadavg()[0]!.toFixed(1);
  const loadAtStart = load();
  console.log(
    [
      "",
      `runtime: the built package (toka-events/runtime); ${PAYLOAD_BYTES} B payloads; one event per runtime.commit`,
      "  runtime.commit, local only             createEventRuntime({ vault }) — no remote, no bus",
      "  runtime.commit, remote offline         createEventRuntime({ vault, remote }) with a remote nobody serves: commits enqueue outbox entries",
      "  vault.commit([createEvent(…)])         the bare vault: createEvent, then commit (with { outbox: true } for the outbox pair)",
    ].join("\n"),
  );

  // runtime.commit vs the bare vault: memory vault in Node.
  const node = await runtimeCommitCases("memory", async () => createMemoryVault(), 100);
  try {
    const results = await measureAll(node.cases, DEFAULT_BUDGET);
    printTable("runtime: commit throughput, memory vault (Node; 100 commits per call)", "events", results);
    console.log();
    commitRatios(results, "memory");
  } finally {
    await node.close();
  }

  // The same over an IndexedDB vault in Chromium.
  const bench = await openBenchPage(fileURLToPath(new URL("./pages/runtime.page.ts", import.meta.url)), "tokaBench");
  try {
    const results = await callPage<RuntimeBenchApi, "commitThroughput">(bench.page, "tokaBench", "commitThroughput", "IndexedDB", 5, DEFAULT_BUDGET);
    printTable(`runtime: commit throughput, IndexedDB vault (${bench.userAgent.replace(/.*(Chrome\/\S+).*/, "$1")} headless; 5 commits per call)`, "events", results);
    console.log();
    commitRatios(results, "IndexedDB");
  } finally {
    await bench.close();
  }

  await pipelinedPushes();

  // End-to-end sync: serve on PGlite.
  const liteDir = tmpDir("bench-serve-pglite-");
  let lite: ServeProcess | undefined;
  try {
    const t0 = performance.now();
    lite = await startServe(`pglite:${liteDir}/data`);
    console.log(`\nserve --store pglite:<fresh dir in .tmp> started in ${((performance.now() - t0) / 1000).toFixed(1)} s (PGlite cold start)`);
    await syncThrough("serve on PGlite", "pglite:<fresh dir in .tmp>", lite, { server: lite.pid });
  } finally {
    await lite?.stop();
    (await import("node:fs")).rmSync(liteDir, { recursive: true, force: true });
  }

  // End-to-end sync: serve on PostgreSQL.
  const pgServer = await startPostgres();
  let db: Awaited<ReturnType<typeof freshDatabase>> | undefined;
  let pgServe: ServeProcess | undefined;
  try {
    db = await freshDatabase(pgServer.url, "toka_bench_runtime");
    pgServe = await startServe(db.url);
    await syncThrough("serve on PostgreSQL", "postgres://…/<fresh database>", pgServe, { server: pgServe.pid });
  } finally {
    await pgServe?.stop();
    await db?.drop().catch(() => {});
    await pgServer.stop();
  }

  const secs = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`\nruntime group: ${secs} s; 1-min load average ${loadAtStart} at the start, ${load()} at the end, on ${cpus().length} CPUs`);
}
