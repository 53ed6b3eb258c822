// A Cloudflare Worker that keeps one event log per tenant in a SQLite-backed Durable Object:
// /t/<tenant>/<rpc path> is served by the tenant's object through the Connect fetch handler.
import { createEventStore, createFanout } from "toka-events";
import { createEventStoreHandler } from "toka-events/adapters/connect/server";
import { createDurableObjectVault, type DurableObjectStorageLike } from "toka-events/adapters/durable-object";

interface Env {
  LOGS: {
    idFromName(name: string): unknown;
    get(id: unknown): { fetch(request: Request): Promise<Response> };
  };
}

export class EventLog {
  private readonly handler;
  constructor(ctx: { storage: DurableObjectStorageLike; id: { name?: string } }) {
    // Tenants named "partial-…" are partial replicas, for the contract suite's allowMissingParents case.
    const allowMissingParents = ctx.id.name?.startsWith("partial-") ?? false;
    const store = createEventStore({ vault: createDurableObjectVault(ctx.storage, { allowMissingParents }), bus: createFanout() });
    this.handler = createEventStoreHandler({ store, limits: { heartbeatMs: 5_000 } });
  }
  fetch(request: Request): Promise<Response> {
    return this.handler.fetch(request);
  }
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    const m = /^\/t\/([a-z0-9-]{1,72})(\/.*)$/.exec(url.pathname);
    if (!m) return new Response("not found", { status: 404 });
    url.pathname = m[2]!;
    const log = env.LOGS.get(env.LOGS.idFromName(m[1]!));
    return log.fetch(new Request(url, request));
  },
};
