// Test-only: a headless Chromium for e2e tests, and a static file server to give a page its own
// origin. Browser tests must run on a machine with nothing but `npm ci`, so the lookup falls back
// to the Chromium shipped inside the @sparticuz/chromium devDependency.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join, normalize, sep } from "node:path";
import { type Browser, chromium } from "playwright-core";

/** Flags for every launch: no GPU, no sandbox (root in CI), no background traffic to Google. */
const BASE_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/**
 * sparticuz's flags (tuned for AWS Lambda) minus those that would make it behave unlike the other
 * browsers: `--disable-web-security` turns CORS off (a cross-origin test would pass without CORS
 * headers); `--single-process` makes closing any page or context end the whole browser; the quoted
 * `--headless='shell'` is redundant with ours.
 */
const DROPPED_SPARTICUZ_ARGS = new Set(["--disable-web-security", "--headless='shell'", "--single-process"]);

interface Found {
  executablePath: string;
  args: string[];
  source: string;
}

/**
 * Where Chromium is, in order: `$CHROMIUM_PATH`, `/usr/bin/chromium`, a Playwright-managed
 * Chromium, then @sparticuz/chromium (unpacked to the OS temp dir on first use, ~200 MB).
 *
 * `TOKA_CHROMIUM_SKIP_SYSTEM=1` skips `/usr/bin/chromium` and the Playwright-managed one, so the
 * sparticuz fallback can be tested on a machine that has a system Chromium.
 */
async function findChromium(): Promise<Found> {
  const tried: string[] = [];
  const explicit = process.env["CHROMIUM_PATH"];
  if (explicit) {
    // A path someone set on purpose must not be silently replaced by another browser.
    if (!existsSync(explicit)) throw new Error(`CHROMIUM_PATH is set to ${explicit}, which does not exist`);
    return { executablePath: explicit, args: BASE_ARGS, source: "$CHROMIUM_PATH" };
  }
  tried.push("$CHROMIUM_PATH (unset)");
  if (process.env["TOKA_CHROMIUM_SKIP_SYSTEM"] === "1") {
    tried.push("system and Playwright Chromium (skipped: TOKA_CHROMIUM_SKIP_SYSTEM=1)");
  } else {
    if (existsSync("/usr/bin/chromium")) return { executablePath: "/usr/bin/chromium", args: BASE_ARGS, source: "/usr/bin/chromium" };
    tried.push("/usr/bin/chromium");
    let managed: string | undefined;
    try {
      managed = chromium.executablePath();
    } catch {
      // Throws when Playwright knows no browser for this platform; treat as not installed.
    }
    if (managed && existsSync(managed)) return { executablePath: managed, args: BASE_ARGS, source: "playwright" };
    tried.push(`Playwright-managed Chromium (${managed ?? "none for this platform"})`);
  }
  try {
    const sparticuz = (await import("@sparticuz/chromium")).default;
    const executablePath = await sparticuz.executablePath();
    const extra = sparticuz.args.filter((a) => !DROPPED_SPARTICUZ_ARGS.has(a));
    return { executablePath, args: [...BASE_ARGS, ...extra], source: "@sparticuz/chromium" };
  } catch (err) {
    tried.push(`@sparticuz/chromium (${err instanceof Error ? err.message : String(err)})`);
  }
  throw new Error(
    `No Chromium found for the browser tests. Tried: ${tried.join("; ")}. ` +
      "Set CHROMIUM_PATH, install Debian's `chromium`, or run `npm ci` to get the @sparticuz/chromium devDependency.",
  );
}

/**
 * Launches headless Chromium with playwright-core; throws (never skips) when none is found.
 *
 * @example
 * const browser = await launchChromium();
 * const page = await browser.newPage();
 */
export async function launchChromium(): Promise<Browser> {
  const found = await findChromium();
  let browser: Browser | undefined;
  try {
    browser = await chromium.launch({ executablePath: found.executablePath, args: found.args, headless: true });
    // A broken browser often dies only when its first page starts the GPU thread: find out here.
    await (await browser.newPage()).close();
    return browser;
  } catch (err) {
    await browser?.close().catch(() => {});
    // sparticuz reuses an unpacked `chromium` in the temp dir without checking the libraries
    // unpacked next to it; when some are gone, it crashes like this until it unpacks again.
    const hint = found.source === "@sparticuz/chromium" ? `; delete ${found.executablePath} to have it unpacked again` : "";
    throw new Error(`Chromium from ${found.source} (${found.executablePath}) failed to start${hint}`, { cause: err });
  }
}

/** A running static server. */
export interface StaticServer {
  /** `http://127.0.0.1:port`, with no trailing slash. */
  readonly url: string;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".map": "application/json",
};

/**
 * Serves the files of `dir` on 127.0.0.1 at a free port: a page origin distinct from the API's,
 * so the browser really makes cross-origin (CORS) requests.
 */
export async function serveStatic(dir: string): Promise<StaticServer> {
  const root = normalize(dir + sep);
  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    const file = normalize(join(root, path === "/" ? "index.html" : decodeURIComponent(path)));
    if (!file.startsWith(root)) return void res.writeHead(403).end();
    readFile(file).then(
      (body) => res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" }).end(body),
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
