// The connect client in a real browser, against the real Node server, over both web protocols.
// The page is served from another origin than the API, so CORS is exercised as users meet it, and
// every import goes through the package's exports map to the built dist/ (run `npm run build`).
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { Browser, Page } from "playwright-core";
import { createEvent, createEventStore, type EventStore, fromHex, text, toHex } from "toka-events";
import { createMemoryBus, createMemoryVault } from "toka-events/adapters/memory";
import { startNodeServer, type NodeServer } from "toka-events/adapters/connect/node";
import { createEventStoreHandler, type EventStoreHandler } from "toka-events/adapters/connect/server";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { bundle } from "../support/bundle.js";
import { launchChromium, serveStatic, type StaticServer } from "../support/chromium.js";
import type { PageApi, Protocol } from "./page/connect-client.page.js";

const PROTOCOLS: Protocol[] = ["connect", "grpc-web"];

let browser: Browser | undefined;
let site: StaticServer | undefined;
let siteDir: string | undefined;

beforeAll(async () => {
  const code = await bundle(fileURLToPath(new URL("./page/connect-client.page.ts", import.meta.url)));
  const tmp = fileURLToPath(new URL("../../.tmp/", import.meta.url));
  await mkdir(tmp, { recursive: true });
  siteDir = await mkdtemp(`${tmp}e2e-page-`);
  await writeFile(`${siteDir}/page.js`, code);
  await writeFile(`${siteDir}/index.html`, `<!doctype html><meta charset="utf-8"><script type="module" src="/page.js"></script>`);
  site = await serveStatic(siteDir);
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await site?.close();
  if (siteDir) await rm(siteDir, { recursive: true, force: true });
});

/** Calls `globalThis.toka[name](...args)` in the page. */
function call<K extends keyof PageApi>(page: Page, name: K, ...args: Parameters<PageApi[K]>): Promise<Awaited<ReturnType<PageApi[K]>>> {
  return page.evaluate(
    ({ name, args }) => (globalThis as unknown as { toka: Record<string, (...a: unknown[]) => unknown> }).toka[name]!(...args),
    { name, args: args as unknown[] },
  ) as Promise<Awaited<ReturnType<PageApi[K]>>>;
}

describe.each(PROTOCOLS)("connect client in Chromium over %s", (protocol) => {
  let store: EventStore;
  let handler: EventStoreHandler;
  let server: NodeServer;
  let page: Page;
  let pageOrigin: string;
  const preflightOrigins = new Set<string | null>();
  const pageErrors: string[] = [];

  beforeAll(async () => {
    store = createEventStore({ vault: createMemoryVault(), bus: createMemoryBus() });
    handler = createEventStoreHandler({ store });
    // Records who asked for CORS, so the test can tell the browser really preflighted.
    const recording: EventStoreHandler = {
      routes: handler.routes,
      fetch: handler.fetch,
      corsHeaders: (origin, preflight) => {
        if (preflight) preflightOrigins.add(origin);
        return handler.corsHeaders(origin, preflight);
      },
      get subscriptions() {
        return handler.subscriptions;
      },
    };
    server = await startNodeServer({ handler: recording, port: 0 });
    page = await browser!.newPage();
    page.on("pageerror", (err) => pageErrors.push(err.message));
    await page.goto(`${site!.url}/`);
    await page.waitForFunction(() => "toka" in globalThis, undefined, { timeout: 5_000 });
    pageOrigin = await call(page, "open", server.url, protocol);
  });

  afterAll(async () => {
    if (page) await call(page, "close").catch(() => {});
    await page?.close();
    await server?.close();
    await store?.close();
  });

  it("commits, replays history, goes live and reads back across origins", async () => {
    expect(pageOrigin).not.toBe(new URL(server.url).origin);

    const { seqs, statuses, parent, child } = await call(page, "commitFamily", protocol);
    expect(statuses).toEqual(["stored", "stored"]);
    expect(seqs).toEqual([1, 2]);
    expect((await store.header(child.id))?.parents.map((p) => p.id)).toEqual([parent.id]);
    expect(preflightOrigins).toContain(pageOrigin);

    const { history, caughtUp } = await call(page, "subscribeHistory");
    expect(history.map((e) => [e.seq, e.id, e.kind, e.text])).toEqual([
      [1, parent.id, "e2e.parent", `parent ${protocol}`],
      [2, child.id, "e2e.child", `child ${protocol}`],
    ]);
    expect(history[1]!.parents).toEqual([parent.id]);
    expect(caughtUp).toBe(2);
    expect(handler.subscriptions).toBe(1);

    // Committed from Node while the page waits; its parent is the page's child, so the digests
    // computed in the browser and in Node must agree for the store to accept it.
    const pending = call(page, "nextLiveEvent", 10_000);
    const live = createEvent({ kind: "e2e.live", payload: text.encode("from node"), parents: [{ id: child.id, digest: fromHex(child.digest)! }] });
    expect((await store.commit([live]))[0]?.status).toBe("stored");
    expect(await pending).toEqual({ seq: 3, id: live.header.id, kind: "e2e.live", parents: [child.id], digest: toHex(live.header.digest), text: "from node" });
    // Closing the subscription in the page must end the server's stream too.
    await vi.waitFor(() => expect(handler.subscriptions).toBe(0), { timeout: 5_000 });

    const back = await call(page, "readBack", child.id);
    expect(back).toEqual({ header: { id: child.id, kind: "e2e.child", parents: [parent.id], digest: child.digest }, payload: `child ${protocol}` });
    expect(await call(page, "readBack", "00000000-0000-4000-8000-000000000000")).toEqual({ header: null, payload: null });
    expect(pageErrors).toEqual([]);
  });

  it.each([
    ["different-content", "already_exists"],
    ["unknown-parent", "failed_precondition"],
    ["bad-digest", "invalid_argument"],
  ] as const)("a server refusal (%s) reaches the page as an EventError %s", async (failure, code) => {
    const err = await call(page, "provoke", failure);
    expect(err).toMatchObject({ isEventError: true, code });
    expect(err!.message).not.toBe("");
  });
});
