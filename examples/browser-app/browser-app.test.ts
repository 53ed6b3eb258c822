// Smoke test of the browser example as a person uses it: the app built with its own vite config,
// served from one origin, `toka-events serve` on another, real Chromium clicking through it.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { type EventStore, json, type StoredEvent } from "toka-events";
import { createRemoteStore, createWebTransport } from "toka-events/adapters/connect/client";
import { build } from "vite";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { launchChromium, serveStatic, type StaticServer } from "../../e2e/support/chromium.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const tmp = join(root, ".tmp");

let browser: Browser | undefined;
let site: StaticServer | undefined;
let outDir: string | undefined;
let server: ChildProcess | undefined;
let serverUrl = "";
let remote: EventStore;
const contexts: BrowserContext[] = [];
const pageErrors: string[] = [];

beforeAll(async () => {
  await mkdir(tmp, { recursive: true });
  outDir = await mkdtemp(join(tmp, "browser-app-"));
  // `npm run examples:browser-app` is this build with the example's config (into its own dist/).
  const [, started] = await Promise.all([
    build({ configFile: join(root, "examples/browser-app/vite.config.ts"), logLevel: "warn", build: { outDir, emptyOutDir: true, sourcemap: false } }),
    startServer(),
    launchChromium().then((b) => (browser = b)),
  ]);
  serverUrl = started;
  site = await serveStatic(outDir);
  remote = createRemoteStore({ transport: createWebTransport({ baseUrl: serverUrl }) });
}, 90_000);

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close();
  await site?.close();
  await remote?.close();
  if (server && server.exitCode === null) {
    const exited = new Promise((r) => server!.once("exit", r));
    server.kill("SIGTERM");
    await exited;
  }
  if (outDir) await rm(outDir, { recursive: true, force: true });
});

