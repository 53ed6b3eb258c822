// Test-only: the Connect fetch handler as Deno and workerd serve it, with one handler and one
// memory store per tenant, so each contract test gets a fresh store from one running server.
// `/t/<tenant>/<service>/<method>` is handed to that tenant's handler with the prefix removed;
// `DELETE /t/<tenant>` drops the tenant. A tenant named `amp-…` allows missing parents.
import { createEventStore, type EventStore } from "toka-events";
import { createMemoryBus, createMemoryVault } from "toka-events/adapters/memory";
import { createEventStoreHandler, type EventStoreHandler } from "toka-events/adapters/connect/server";

/** A multi-tenant fetch handler. */
export interface TenantServer {
  fetch(request: Request): Promise<Response>;
  /** Tenants alive now. */
  readonly tenants: number;
}

interface Tenant {
  handler: EventStoreHandler;
  store: EventStore;
  close(): Promise<void>;
}

/**
 * A fetch handler over per-tenant {@link createEventStoreHandler}s. Nothing is created until the
 * first request (workerd forbids random values, used by uuids, in the global scope).
 */
export function createTenantServer(): TenantServer {
  const tenants = new Map<string, Tenant>();

  function tenant(name: string): Tenant {
    let t = tenants.get(name);
    if (!t) {
      const vault = createMemoryVault({ allowMissingParents: name.startsWith("amp-") });
      const store = createEventStore({ vault, bus: createMemoryBus() });
      t = { handler: createEventStoreHandler({ store }), store, close: () => store.close() };
      tenants.set(name, t);
    }
    return t;
  }

  return {
    async fetch(request) {
      const url = new URL(request.url);
      if (url.pathname === "/health") return new Response("ok");
      const m = /^\/t\/([a-z0-9-]+)(\/.*)?$/.exec(url.pathname);
      if (!m) return new Response("not found", { status: 404 });
      const [, name, rest] = m;
      if (request.method === "DELETE" && rest === undefined) {
        const t = tenants.get(name!);
        tenants.delete(name!);
        await t?.close();
        return new Response(null, { status: 204 });
      }
      url.pathname = rest ?? "/";
      return tenant(name!).handler.fetch(new Request(url, request));
    },
    get tenants() {
      return tenants.size;
    },
  };
}
