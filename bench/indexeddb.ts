/**
 * The IndexedDB vault in headless Chromium: commit throughput for batches of 1, 100 and 1,000
 * events of 256 B against raw `idb` puts of the same records (events + payloads + head, one
 * readwrite transaction per batch, durability "strict") into a database of the same schema,
 * measured round-robin in the same page; one-event commit latency; and the open time of a vault
 * holding 100,000 events after a page reload.
 *
 * The page (bench/pages/indexeddb.page.ts) is bundled as an app would bundle it: `toka-events`
 * resolves to the built dist/ (run `npm run build`). Exports {@link openBenchPage} for the runtime
 * group.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import type { Browser, Page } from "playwright-core";
import { bundle } from "../e2e/support/bundle.js";
import { launchChromium, serveStatic, type StaticServer } from "../e2e/support/chromium.js";
import { type Budget, DEFAULT_BUDGET, pick, printTable, ratio } from "./harness.js";
import type { IdbBenchApi, Latency } from "./pages/indexeddb.page.js";

const BATCHES = [1, 100, 1_000];
const RAW_RATIO_TARGET = 0.8; // batches ≥ 100
const P50_TARGET_MS = 5;
const OPEN_EVENTS = 100_000;
/** The e2e test's figure for the same open (e2e/browser/indexeddb.test.ts). */
const OPEN_TARGET_MS = 300;
const OPENS = 3;
/** Batch sizes that also get the diagnostic raw writers (reads before the puts). */
const DIAGNOSE = [100, 1_000];

const root = fileURLToPath(new URL("..", import.meta.url));

/** A page of a fresh browser context on its own origin, with `global` installed by the bundled entry. */
export interface BenchPage {
  page: Page;
  /** Reloads the page and waits for the entry to install its global again. */
  reload(): Promise<void>;
  userAgent: string;
  close(): Promise<void>;
}

