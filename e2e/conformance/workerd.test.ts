// The conformance suites in workerd (the Cloudflare Workers runtime), from one ES module worker
// bundled from the built package (run `npm run build` first) with ssr.target "webworker" and the
// workerd conditions. One `workerd serve` process on a free 127.0.0.1 port serves:
// 1. `/run/local`: ./suites.ts run inside the worker by ./runner.ts;
// 2. `/run/remote`: the worker's connect client (createRemoteStore + createWebTransport, with no
//    fetch or redirect setting of ours) running the vault and catch-up contracts against Node
//    servers, one per test, from a control server whose URL is the CONTROL_URL text binding;
// 3. `/t/<tenant>/…`: the Connect fetch handler, with Node's client over createWebTransport and
//    over connect-node's createConnectTransport running the same contracts, a tenant per test.
// A second socket serves the same worker with `navigator` turned off, for the client's sake.
// Config, bundle and workerd's output live in .tmp/ and are removed afterwards; workerd is stopped by PID.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { createConnectTransport } from "@connectrpc/connect-node";
import { createWebTransport } from "toka-events/adapters/connect/client";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { registerRemoteSuites, tenantStores } from "./remote-suites.js";
import { type TestResult, testNames } from "./runner.js";
import { registerSuites } from "./suites.js";
import { bundle, tmpRoot } from "./support/bundle.js";
import { type ControlServer, startControlServer } from "./support/control-server.js";
import { bin, type Child, freePort, start, waitForHttp } from "./support/processes.js";
import { assertAllPassed } from "./support/results.js";

// The contract suites import the core by a relative path: give them the package's (see node.test.ts).
vi.mock("../../src/core/index.js", () => import("toka-events"));

const LOCAL = testNames(registerSuites);
const REMOTE = testNames((run) => registerRemoteSuites(run, () => Promise.reject(new Error("not here"))));
const COMPATIBILITY_DATE = "2026-11-01";

let dir = "";
let control: ControlServer | undefined;
let workerd: Child | undefined;
let url = "";
let noNavigatorUrl = "";

/**
 * A worker may turn `navigator` off (or predate it: compatibility date < 2022-03-21). A second
 * socket serves the same worker with this flag, to check the connect client there too.
 */
const NO_NAVIGATOR_FLAG = "no_global_navigator";

/** The workerd config: the worker (twice), a network service that may reach 127.0.0.1, HTTP sockets. */
function capnpConfig(port: number, noNavigatorPort: number, controlUrl: string): string {
  const worker = (flags: string[]) => `(
  modules = [ (name = "worker.js", esModule = embed "worker.js") ],
  compatibilityDate = "${COMPATIBILITY_DATE}",
  compatibilityFlags = ${JSON.stringify(flags)},
  bindings = [ (name = "CONTROL_URL", text = ${JSON.stringify(controlUrl)}) ],
  globalOutbound = "loopback",
)`;
  return `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .conformanceWorker),
    (name = "no-navigator", worker = .noNavigatorWorker),
    # The default outbound network allows public addresses only; the Node servers are on loopback.
    (name = "loopback", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [
    (name = "http", address = "127.0.0.1:${port}", http = (), service = "main"),
    (name = "no-navigator", address = "127.0.0.1:${noNavigatorPort}", http = (), service = "no-navigator"),
  ],
);

const conformanceWorker :Workerd.Worker = ${worker([])};

const noNavigatorWorker :Workerd.Worker = ${worker([NO_NAVIGATOR_FLAG])};
`;
}

async function getResults(path: string, base = url): Promise<TestResult[]> {
  const res = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(100_000) });
  const body = await res.text();
  if (!res.ok) throw new Error(`workerd ${path}: ${res.status} ${body}\n${workerd?.output()}`);
  return JSON.parse(body) as TestResult[];
}

beforeAll(async () => {
  await mkdir(tmpRoot, { recursive: true });
  dir = await mkdtemp(`${tmpRoot}e2e-conformance-workerd-`);
  await bundle(fileURLToPath(new URL("./entries/workerd.ts", import.meta.url)), "workerd", `${dir}/worker.js`);
  control = await startControlServer();
  const port = await freePort();
  let noNavigatorPort = await freePort();
  while (noNavigatorPort === port) noNavigatorPort = await freePort();
  await writeFile(`${dir}/config.capnp`, capnpConfig(port, noNavigatorPort, control.url));
  // The embed path is relative to the config file.
  workerd = start(bin("workerd"), ["serve", `${dir}/config.capnp`, "config"], { cwd: dir });
  url = `http://127.0.0.1:${port}`;
  noNavigatorUrl = `http://127.0.0.1:${noNavigatorPort}`;
  await waitForHttp(`${url}/health`, workerd, 20_000);
  await waitForHttp(`${noNavigatorUrl}/health`, workerd, 20_000);
}, 60_000);

afterAll(async () => {
  await workerd?.stop();
  await control?.close();
  const log = workerd?.output().trim();
  if (log) console.log(`[conformance] workerd output:\n${log}`);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("conformance suites in workerd", () => {
  it("every suite test passes inside the worker", async () => {
    const results = await getResults("/run/local");
    console.log(`[conformance] workerd: ${results.filter((r) => r.ok).length}/${LOCAL.length} passed`);
    assertAllPassed("workerd (conformance suites)", LOCAL, results);
  }, 120_000);
});

describe("workerd's connect client against Node servers", () => {
  it("workerd's own fetch refuses redirect: \"error\", which connect-web always sends", async () => {
    const res = await fetch(`${url}/probe/redirect-error`);
    expect(await res.json()).toMatchObject({ refused: true, message: expect.stringMatching(/Invalid redirect value/) });
  });

  it("passes the vault and catch-up contracts over createWebTransport (no redirect workaround of ours)", async () => {
    const before = control!.started;
    const results = await getResults("/run/remote");
    console.log(`[conformance] workerd client → node server: ${results.filter((r) => r.ok).length}/${REMOTE.length} passed, ${control!.started - before} node servers`);
    assertAllPassed("workerd (connect client against Node)", REMOTE, results);
    expect(control!.started - before).toBe(REMOTE.length);
  }, 120_000);

  // A worker without navigator (this flag, or a compatibility date before 2022-03-21): the
  // transport must still notice that redirect: "error" is refused.
  it(`passes them too with the ${NO_NAVIGATOR_FLAG} compatibility flag`, async () => {
    const results = await getResults("/run/remote", noNavigatorUrl);
    console.log(`[conformance] workerd (${NO_NAVIGATOR_FLAG}) client → node server: ${results.filter((r) => r.ok).length}/${REMOTE.length} passed`);
    assertAllPassed(`workerd ${NO_NAVIGATOR_FLAG} (connect client against Node)`, REMOTE, results);
  }, 120_000);
});

describe("workerd serving the Connect fetch handler, with Node's connect client", () => {
  const transports = {
    createWebTransport: (baseUrl: string) => createWebTransport({ baseUrl }),
    "connect-node createConnectTransport (HTTP/1.1)": (baseUrl: string) => createConnectTransport({ baseUrl, httpVersion: "1.1" }),
  };
  for (const [label, transport] of Object.entries(transports)) {
    describe(label, () => {
      registerRemoteSuites({ test: (name, fn) => it(name, fn) }, tenantStores(() => url, transport));
    });
  }

  it("workerd logged nothing (no uncaught errors, no cross-request warnings)", () => {
    expect(workerd!.output().trim()).toBe("");
  });
});
