// The conformance suites in Deno, from a bundle of the built package (run `npm run build` first):
// 1. ./suites.ts under `deno test` (Deno.test per suite test, only --allow-read);
// 2. Deno's connect client (createRemoteStore + createWebTransport) running the vault and catch-up
//    contracts against Node servers, one per test, handed out by a control server;
// 3. the Connect fetch handler served by Deno.serve, with Node's client over createWebTransport
//    and over connect-node's createConnectTransport running the same contracts, a tenant per test.
// `deno` is the devDependency's binary; DENO_DIR and every file live in .tmp/, removed afterwards.
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { createConnectTransport } from "@connectrpc/connect-node";
import { createWebTransport } from "toka-events/adapters/connect/client";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { registerRemoteSuites, tenantStores } from "./remote-suites.js";
import { prefixed, testNames } from "./runner.js";
import { registerSuites } from "./suites.js";
import { bundle, tmpRoot } from "./support/bundle.js";
import { type ControlServer, startControlServer } from "./support/control-server.js";
import { bin, type Child, start } from "./support/processes.js";
import { assertAllPassed, parseJunit } from "./support/results.js";

// The contract suites import the core by a relative path: give them the package's (see node.test.ts).
vi.mock("../../src/core/index.js", () => import("toka-events"));

const LOCAL = testNames(registerSuites);
const REMOTE_PREFIX = "deno client → node server: ";
const REMOTE = testNames((run) => registerRemoteSuites(prefixed(run, REMOTE_PREFIX), () => Promise.reject(new Error("not here"))));

let dir = "";

/** What every Deno process gets: its cache in .tmp, no colours, no update check. */
const denoEnv = (extra: Record<string, string> = {}) => ({
  PATH: process.env["PATH"] ?? "",
  HOME: process.env["HOME"] ?? dir,
  DENO_DIR: `${dir}/deno-dir`,
  NO_COLOR: "1",
  DENO_NO_UPDATE_CHECK: "1",
  ...extra,
});

/** The Deno test file: every suite test as one Deno.test, each with a deadline. */
function denoTestFile(register: string): string {
  return [
    `import { deadline, prefixed, registerRemoteSuites, registerSuites, remoteStoresFrom } from "./conformance.js";`,
    `const run = { test: (name, fn) => Deno.test(name, () => deadline(fn(), 20_000, name)) };`,
    register,
    "",
  ].join("\n");
}

/** Runs `deno test` on `file` and returns its JUnit test cases. */
async function denoTest(file: string, permissions: string[], env: Record<string, string> = {}) {
  const report = `${dir}/${file}.junit.xml`;
  const args = ["test", "--no-config", "--no-prompt", ...permissions, "--reporter=dot", `--junit-path=${report}`, file];
  const deno = start(bin("deno"), args, { cwd: dir, env: denoEnv(env) });
  const timer = setTimeout(() => void deno.stop(), 90_000);
  const code = await deno.exited.finally(() => clearTimeout(timer));
  let xml: string;
  try {
    xml = await readFile(report, "utf8");
  } catch {
    throw new Error(`deno test wrote no report (exit ${code}):\n${deno.output()}`);
  }
  return { code, cases: parseJunit(xml), output: deno.output() };
}

beforeAll(async () => {
  await mkdir(tmpRoot, { recursive: true });
  dir = await mkdtemp(`${tmpRoot}e2e-conformance-deno-`);
  await bundle(fileURLToPath(new URL("./entries/deno.ts", import.meta.url)), "deno", `${dir}/conformance.js`);
  await writeFile(`${dir}/local.test.js`, denoTestFile("registerSuites(run);"));
  await writeFile(
    `${dir}/remote.test.js`,
    denoTestFile(`registerRemoteSuites(prefixed(run, ${JSON.stringify(REMOTE_PREFIX)}), remoteStoresFrom(Deno.env.get("TOKA_CONTROL_URL")));`),
  );
  await writeFile(
    `${dir}/server.js`,
    [
      `import { createTenantServer } from "./conformance.js";`,
      `const tenants = createTenantServer();`,
      `Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: ({ port }) => console.log("listening on http://127.0.0.1:" + port) }, (req) => tenants.fetch(req));`,
      "",
    ].join("\n"),
  );
}, 60_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("conformance suites in Deno (deno test)", () => {
  it("every suite test passes under Deno.test", async () => {
    const { code, cases, output } = await denoTest("local.test.js", ["--allow-read"]);
    console.log(`[conformance] deno test: ${cases.filter((c) => c.ok).length}/${LOCAL.length} passed`);
    assertAllPassed("deno test (conformance suites)", LOCAL, cases);
    expect(code, output).toBe(0);
  }, 120_000);
});

describe("Deno's connect client against Node servers", () => {
  let control: ControlServer | undefined;
  beforeAll(async () => {
    control = await startControlServer();
  });
  afterAll(async () => {
    await control?.close();
  });

  it("passes the vault and catch-up contracts over createWebTransport", async () => {
    const { port } = new URL(control!.url);
    const { code, cases, output } = await denoTest(
      "remote.test.js",
      ["--allow-read", "--allow-env=TOKA_CONTROL_URL", "--allow-net=127.0.0.1"],
      { TOKA_CONTROL_URL: control!.url },
    );
    console.log(`[conformance] deno client → node server (control :${port}): ${cases.filter((c) => c.ok).length}/${REMOTE.length} passed, ${control!.started} node servers`);
    assertAllPassed("deno test (connect client against Node)", REMOTE, cases);
    expect(code, output).toBe(0);
    expect(control!.started).toBe(REMOTE.length);
  }, 120_000);
});

describe("Deno.serve(Connect fetch handler) with Node's connect client", () => {
  let server: Child | undefined;
  let url = "";
  beforeAll(async () => {
    server = start(bin("deno"), ["run", "--no-config", "--no-prompt", "--allow-net=127.0.0.1", `${dir}/server.js`], { cwd: dir, env: denoEnv() });
    url = (await server.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/, 20_000))[1]!;
  }, 30_000);
  afterAll(async () => {
    await server?.stop();
  });

  const transports = {
    createWebTransport: (baseUrl: string) => createWebTransport({ baseUrl }),
    "connect-node createConnectTransport (HTTP/1.1)": (baseUrl: string) => createConnectTransport({ baseUrl, httpVersion: "1.1" }),
  };
  for (const [label, transport] of Object.entries(transports)) {
    describe(label, () => {
      registerRemoteSuites({ test: (name, fn) => it(name, fn) }, tenantStores(() => url, transport));
    });
  }

  it("Deno logged nothing but its notice about request.signal (no uncaught errors)", () => {
    // Deno 2.9 prints this once when a handler reads request.signal, which the Connect handler
    // does to cancel work for callers that went away; --unstable-no-legacy-abort silences it.
    const notice = /^Deno\.serve: request\.signal aborts on successful responses \(legacy behavior\)\..*$/m;
    const log = server!.output().replace(/^listening on .*$/m, "").replace(notice, "").trim();
    expect(log).toBe("");
  });
});