/** Bundles `entry`, serves it from a temp dir, opens it in a new Chromium; `close` undoes all of it. */
export async function openBenchPage(entry: string, global: string): Promise<BenchPage> {
  const code = await bundle(entry);
  mkdirSync(`${root}.tmp`, { recursive: true });
  const dir = mkdtempSync(`${root}.tmp/bench-page-`);
  let site: StaticServer | undefined;
  let browser: Browser | undefined;
  const close = async () => {
    await browser?.close().catch(() => {});
    await site?.close().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    writeFileSync(`${dir}/bench.js`, code);
    writeFileSync(`${dir}/index.html`, `<!doctype html><meta charset="utf-8"><script type="module" src="/bench.js"></script>`);
    site = await serveStatic(dir);
    browser = await launchChromium();
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (err) => errors.push(err.message));
    const ready = async () => {
      await page.waitForFunction((g) => g in globalThis, global, { timeout: 20_000 }).catch((err: unknown) => {
        throw new Error(`page did not install ${global}: ${errors.join("; ") || String(err)}`);
      });
    };
    await page.goto(`${site.url}/`);
    await ready();
    return {
      page,
      reload: async () => {
        await page.reload();
        await ready();
      },
      userAgent: await page.evaluate(() => navigator.userAgent),
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Calls `globalThis[global][name](...args)` in the page. */
export function callPage<A extends object, K extends keyof A>(
  page: Page,
  global: string,
  name: K,
  ...args: A[K] extends (...a: infer P) => unknown ? P : never
): Promise<A[K] extends (...a: never[]) => infer R ? Awaited<R> : never> {
  return page.evaluate(
    ({ global, name, args }) => (globalThis as unknown as Record<string, Record<string, (...a: unknown[]) => unknown>>)[global]![name]!(...args),
    { global, name: name as string, args: args as unknown[] },
  ) as never;
}

export function latencyRow(name: string, l: Latency): string {
  const f = (x: number) => x.toFixed(2).padStart(7);
  return `${name.padEnd(44)} n=${String(l.n).padStart(4)}  p50 ${f(l.p50)}  p90 ${f(l.p90)}  p99 ${f(l.p99)}  max ${f(l.max)} ms`;
}

export async function runIndexedDb(): Promise<void> {
  const started = performance.now();
  const load = () => loadavg()[0]!.toFixed(1);
  const loadAtStart = load();
  const bench = await openBenchPage(fileURLToPath(new URL("./pages/indexeddb.page.ts", import.meta.url)), "tokaBench");
  const call = <K extends keyof IdbBenchApi>(name: K, ...args: Parameters<IdbBenchApi[K]>) =>
    callPage<IdbBenchApi, K>(bench.page, "tokaBench", name, ...(args as never));
  try {
    const budget: Budget = DEFAULT_BUDGET;
    console.log(
      [
        "",
        `indexeddb: ${bench.userAgent.replace(/.*(Chrome\/\S+).*/, "$1")} headless, a fresh context; 256 B events without parents; every commit stores new events`,
        "  vault.commit     openIndexedDbVault(...).commit(batch): checks, then one readwrite transaction (durability strict)",
        "  raw idb puts     the same event, payload and head records put in one readwrite transaction (durability strict),",
        "                   into a database of the same schema, with idb (the library the vault uses)",
        "  raw idb id gets + puts        (diagnostic) the vault's reads too: the head and one id-index get per event, then the puts",
        "  raw idb range getAll + puts   (diagnostic) the head and one id-index getAll over the batch's id range instead, then the puts",
        "  batch 1 runs 10 commits per call; each case writes its own database, a new one every 20k events",
      ].join("\n"),
    );
    const results = await call("commitThroughput", "tp", BATCHES, budget, DIAGNOSE);
    printTable("indexeddb: commit throughput in Chromium", "events", results);
    console.log();
    for (const batch of BATCHES) {
      ratio(
        `vault.commit / raw idb puts, batch ${batch}`,
        pick(results, `vault.commit, batch ${batch}`) / pick(results, `raw idb puts, batch ${batch}`),
        batch >= 100 ? RAW_RATIO_TARGET : undefined,
      );
    }
    for (const batch of DIAGNOSE) {
      const vault = pick(results, `vault.commit, batch ${batch}`);
      ratio(`vault.commit / raw idb id gets + puts, batch ${batch}`, vault / pick(results, `raw idb id gets + puts, batch ${batch}`));
      ratio(`raw idb id gets + puts / raw idb puts, batch ${batch}`, pick(results, `raw idb id gets + puts, batch ${batch}`) / pick(results, `raw idb puts, batch ${batch}`));
      ratio(`raw idb range getAll + puts / raw idb puts, batch ${batch}`, pick(results, `raw idb range getAll + puts, batch ${batch}`) / pick(results, `raw idb puts, batch ${batch}`));
    }

    const lat = await call("singleLatency", "lat", 300);
    console.log(`\n## indexeddb: one-event commit latency (sequential, the two interleaved)\n`);
    console.log(latencyRow("vault.commit([event])", lat.vault));
    console.log(latencyRow("raw idb: one event, its payload and head", lat.raw));
    console.log();
    ratio(`vault.commit one event: p50 ${P50_TARGET_MS} ms / measured`, P50_TARGET_MS / lat.vault.p50, 1);
    ratio("vault.commit one event: p50 raw / p50 vault", lat.raw.p50 / lat.vault.p50);

    const filled = await call("populate", "open-100k", OPEN_EVENTS, 1_000);
    if (filled.head !== OPEN_EVENTS) throw new Error(`populate stored ${filled.head} events`);
    const opens: { openMs: number; headMs: number; totalMs: number }[] = [];
    for (let i = 0; i < OPENS; i++) {
      await bench.reload();
      const t = await call("timeOpen", "open-100k");
      if (t.head !== OPEN_EVENTS) throw new Error(`reopened vault has head ${t.head}`);
      opens.push(t);
    }
    const sorted = [...opens].sort((a, b) => a.totalMs - b.totalMs);
    const median = sorted[sorted.length >> 1]!;
    console.log(
      `\n## indexeddb: open of a vault holding ${OPEN_EVENTS / 1000}k events (after a page reload)\n\n` +
        `populated in batches of 1,000: createEvent ${(filled.createMs / 1000).toFixed(1)} s, vault.commit ${(filled.commitMs / 1000).toFixed(1)} s ` +
        `(${((OPEN_EVENTS / filled.commitMs) * 1000 / 1000).toFixed(1)}k events/s)\n` +
        opens.map((t, i) => `reload ${i + 1}: openIndexedDbVault ${t.openMs.toFixed(1)} ms + head() ${t.headMs.toFixed(1)} ms = ${t.totalMs.toFixed(1)} ms`).join("\n"),
    );
    console.log();
    ratio(`open + head(), median of ${OPENS}: ${OPEN_TARGET_MS} ms / measured`, OPEN_TARGET_MS / median.totalMs, 1);
  } finally {
    await bench.close();
  }
  const secs = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`\nindexeddb group: ${secs} s; 1-min load average ${loadAtStart} at the start, ${load()} at the end, on ${cpus().length} CPUs`);
}
