// The conformance suites in Chromium: inside a dedicated module worker
// (`new Worker(url, { type: "module" })`, results back by postMessage) and in the page itself.
// One bundle of the built package (run `npm run build` first) is both the page's module and the
// worker's; serveStatic gives the page an http origin.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium, serveStatic, type StaticServer } from "../support/chromium.js";
import type { ConformancePageApi } from "./entries/browser.js";
import { testNames } from "./runner.js";
import { registerSuites } from "./suites.js";
import { bundle, tmpRoot } from "./support/bundle.js";
import { assertAllPassed } from "./support/results.js";

const LOCAL = testNames(registerSuites);

let dir = "";
let site: StaticServer | undefined;
let browser: Browser | undefined;
let page: Page | undefined;
const errors: string[] = [];

beforeAll(async () => {
  await mkdir(tmpRoot, { recursive: true });
  dir = await mkdtemp(`${tmpRoot}e2e-conformance-chromium-`);
  await bundle(fileURLToPath(new URL("./entries/browser.ts", import.meta.url)), "browser", `${dir}/conformance.js`);
  await writeFile(`${dir}/index.html`, `<!doctype html><meta charset="utf-8"><script type="module" src="/conformance.js"></script>`);
  site = await serveStatic(dir);
  browser = await launchChromium();
  page = await browser.newPage();
  page.on("pageerror", (err) => errors.push(`page: ${err.message}`));
  await page.goto(`${site.url}/`);
  await page.waitForFunction(() => "tokaConformance" in globalThis, undefined, { timeout: 10_000 });
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await site?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Calls `globalThis.tokaConformance[name](...args)` in the page. */
function call<K extends keyof ConformancePageApi>(
  name: K,
  ...args: Parameters<ConformancePageApi[K]>
): Promise<Awaited<ReturnType<ConformancePageApi[K]>>> {
  return page!.evaluate(
    ({ name, args }) => (globalThis as unknown as { tokaConformance: Record<string, (...a: unknown[]) => unknown> }).tokaConformance[name]!(...args),
    { name, args: args as unknown[] },
  ) as Promise<Awaited<ReturnType<ConformancePageApi[K]>>>;
}

describe("conformance suites in Chromium", () => {
  it("the page registers the same tests as Node", async () => {
    expect(await call("names")).toEqual(LOCAL);
  });

  it("every suite test passes in a dedicated module worker", async () => {
    const { results, isWorker } = await call("runInWorker", `${site!.url}/conformance.js`);
    expect(isWorker, "ran without a document, in the worker").toBe(true);
    console.log(`[conformance] chromium dedicated worker: ${results.filter((r) => r.ok).length}/${LOCAL.length} passed`);
    assertAllPassed("Chromium dedicated worker", LOCAL, results);
    expect(errors).toEqual([]);
  }, 120_000);

  it("every suite test passes in the page", async () => {
    const results = await call("runInPage");
    console.log(`[conformance] chromium page: ${results.filter((r) => r.ok).length}/${LOCAL.length} passed`);
    assertAllPassed("Chromium page", LOCAL, results);
    expect(errors).toEqual([]);
  }, 120_000);
});
