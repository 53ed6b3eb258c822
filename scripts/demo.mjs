#!/usr/bin/env node
// `npm run demo`: the whole stack on one machine, from a fresh `npm ci`.
//
//   1. builds the package when dist/ is missing or older than src/ (`npm run build`)
//   2. starts `toka-events serve` on PGlite (./toka-data) at 127.0.0.1:8080, or the next free port
//   3. builds the browser example (examples/browser-app) and serves it on 127.0.0.1:5173 (or next)
//   4. a headless Node client (runtime over a memory vault) seeds a few to-dos when the store has
//      none, then prints every change made in the browsers
//   5. stays up until Ctrl-C, then stops everything cleanly
//
// Flags: --port 8080, --web-port 5173, --data ./toka-data, --no-build (use dist/ as it is),
// --check (or DEMO_EXIT_AFTER_SEED=1): exit after the seed once the page and the data check out.
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import * as http from "node:http";
import * as net from "node:net";
import { extname, join, normalize, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const APP = join(ROOT, "examples", "browser-app");
const HOST = "127.0.0.1";

const dim = (s) => (process.stdout.isTTY ? `\x1b[2m${s}\x1b[22m` : s);
const bold = (s) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[22m` : s);
const say = (s) => console.log(`${dim("[demo]")} ${s}`);

// ---------------------------------------------------------------------------------------------
// Is dist/ up to date?

/** Files under `dir`, recursively. */
function walk(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? walk(join(dir, d.name)) : [join(dir, d.name)]));
}

/**
 * Why `root`'s dist/ needs a build, or undefined when it is fresh: a file the package exports (or
 * its bin) is missing, or a source file (src/, except tests; the build configs) is newer than the
 * oldest of them.
 */
export function staleReason(root) {
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  const targets = [
    ...Object.values(pkg.exports ?? {}).flatMap((e) => (typeof e === "object" && e.import ? [e.import] : [])),
    ...Object.values(typeof pkg.bin === "string" ? { bin: pkg.bin } : (pkg.bin ?? {})),
  ].map((t) => join(root, t));
  const missing = targets.find((t) => !existsSync(t));
  if (missing) return `${relative(root, missing)} is missing`;
  const built = Math.min(...targets.map((t) => statSync(t).mtimeMs));
  const inputs = [
    ...walk(join(root, "src")).filter((f) => !f.endsWith(".test.ts")),
    ...["vite.config.ts", "tsconfig.build.json"].map((f) => join(root, f)).filter(existsSync),
  ];
  const newer = inputs.find((f) => statSync(f).mtimeMs > built);
  return newer ? `${relative(root, newer)} changed since the last build` : undefined;
}

function run(cmd, args) {
  return new Promise((res, rej) => {
    const child = spawn(cmd, args, { cwd: ROOT, stdio: "inherit", shell: process.platform === "win32" && cmd === "npm" });
    child.once("error", rej);
    child.once("exit", (code) => (code === 0 ? res() : rej(new Error(`${cmd} ${args.join(" ")} exited ${code}`))));
  });
}

/** Runs `npm run build` when dist/ is missing or stale (see {@link staleReason}). */
export async function ensureBuilt() {
  const why = staleReason(ROOT);
  if (!why) return;
  say(`building the package (${why}): npm run build`);
  // Under `npm run`, npm_execpath is npm's own CLI: the same npm, whatever the PATH says.
  const npm = process.env.npm_execpath;
  await (npm && npm.endsWith(".js") ? run(process.execPath, [npm, "run", "build"]) : run("npm", ["run", "build"]));
}

// ---------------------------------------------------------------------------------------------
// Ports, the server, the static site

/** `port` if free on HOST, else the next free one (0: any). */
async function freePort(port) {
  for (let p = port; ; p++) {
    const ok = await new Promise((res) => {
      const s = net.createServer();
      s.once("error", () => res(false));
      s.listen(p, HOST, () => s.close(() => res(true)));
    });
    if (ok) return p;
    if (p === 0 || p - port > 50) throw new Error(`no free port in ${port}..${p}`);
  }
}

/** `toka-events serve` as a child process; resolves once it listens. */
async function startServer(port, store) {
  for (let p = await freePort(port); ; p = await freePort(p + 1)) {
    const child = spawn(process.execPath, [join(ROOT, "dist", "cli.js"), "serve", "--host", HOST, "--port", String(p), "--store", store], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    const lines = [];
    const onData = (d) => {
      out += d;
      let i;
      while ((i = out.indexOf("\n")) >= 0) {
        const line = out.slice(0, i);
        out = out.slice(i + 1);
        lines.push(line);
        console.log(`${dim("[server]")} ${line}`);
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    const url = await new Promise((res) => {
      child.stdout.on("data", () => {
        const m = /listening on (http:\/\/\S+)/.exec(lines.join("\n"));
        if (m) res(m[1]);
      });
      child.once("exit", () => res(undefined));
    });
    if (url) return { child, url, lines };
    // Taken between the probe and the bind (or by another process on another address): next port.
    if (!/EADDRINUSE/.test(lines.join("\n") + out) || port === 0) throw new Error(`the server did not start:\n${lines.join("\n")}${out}`);
  }
}

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".map": "application/json",
  ".svg": "image/svg+xml",
};

/** Serves `dir` on HOST at `port` (or the next free one). */
async function serveStatic(dir, port) {
  const root = normalize(dir + sep);
  const server = http.createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    const file = normalize(join(root, path.endsWith("/") ? `${path}index.html` : path));
    if (!file.startsWith(root)) return void res.writeHead(403).end();
    readFile(file).then(
      (body) => res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream", "cache-control": "no-store" }).end(body),
      () => res.writeHead(404, { "content-type": "text/plain" }).end("not found"),
    );
  });
  const p = await freePort(port);
  await new Promise((res, rej) => {
    server.once("error", rej);
    server.listen(p, HOST, res);
  });
  return {
    url: `http://${HOST}:${server.address().port}`,
    close: () =>
      new Promise((res) => {
        server.close(() => res());
        server.closeAllConnections();
      }),
  };
}

