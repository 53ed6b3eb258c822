// The EventStore service as a Cloudflare Worker: the library's fetch handler is the worker's fetch.
//
// The store here is in memory, one per isolate: fine to try the protocol, not for production, where
// a worker has many short-lived isolates. There, keep the log in one place every isolate reaches,
// e.g. a Durable Object that holds the EventStore (so commits and subscriptions meet in one
// object), or PostgreSQL through Hyperdrive with the library's Postgres store.
import { createEventStore } from "toka-events";
import { createEventStoreHandler, type EventStoreHandler } from "toka-events/adapters/connect/server";
import { createMemoryBus, createMemoryVault } from "toka-events/adapters/memory";

let handler: EventStoreHandler | undefined;

/** Created on the first request, not at module load (Workers allow no I/O or timers at global scope). */
function getHandler(): EventStoreHandler {
  if (!handler) {
    handler = createEventStoreHandler({
      store: createEventStore({ vault: createMemoryVault(), bus: createMemoryBus() }),
      // workerd notices that a client went away only when it next writes to that client's stream:
      // a heartbeat every 5 s (default 15 s) ends an abandoned Subscribe within 5 s.
      limits: { heartbeatMs: 5_000 },
      onError: (err) => console.error("internal error", err),
    });
  }
  return handler;
}

export default {
  fetch(request: Request): Promise<Response> {
    return getHandler().fetch(request);
  },
};
