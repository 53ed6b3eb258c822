import { afterAll, describe, it } from "vitest";
import { historyContract, orderContract, vaultContract } from "../_contract/index.js";
import { startTestServer, type TestServer, WIRES } from "./test-servers.js";

// The foundation's contract suites, unchanged, against a remote store over every wire.
describe.each(WIRES)("remote store over %s", (wire) => {
  const servers: TestServer[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });
  const open = async (opts?: { allowMissingParents?: boolean }) => {
    const s = await startTestServer(wire, opts);
    servers.push(s);
    return s;
  };
  vaultContract({ test: (name, fn) => it(name, fn) }, async (opts) => (await open(opts)).remote);
  historyContract({ test: (name, fn) => it(name, fn) }, async () => (await open()).remote);
  orderContract({ test: (name, fn) => it(name, fn) }, async () => (await open()).remote);
});
