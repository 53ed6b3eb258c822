import { startNodeServer } from "../adapters/connect/node/index.js";
import { createEventStoreHandler } from "../adapters/connect/server/index.js";
import { openStore } from "./open-store.js";

/** Options of `toka-events serve`. */
export interface ServeOptions {
  host: string;
  port: number;
  /** `memory`, `pglite:<dir>` or a `postgres://` URL. */
  store: string;
  log: (line: string) => void;
}

const describeError = (err: unknown) => (err instanceof Error ? (err.stack ?? err.message) : String(err));

/** Runs the server until SIGINT or SIGTERM, then shuts down cleanly. */
export async function serve(opts: ServeOptions): Promise<void> {
  // Listening for the signals before anything is announced: a supervisor may signal right away.
  const stopped = new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      opts.log(`${signal}: shutting down`);
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      resolve();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
  const opened = await openStore(opts.store, (err) => opts.log(`store: ${describeError(err)}`));
  const handler = createEventStoreHandler({
    store: opened.store,
    onError: (err) => opts.log(`internal error: ${describeError(err)}`),
  });
  const server = await startNodeServer({ handler, host: opts.host, port: opts.port });
  opts.log(`toka-events listening on ${server.url} (store: ${opened.description}; Connect, gRPC-web, gRPC over HTTP/1.1 and h2c)`);
  await stopped;
  await server.close();
  await opened.close();
  opts.log("stopped");
}
