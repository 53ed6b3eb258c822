// Test-only (Node): hands runtimes under test a fresh Node server per request, so a Deno or workerd
// client runs each contract test against an empty store. `POST /servers[?allowMissingParents=1]`
// starts startNodeServer + createEventStoreHandler over a new memory store and answers `{ url }`;
// `DELETE /servers?url=…` stops that one. Closing the control server stops the rest.
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { createEventStore } from "toka-events";
import { startNodeServer, type NodeServer } from "toka-events/adapters/connect/node";
import { createEventStoreHandler } from "toka-events/adapters/connect/server";
import { createMemoryBus, createMemoryVault } from "toka-events/adapters/memory";

/** A running control server. */
export interface ControlServer {
  /** `http://127.0.0.1:port`. */
  readonly url: string;
  /** Servers started so far (all of them, also those stopped since). */
  readonly started: number;
  /** Servers running now. */
  readonly running: number;
  close(): Promise<void>;
}

interface Running {
  server: NodeServer;
  close(): Promise<void>;
}

/** Starts a control server on 127.0.0.1 at a free port. */
export async function startControlServer(): Promise<ControlServer> {
  const servers = new Map<string, Running>();
  const stopping = new Set<Promise<void>>();
  let started = 0;

  async function start(allowMissingParents: boolean): Promise<string> {
    const store = createEventStore({ vault: createMemoryVault({ allowMissingParents }), bus: createMemoryBus() });
    const server = await startNodeServer({ handler: createEventStoreHandler({ store }), port: 0 });
    started++;
    servers.set(server.url, { server, close: async () => (await server.close(), await store.close()) });
    return server.url;
  }

  function stop(url: string): void {
    const s = servers.get(url);
    if (!s) return;
    servers.delete(url);
    // In the background: the client need not wait for the server's shutdown grace period.
    const p = s.close().finally(() => stopping.delete(p));
    stopping.add(p);
  }

  const control = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const reply = (status: number, body: unknown) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    if (url.pathname !== "/servers") return reply(404, { error: "not found" });
    if (req.method === "POST") {
      start(url.searchParams.get("allowMissingParents") === "1").then(
        (serverUrl) => reply(200, { url: serverUrl }),
        (err: unknown) => reply(500, { error: String(err) }),
      );
      return;
    }
    if (req.method === "DELETE") {
      stop(url.searchParams.get("url") ?? "");
      return reply(200, {});
    }
    reply(405, { error: "method not allowed" });
  });
  await new Promise<void>((resolve, reject) => {
    control.once("error", reject);
    control.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = control.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get started() {
      return started;
    },
    get running() {
      return servers.size;
    },
    async close() {
      const closed = new Promise<void>((resolve) => control.close(() => resolve()));
      control.closeAllConnections();
      for (const url of [...servers.keys()]) stop(url);
      await Promise.all([...stopping]);
      await closed;
    },
  };
}