/** `node dist/cli.js serve --store memory --port 0`; resolves with the URL it logs. */
function startServer(): Promise<string> {
  server = spawn(process.execPath, [join(root, "dist/cli.js"), "serve", "--store", "memory", "--port", "0"], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  server.stderr!.on("data", (d) => (out += d));
  return new Promise((resolve, reject) => {
    server!.stdout!.on("data", (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    server!.once("exit", (code) => reject(new Error(`server exited ${code}: ${out}`)));
  });
}

async function newContext(): Promise<BrowserContext> {
  const c = await browser!.newContext({ viewport: { width: 760, height: 640 }, deviceScaleFactor: 1 });
  contexts.push(c);
  return c;
}

async function open(context: BrowserContext): Promise<Page> {
  const page = await context.newPage();
  page.on("pageerror", (err) => pageErrors.push(err.message));
  page.on("console", (m) => void (m.type() === "error" && pageErrors.push(m.text())));
  await page.goto(`${site!.url}/?server=${encodeURIComponent(serverUrl)}`);
  await page.waitForSelector("body[data-ready]", { timeout: 10_000 });
  return page;
}

async function add(page: Page, title: string): Promise<void> {
  await page.fill("#new-title", title);
  await page.press("#new-title", "Enter");
}

const titles = (page: Page) => page.locator("#list .title").allTextContents();
const testId = (page: Page, id: string) => page.locator(`[data-testid="${id}"]`);

async function serverEvents(): Promise<StoredEvent[]> {
  const out: StoredEvent[] = [];
  for await (const e of remote.read()) out.push(e);
  return out;
}

describe("examples/browser-app", () => {
  let tabs: BrowserContext;
  let page1: Page;

  it("adds to-dos that reach the server, another tab and another device", async () => {
    tabs = await newContext();
    page1 = await open(tabs);
    await expect.poll(() => testId(page1, "leader").textContent()).toBe("This tab syncs");
    await expect.poll(() => testId(page1, "online").textContent(), { timeout: 10_000 }).toBe("Online");

    await add(page1, "Buy oat milk");
    await add(page1, "Water the plants");
    await expect.poll(() => titles(page1)).toEqual(["Buy oat milk", "Water the plants"]);

    // Pushed by the runtime: the server's log now holds both, in order.
    await expect.poll(() => remote.head(), { timeout: 10_000 }).toBe(2);
    const [a, b] = await serverEvents();
    expect([a!.header.kind, json.decode(a!.payload)]).toEqual(["todo.added", { title: "Buy oat milk" }]);
    expect([b!.header.kind, json.decode(b!.payload)]).toEqual(["todo.added", { title: "Water the plants" }]);
    await expect.poll(() => testId(page1, "pending").textContent()).toBe("0");

    // A second tab shares the vault and the bus: same list at once; it follows, the first syncs.
    const page2 = await open(tabs);
    await expect.poll(() => titles(page2)).toEqual(["Buy oat milk", "Water the plants"]);
    expect(await testId(page2, "leader").textContent()).toBe("Another tab syncs");
    // Completing in the follower: the leader pushes it, and the first tab shows it too.
    await page2.locator("#list li", { hasText: "Buy oat milk" }).locator("input[type=checkbox]").check();
    await expect.poll(() => remote.head(), { timeout: 10_000 }).toBe(3);
    const completed = (await serverEvents())[2]!;
    expect(completed.header.kind).toBe("todo.completed");
    expect(completed.header.parents.map((p) => p.id)).toEqual([a!.header.id]);
    await expect.poll(() => page1.locator("#list li.done .title").allTextContents()).toEqual(["Buy oat milk"]);
    // The leader announces its status to the other tabs.
    await expect.poll(() => testId(page2, "online").textContent()).toBe("Online");
    await expect.poll(() => testId(page2, "pending").textContent()).toBe("0");

    // Another device (its own IndexedDB) pulls everything from the server, and its removal comes back.
    const device = await open(await newContext());
    await expect.poll(() => titles(device), { timeout: 10_000 }).toEqual(["Buy oat milk", "Water the plants"]);
    // The completion may land in a later pull batch than the two additions.
    await expect.poll(() => device.locator("#list li.done .title").allTextContents()).toEqual(["Buy oat milk"]);
    await device.locator("#list li", { hasText: "Water the plants" }).locator("button.remove").click();
    await expect.poll(() => remote.head(), { timeout: 10_000 }).toBe(4);
    const removed = (await serverEvents())[3]!;
    expect([removed.header.kind, removed.header.parents.map((p) => p.id)]).toEqual(["todo.removed", [b!.header.id]]);
    await expect.poll(() => titles(page1), { timeout: 10_000 }).toEqual(["Buy oat milk"]);
    await expect.poll(() => titles(page2)).toEqual(["Buy oat milk"]);
  });

  it("keeps working offline: commits wait in the outbox as pending, then go out", async () => {
    await tabs.setOffline(true);
    await add(page1, "Call the plumber");
    await expect.poll(() => titles(page1)).toEqual(["Buy oat milk", "Call the plumber"]);
    await expect.poll(() => testId(page1, "pending").textContent()).toBe("1");
    await expect.poll(() => testId(page1, "online").textContent()).toBe("Offline");
    expect(await remote.head()).toBe(4);

    await tabs.setOffline(false);
    await expect.poll(() => testId(page1, "pending").textContent(), { timeout: 15_000 }).toBe("0");
    await expect.poll(() => testId(page1, "online").textContent(), { timeout: 10_000 }).toBe("Online");
    expect(await remote.head()).toBe(5);
    expect(json.decode((await serverEvents())[4]!.payload)).toEqual({ title: "Call the plumber" });
    expect(await testId(page1, "dead-letters").textContent()).toBe("0");

    await add(page1, "Book train tickets");
    await page1.locator("#list li", { hasText: "Book train tickets" }).locator("input[type=checkbox]").check();
    await vi.waitFor(async () => expect(await remote.head()).toBe(7), { timeout: 10_000 });
    await page1.mouse.move(0, 0);
    await page1.screenshot({ path: join(tmp, "browser-app.png") });
    expect(pageErrors.filter((e) => !/ERR_INTERNET_DISCONNECTED|Failed to load resource|Failed to fetch/.test(e))).toEqual([]);
  });

  it("offline: 500 commits survive a reload and reach the server and another page exactly once", async () => {
    const device = await newContext();
    const page = await open(device);
    await expect.poll(() => testId(page, "online").textContent(), { timeout: 10_000 }).toBe("Online");
    const before = await remote.head();
    await device.setOffline(true);
    const ids = await page.evaluate(async () => {
      const { runtime } = (globalThis as unknown as { todoApp: { runtime: { commit(k: string, v: unknown): Promise<{ header: { id: string } }> } } }).todoApp;
      const out: string[] = [];
      for (let i = 0; i < 500; i++) out.push((await runtime.commit("todo.added", { title: `offline ${i}` })).header.id);
      return out;
    });
    await expect.poll(() => testId(page, "pending").textContent()).toBe("500");
    expect(await remote.head()).toBe(before);

    // Reload with the server still unreachable (the page itself loads from another origin).
    await device.setOffline(false);
    await device.route(`${serverUrl}/**`, (route) => route.abort("internetdisconnected"));
    await page.reload();
    await page.waitForSelector("body[data-ready]", { timeout: 10_000 });
    await expect.poll(() => testId(page, "pending").textContent(), { timeout: 10_000 }).toBe("500");
    expect(await remote.head()).toBe(before);

    await device.unroute(`${serverUrl}/**`);
    await expect.poll(() => testId(page, "pending").textContent(), { timeout: 30_000 }).toBe("0");
    const onServer = (await serverEvents()).slice(before).map((e) => e.header.id);
    expect(onServer).toEqual(ids); // all 500, once each, in commit order

    // A page on another device gets all of them from the server, once each.
    const other = await open(await newContext());
    await expect.poll(async () => (await titles(other)).filter((t) => t.startsWith("offline ")).length, { timeout: 30_000 }).toBe(500);
    const shown = (await titles(other)).filter((t) => t.startsWith("offline "));
    expect(new Set(shown).size).toBe(500);
  });
});
