// The connect adapter across runtimes: the vault and catch-up contracts against a remote store.
// Each contract test needs a fresh, empty store; how a runtime gets one depends on who serves:
// - a runtime's client against Node: a Node control server starts one real Node server
//   (startNodeServer + createEventStoreHandler over a new memory store) per request;
// - Node's client against a runtime's server: the server keeps one handler and memory store per
//   tenant path `/t/<tenant>/…` (./tenant-server.ts), and every test uses a new tenant.
import type { Transport } from "@connectrpc/connect";
import type { EventStore } from "toka-events";
import { createRemoteStore, createWebTransport } from "toka-events/adapters/connect/client";
import { type ContractRunner, historyContract, orderContract, vaultContract, type VaultContractOptions } from "../../src/adapters/_contract/index.js";

/** Opens a fresh, empty remote store with a server of its own behind it. */
export type OpenRemote = (opts?: VaultContractOptions) => Promise<EventStore>;

/**
 * Registers the vault, catch-up and ordered-commit contracts on `run`, against remote stores from `open`.
 *
 * @example
 * registerRemoteSuites(run, remoteStoresFrom(controlUrl));
 */
export function registerRemoteSuites(run: ContractRunner, open: OpenRemote): void {
  vaultContract(run, open);
  historyContract(run, open);
  orderContract(run, open);
}

/** The store, with `close()` also running `after` (which must not throw). */
function closing(store: EventStore, after: () => Promise<unknown>): EventStore {
  return {
    ...store,
    async close() {
      await store.close();
      await after();
    },
  };
}

/**
 * Remote stores over `createWebTransport` (this runtime's fetch), each against a new Node server
 * started by the control server at `controlUrl` (`POST /servers` → `{ url }`; `DELETE /servers?url=`
 * stops it).
 */
export function remoteStoresFrom(controlUrl: string): OpenRemote {
  return async (opts) => {
    const query = opts?.allowMissingParents ? "?allowMissingParents=1" : "";
    const res = await fetch(`${controlUrl}/servers${query}`, { method: "POST" });
    if (!res.ok) throw new Error(`control server: ${res.status} ${await res.text()}`);
    const { url } = (await res.json()) as { url: string };
    const store = createRemoteStore({ transport: createWebTransport({ baseUrl: url }) });
    const release = () => fetch(`${controlUrl}/servers?url=${encodeURIComponent(url)}`, { method: "DELETE" }).then((r) => r.body?.cancel());
    return closing(store, release);
  };
}

/**
 * Remote stores over `transport(baseUrl)`, each on a new tenant of the tenant server at
 * `serverUrl()` (read when a test runs); closing the store drops the tenant.
 */
export function tenantStores(serverUrl: () => string, transport: (baseUrl: string) => Transport): OpenRemote {
  let n = 0;
  return async (opts) => {
    // A tenant named amp-… allows missing parents (see tenant-server.ts).
    const tenant = `${opts?.allowMissingParents ? "amp-" : "t-"}${++n}-${Math.random().toString(36).slice(2)}`;
    const baseUrl = `${serverUrl()}/t/${tenant}`;
    const store = createRemoteStore({ transport: transport(baseUrl) });
    return closing(store, () => fetch(baseUrl, { method: "DELETE" }).then((r) => r.body?.cancel()));
  };
}