// ---------------------------------------------------------------------------------------------
// The headless client

const SEED = [
  { title: "Start the demo with npm run demo", done: true },
  { title: "Open this page in a second tab: one tab syncs, every tab writes" },
  { title: "Go offline (DevTools → Network → Offline), add a to-do, watch it wait as pending" },
  { title: "Come back online and see it reach the server" },
];

/** A runtime over a memory vault, synced with the server; seeds the list when it is empty. */
async function startClient(serverUrl) {
  const { createRemoteStore, createWebTransport } = await import("toka-events/adapters/connect/client");
  const { createMemoryBus, createMemoryVault } = await import("toka-events/adapters/memory");
  const { createEventRuntime } = await import("toka-events/runtime");
  const { json } = await import("toka-events");

  const remote = createRemoteStore({ transport: createWebTransport({ baseUrl: serverUrl }) });
  const runtime = createEventRuntime({ vault: createMemoryVault(), bus: createMemoryBus(), remote });
  let seeded = 0;
  let existing = 0;
  for await (const _ of remote.read({ kinds: ["todo.added"] })) existing++;
  if (existing === 0) {
    for (const t of SEED) {
      const added = await runtime.commit("todo.added", { title: t.title });
      seeded++;
      if (t.done) {
        await runtime.commit("todo.completed", { done: true }, { parents: [added.header] });
        seeded++;
      }
    }
    await runtime.flush({ signal: AbortSignal.timeout(15_000) });
    say(`seeded ${SEED.length} to-dos (${seeded} events) through a headless Node client`);
  } else {
    say(`the store already has ${existing} to-dos: not seeding`);
  }

  // Print what the browsers do, once the client has pulled what was there before.
  const watching = new AbortController();
  const watch = (async () => {
    for await (const s of runtime.statusChanges({ signal: watching.signal })) if (s.caughtUp) break;
    const titles = new Map();
    let live = false;
    for await (const m of runtime.subscribe({ kinds: ["todo.*"], after: 0, signal: watching.signal })) {
      if (m.type === "caught-up") live = true;
      if (m.type !== "event") continue;
      const { header, payload } = m.event;
      let value = {};
      try {
        value = json.decode(payload);
      } catch {}
      const about = header.parents[0]?.id;
      if (header.kind === "todo.added") titles.set(header.id, value.title);
      if (!live) continue;
      const title = JSON.stringify(header.kind === "todo.added" ? value.title : titles.get(about) ?? about);
      const what = { "todo.added": "added", "todo.completed": value.done ? "completed" : "reopened", "todo.removed": "removed" }[header.kind] ?? header.kind;
      console.log(`${dim("[client]")} ${what} ${title}`);
    }
  })().catch(() => {});

  return {
    seeded,
    remote,
    async close() {
      watching.abort();
      await runtime.close();
      await watch;
      await remote.close();
    },
  };
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const { values } = parseArgs({
    options: {
      port: { type: "string", default: "8080" },
      "web-port": { type: "string", default: "5173" },
      data: { type: "string", default: "./toka-data" },
      "no-build": { type: "boolean", default: false },
      check: { type: "boolean", default: process.env.DEMO_EXIT_AFTER_SEED === "1" },
    },
    strict: true,
  });
  const started = [];
  let stopping;
  const stop = (why) =>
    (stopping ??= (async () => {
      say(`${why}: stopping`);
      for (const s of started.reverse()) await s().catch((err) => say(`while stopping: ${err.message}`));
      say("stopped");
    })());
  let signals = 0;
  for (const signal of ["SIGINT", "SIGTERM"]) {
    process.on(signal, () => {
      if (++signals >= 3) process.exit(130); // npm and the terminal may both forward a Ctrl-C: be patient
      void stop(signal).then(() => process.exit(0));
    });
  }

  try {
    if (!values["no-build"]) await ensureBuilt();

    const dataDir = resolve(values.data);
    const server = await startServer(Number(values.port), `pglite:${dataDir}`);
    started.push(() => stopServer(server));
    server.child.once("exit", (code) => {
      if (stopping) return;
      say(`the server exited (${code}) on its own`);
      void stop("server gone").then(() => process.exit(1));
    });

    const { build } = await import("vite");
    say("building the browser app (examples/browser-app)");
    await build({ configFile: join(APP, "vite.config.ts"), logLevel: "warn" });
    const site = await serveStatic(join(APP, "dist"), Number(values["web-port"]));
    started.push(() => site.close());

    const client = await startClient(server.url);
    started.push(() => client.close());

    const page = `${site.url}/?server=${server.url}`;
    console.log(`
  ${bold("toka-events demo")}

  Open    ${bold(page)}
  Server  ${server.url}  ${dim(`(PGlite data in ${shown(dataDir)})`)}
  Tail    node examples/cli-tail/tail.mjs --server ${server.url}

  ${dim("Ctrl-C stops everything.")}
`);

    if (values.check) {
      const res = await fetch(page);
      const html = await res.text();
      if (res.status !== 200 || !html.includes("<title>To-dos")) throw new Error(`the page answered ${res.status}`);
      const head = await client.remote.head();
      if (head < client.seeded || head === 0) throw new Error(`the server holds ${head} events`);
      say(`check passed: the page answers, the server holds ${head} events`);
      await stop("--check");
      process.exit(0);
    }
  } catch (err) {
    say(`failed: ${err instanceof Error ? err.message : err}`);
    await stop("error");
    process.exit(1);
  }
}

/** A path relative to the working directory when it is inside it. */
function shown(path) {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith("..") ? `./${rel}` : path;
}

/** SIGTERM (unless a Ctrl-C already reached it: it is then shutting down) and wait for the exit. */
async function stopServer({ child, lines }) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((res) => child.once("exit", res));
  const shuttingDown = () => lines.some((l) => /shutting down/.test(l));
  // A terminal's Ctrl-C reaches the whole process group; a second signal would cut its shutdown short.
  await Promise.race([exited, new Promise((res) => setTimeout(res, 300))]);
  if (child.exitCode === null && child.signalCode === null && !shuttingDown()) child.kill("SIGTERM");
  await exited;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
