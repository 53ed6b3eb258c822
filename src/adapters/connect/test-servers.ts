// Test-only: the ways a remote store reaches a server, each with a fresh memory store behind it.
import { createRouterTransport, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { createEventStore, type EventStore } from "../../core/index.js";
import { createMemoryBus, createMemoryVault, type MemoryVaultOptions } from "../memory/index.js";
import { createRemoteStore } from "./client/index.js";
import { createWebTransport } from "./client/web-transport.js";
import { startNodeServer } from "./node/index.js";
import { createEventStoreHandler, type EventStoreHandlerOptions } from "./server/index.js";

/** How a client reaches the server. */
export type Wire = "router" | "connect-http1" | "grpc-web-http1" | "grpc-h2c" | "connect-h2c";

export const WIRES: Wire[] = ["router", "connect-http1", "grpc-web-http1", "grpc-h2c", "connect-h2c"];

/** A memory-backed server reached over `wire`, with a remote store as its client. */
export interface TestServer {
  store: EventStore;
  remote: EventStore;
  handler: ReturnType<typeof createEventStoreHandler>;
  url?: string;
  transport: Transport;
  close(): Promise<void>;
}

export async function startTestServer(
  wire: Wire,
  opts: MemoryVaultOptions & Omit<Partial<EventStoreHandlerOptions>, "store"> = {},
): Promise<TestServer> {
  const store = createEventStore({ vault: createMemoryVault(opts), bus: createMemoryBus() });
  const handler = createEventStoreHandler({ ...opts, store });
  if (wire === "router") {
    const transport = createRouterTransport(handler.routes, { router: { readMaxBytes: 64 << 20 } });
    const remote = createRemoteStore({ transport });
    return { store, remote, handler, transport, close: async () => remote.close() };
  }
  const server = await startNodeServer({ handler, port: 0 });
  const baseUrl = server.url;
  const transport =
    wire === "connect-http1"
      ? createWebTransport({ baseUrl })
      : wire === "grpc-web-http1"
        ? createWebTransport({ baseUrl, protocol: "grpc-web" })
        : wire === "grpc-h2c"
          ? createGrpcTransport({ baseUrl })
          : createConnectTransport({ baseUrl, httpVersion: "2" });
  const remote = createRemoteStore({ transport });
  return {
    store,
    remote,
    handler,
    url: baseUrl,
    transport,
    close: async () => {
      await remote.close();
      await server.close();
      await store.close();
    },
  };
}
