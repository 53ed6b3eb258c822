import { createEventStore, type EventStore } from "../core/index.js";
import { createMemoryBus, createMemoryVault } from "../adapters/memory/index.js";
import { startNodeServer } from "../adapters/connect/node/index.js";
import { createEventStoreHandler } from "../adapters/connect/server/index.js";

/** Options of `toka-events serve`. */
export interface ServeOptions {
  host: string;
  port: number;
  /** `memory`. */
  store: string;
  log: (line: string) => void;
}

/** Opens the store named by `--store`. */
export async function openStore(spec: string): Promise<EventStore> {
  if (spec === "memory") return createEventStore({ vault: createMemoryVault(), bus: createMemoryBus() });
  throw new Error(`unknown store "${spec}" (expected: memory)`);
}

/** Runs the server until SIGINT or SIGTERM, then shuts down cleanly. */
export async function serve(opts: ServeOptions): Promise<void> {
  const store = await openStore(opts.store);
  const handler = createEventStoreHandler({
    store,
    onError: (err) => opts.log(`internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`),
  });
  const server = await startNodeServer({ handler, host: opts.host, port: opts.port });
  opts.log(`toka-events listening on ${server.url} (store: ${opts.store}; Connect, gRPC-web, gRPC over HTTP/1.1 and h2c)`);
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      opts.log(`${signal}: shutting down`);
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      resolve();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
  await server.close();
  await store.close();
  opts.log("stopped");
}
