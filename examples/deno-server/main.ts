// The EventStore service on Deno: the library's fetch handler on `Deno.serve`. The store is in
// memory (gone when the process stops); swap in any EventStore, e.g. the Postgres one.
//
// Deno runs the vite-bundled copy (dist/main.js, made by build.mjs), so it needs no npm access.
import { createEventStore } from "toka-events";
import { createEventStoreHandler } from "toka-events/adapters/connect/server";
import { createMemoryBus, createMemoryVault } from "toka-events/adapters/memory";

/** The part of Deno's API used here (the project type-checks with Node's types, not Deno's). */
declare const Deno: {
  env: { get(name: string): string | undefined };
  serve(
    opts: { hostname: string; port: number; onListen?: (addr: { hostname: string; port: number }) => void },
    handler: (request: Request) => Response | Promise<Response>,
  ): { finished: Promise<void>; shutdown(): Promise<void> };
  addSignalListener(signal: "SIGINT" | "SIGTERM", handler: () => void): void;
  exit(code?: number): never;
};

const log = (msg: string, fields: Record<string, unknown> = {}) => console.log(JSON.stringify({ time: new Date().toISOString(), msg, ...fields }));

const bus = createMemoryBus();
const store = createEventStore({ vault: createMemoryVault(), bus });
const handler = createEventStoreHandler({
  store,
  onError: (err) => log("internal error", { error: err instanceof Error ? err.stack : String(err) }),
});

const server = Deno.serve(
  {
    hostname: Deno.env.get("HOST") ?? "127.0.0.1",
    port: Number(Deno.env.get("PORT") ?? 8080),
    onListen: ({ hostname, port }) => log("listening", { url: `http://${hostname}:${port}`, store: "memory" }),
  },
  (request) => handler.fetch(request),
);

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, () => {
    if (stopping) Deno.exit(1);
    stopping = true;
    log("shutting down", { signal, openSubscriptions: handler.subscriptions });
    // Ending the bus ends every Subscribe stream, so the graceful shutdown does not wait on them.
    bus.close();
    void server.shutdown();
  });
}

await server.finished;
await store.close();
log("stopped");
