// Smoke test of `npm run demo` (scripts/demo.mjs): on PGlite, with its page, its seed and its
// shutdown; and of the check that decides when the package needs a build.
import { cpSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createEvent, type EventStore, json } from "toka-events";
import { createRemoteStore, createWebTransport } from "toka-events/adapters/connect/client";
import { afterAll, describe, expect, inject, it } from "vitest";
import { killAll, start } from "./_support/process.js";
// @ts-expect-error: scripts/demo.mjs is plain JavaScript
import { staleReason } from "../scripts/demo.mjs";

const dirs: string[] = [];
const stores: EventStore[] = [];
afterAll(async () => {
  for (const s of stores) await s.close();
  killAll();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "toka-demo-"));
  dirs.push(d);
  return d;
}

/** `node scripts/demo.mjs` on a data directory; `--no-build`: the suite runs on the dist/ it was given. */
function demo(data: string, env: Record<string, string> = {}) {
  return start(process.execPath, ["scripts/demo.mjs", "--no-build", "--data", data, "--port", "0", "--web-port", "0"], {
    env: { ...process.env, ...env },
  });
}

describe("npm run demo", () => {
  // A copy of an initialised PGlite directory: a fresh one takes seconds to create.
  const data = join(tempDir(), "toka-data");

  it("serves the page and the seeded store until Ctrl-C, then stops everything", async () => {
    cpSync(inject("pgliteTemplate"), data, { recursive: true });
    const run = demo(data);
    const [, page, server] = await run.waitFor(/Open\s+(http:\/\/\S+\?server=(http:\/\/\S+))/, 60_000);
    await run.waitFor(/Ctrl-C stops everything/);
    expect(run.output()).toMatch(/seeded 4 to-dos \(5 events\)/);

    const res = await fetch(page!);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("<title>To-dos");

    const remote = createRemoteStore({ transport: createWebTransport({ baseUrl: server! }) });
    stores.push(remote);
    const events = [];
    for await (const e of remote.read()) events.push([e.header.kind, json.decode(e.payload)]);
    expect(events).toHaveLength(5);
    expect(events[0]).toEqual(["todo.added", { title: "Start the demo with npm run demo" }]);
    expect(events[1]).toEqual(["todo.completed", { done: true }]);

    // The headless client reports what others do.
    await remote.commit([createEvent({ kind: "todo.added", payload: json.encode({ title: "from another client" }) })]);
    await run.waitFor(/\[client\]\S* added "from another client"/);

    expect(await run.stop("SIGINT")).toBe(0);
    expect(run.output()).toMatch(/SIGINT: stopping[\s\S]*\[server\]\S* stopped[\s\S]*\[demo\]\S* stopped/);
  });

  it("--check (DEMO_EXIT_AFTER_SEED=1) exits by itself; the data outlives the run", async () => {
    const run = demo(data, { DEMO_EXIT_AFTER_SEED: "1" });
    expect(await run.exit).toBe(0);
    expect(run.output()).toMatch(/the store already has 5 to-dos: not seeding/);
    expect(run.output()).toMatch(/check passed: the page answers, the server holds 6 events/);
  });

  it("rebuilds when dist/ is missing or older than src/", () => {
    const root = tempDir();
    writeFileSync(join(root, "package.json"), JSON.stringify({ exports: { ".": { import: "./dist/core.js" } }, bin: { x: "./dist/cli.js" } }));
    mkdirSync(join(root, "src"));
    writeFileSync(join(root, "src/a.ts"), "");
    expect(staleReason(root)).toBe(`${join("dist", "core.js")} is missing`);
    mkdirSync(join(root, "dist"));
    writeFileSync(join(root, "dist/core.js"), "");
    writeFileSync(join(root, "dist/cli.js"), "");
    const past = new Date(Date.now() - 60_000);
    utimesSync(join(root, "src/a.ts"), past, past);
    expect(staleReason(root)).toBeUndefined();
    writeFileSync(join(root, "src/a.test.ts"), ""); // tests are not built
    expect(staleReason(root)).toBeUndefined();
    writeFileSync(join(root, "src/a.ts"), "export {};");
    expect(staleReason(root)).toBe(`${join("src", "a.ts")} changed since the last build`);
  });
});
