import { ConnectError, type ConnectRouter, createConnectRouter, type HandlerContext } from "@connectrpc/connect";
import { createFetchHandler } from "@connectrpc/connect/protocol";
import { ErrorCode, EventError, type EventStore, kindFilter, matchKind } from "../../../core/index.js";
import { eventFromProto, resultToProto, storedToProto, toNumber } from "../convert.js";
import { toConnectError } from "../errors.js";
import { EventStoreService } from "../gen/toka/events/v1/event_store_pb.js";
import { type CorsOrigins, corsHeaders } from "./cors.js";
import { resolveLimits, type ServerLimits } from "./limits.js";
import { subscribeResponses } from "./subscribe-stream.js";

/** Who is calling, as decided by the `auth` hook. */
export interface Principal {
  /** Names the caller in limits and logs. */
  id: string;
  /** Kind patterns this caller may commit (default: all). */
  commit?: string[];
  /** Kind patterns this caller may read and subscribe to (default: all). */
  read?: string[];
}

/** Options of {@link createEventStoreHandler}. */
export interface EventStoreHandlerOptions {
  store: EventStore;
  limits?: Partial<ServerLimits>;
  /**
   * Decides who calls from the request headers (e.g. a bearer token); throw an EventError
   * (`unauthenticated`, `permission_denied`) to refuse. Anything else it throws is reported to
   * `onError` and answered with `unavailable` (without detail). Without it every caller is anonymous and
   * may do everything: set it for any server reachable by others.
   */
  auth?: (headers: Headers) => Principal | Promise<Principal>;
  /** Browser origins allowed to call (default `"*"`). */
  cors?: CorsOrigins;
  /** Sees errors that are the server's fault (code `internal`, a broken auth hook), e.g. to log them. */
  onError?: (err: unknown) => void;
}

/** The server side of the EventStore service, for any runtime. */
export interface EventStoreHandler {
  /** Registers the service on a Connect router: `connectNodeAdapter({ routes: handler.routes })`. */
  routes(router: ConnectRouter): void;
  /** A fetch handler (Workers, Deno, Bun) with CORS; 404 for other paths. */
  fetch(request: Request): Promise<Response>;
  /** CORS headers for a request from `origin` (for servers that wrap {@link routes} themselves). */
  corsHeaders(origin: string | null, preflight: boolean): Record<string, string> | undefined;
  /** Subscribe streams open now. */
  readonly subscriptions: number;
}

/**
 * Serves an {@link EventStore} over Connect, gRPC-web and gRPC: Commit applies the store's commit
 * rules, Subscribe replays history then goes live, with limits on every input.
 *
 * @example
 * const handler = createEventStoreHandler({ store: createEventStore({ vault, bus }) });
 * http2.createServer({ allowHTTP1: true }, connectNodeAdapter({ routes: handler.routes })).listen(8080);
 */
export function createEventStoreHandler(opts: EventStoreHandlerOptions): EventStoreHandler {
  const { store } = opts;
  const limits = resolveLimits(opts.limits);
  const origins = opts.cors ?? "*";
  const open = new Map<string, number>();
  let subscriptions = 0;
  const anonymous: Principal = { id: "anonymous" };

  async function principal(ctx: HandlerContext): Promise<Principal> {
    if (!opts.auth) return anonymous;
    try {
      return await opts.auth(ctx.requestHeader);
    } catch (err) {
      // A deliberate refusal is an EventError; anything else means the hook itself broke (its
      // backend is down, a bug): the caller may retry, and sees no detail of it.
      if (err instanceof EventError && err.code !== ErrorCode.internal) throw err;
      opts.onError?.(err);
      throw new EventError(ErrorCode.unavailable, "authentication is unavailable", { cause: err });
    }
  }

  function guard<Req, R>(fn: (req: Req, ctx: HandlerContext) => Promise<R>): (req: Req, ctx: HandlerContext) => Promise<R> {
    return async (req, ctx) => {
      try {
        return await fn(req, ctx);
      } catch (err) {
        // Aborted by the server's shutdown: say so (its reason is "unavailable", retryable)
        // rather than the "canceled" the interrupted work reports.
        if (ctx.signal.aborted && ctx.signal.reason instanceof ConnectError) throw ctx.signal.reason;
        throw report(err);
      }
    };
  }

  function report(err: unknown) {
    const ce = toConnectError(err);
    if (EventError.from(err).code === ErrorCode.internal) opts.onError?.(err);
    return ce;
  }

  function readable(p: Principal, kinds: string[]): string[] {
    kindFilter(kinds);
    if (!p.read) return kinds;
    const allowed = kinds.length === 0 ? p.read : kinds.filter((k) => p.read!.some((r) => covers(r, k)));
    if (allowed.length === 0 || allowed.length < kinds.length) {
      throw new EventError(ErrorCode.permission_denied, `${p.id} may not read kinds ${JSON.stringify(kinds)}`);
    }
    return allowed;
  }

  function routes(router: ConnectRouter): void {
    router.service(
      EventStoreService,
      {
        commit: guard(async (req, ctx) => {
          const p = await principal(ctx);
          if (req.events.length > limits.maxBatchEvents) {
            throw new EventError(ErrorCode.invalid_argument, `batch of ${req.events.length} events exceeds maxBatchEvents ${limits.maxBatchEvents}`);
          }
          const events = req.events.map(eventFromProto);
          for (const e of events) {
            if (e.payload.length > limits.maxPayloadBytes) {
              throw new EventError(ErrorCode.invalid_argument, `event ${e.header.id}: payload of ${e.payload.length} bytes exceeds maxPayloadBytes ${limits.maxPayloadBytes}`);
            }
            if (p.commit && !p.commit.some((k) => matchKind(k, e.header.kind))) {
              throw new EventError(ErrorCode.permission_denied, `event ${e.header.id}: ${p.id} may not commit kind ${e.header.kind}`);
            }
          }
          const results = await store.commit(events, { signal: ctx.signal, after: req.after === "" ? undefined : req.after });
          return { results: results.map(resultToProto) };
        }),
        subscribe: async function* (req, ctx) {
          let p: Principal;
          let kinds: string[];
          try {
            p = await principal(ctx);
            kinds = readable(p, req.kinds);
          } catch (err) {
            throw report(err);
          }
          const count = open.get(p.id) ?? 0;
          if (count >= limits.maxSubscriptions) {
            throw report(new EventError(ErrorCode.resource_exhausted, `${p.id} has ${count} open subscriptions (maxSubscriptions ${limits.maxSubscriptions})`));
          }
          open.set(p.id, count + 1);
          subscriptions++;
          // Released when the stream ends or the client goes: a stream stuck in a write to a dead
          // connection may never resume to run `finally`, and must not hold its slot forever.
          let released = false;
          const release = () => {
            if (released) return;
            released = true;
            ctx.signal.removeEventListener("abort", release);
            subscriptions--;
            const n = open.get(p.id)! - 1;
            if (n === 0) open.delete(p.id);
            else open.set(p.id, n);
          };
          ctx.signal.addEventListener("abort", release, { once: true });
          try {
            const sub = store.subscribe({
              kinds,
              after: toNumber(req.after, "after"),
              bufferSize: limits.subscriberBuffer,
              overflow: "drop-oldest",
              signal: ctx.signal,
            });
            yield* subscribeResponses(sub, {
              maxBatch: limits.maxStreamEvents,
              heartbeatMs: limits.heartbeatMs,
              includePayloads: req.includePayloads,
              head: () => store.head(),
            });
          } catch (err) {
            throw report(err);
          } finally {
            release();
          }
        },
        getHeader: guard(async (req, ctx) => {
          const p = await principal(ctx);
          const header = await store.header(req.id, { signal: ctx.signal });
          if (header && p.read && !p.read.some((k) => matchKind(k, header.kind))) return {};
          return header ? { header: storedToProto({ seq: 0, header, payload: new Uint8Array(0) }).header } : {};
        }),
        getPayload: guard(async (req, ctx) => {
          const p = await principal(ctx);
          if (p.read) throw new EventError(ErrorCode.permission_denied, `${p.id} may read some kinds only; fetch payloads with Read or Subscribe`);
          return { payload: await store.payload(req.digest, { signal: ctx.signal }) };
        }),
        read: guard(async (req, ctx) => {
          const p = await principal(ctx);
          const kinds = readable(p, req.kinds);
          const limit = Math.min(req.limit || limits.maxPageEvents, limits.maxPageEvents);
          const events = [];
          for await (const e of store.read({ after: toNumber(req.after, "after"), kinds, limit: limit + 1, signal: ctx.signal })) {
            events.push(e);
          }
          const more = events.length > limit;
          return { events: events.slice(0, limit).map((e) => storedToProto(e)), more };
        }),
        head: guard(async (_req, ctx) => {
          await principal(ctx);
          return { head: BigInt(await store.head({ signal: ctx.signal })) };
        }),
      },
      { readMaxBytes: limits.maxRequestBytes },
    );
  }

  const router = createConnectRouter({ readMaxBytes: limits.maxRequestBytes });
  routes(router);
  const byPath = new Map(router.handlers.map((h) => [h.requestPath, createFetchHandler(h)]));

  async function fetch(request: Request): Promise<Response> {
    const origin = request.headers.get("origin");
    if (request.method === "OPTIONS") {
      const h = corsHeaders(origins, origin, true);
      return new Response(null, { status: h ? 204 : 403, headers: h });
    }
    const handle = byPath.get(new URL(request.url).pathname);
    const res = handle ? await handle(request) : new Response("not found", { status: 404 });
    const h = corsHeaders(origins, origin, false);
    if (!h) return res;
    const headers = new Headers(res.headers);
    for (const [k, v] of Object.entries(h)) headers.set(k, v);
    return new Response(res.body, { status: res.status, statusText: res.statusText, headers });
  }

  return {
    routes,
    fetch,
    corsHeaders: (origin, preflight) => corsHeaders(origins, origin, preflight),
    get subscriptions() {
      return subscriptions;
    },
  };
}

/** Whether every kind matched by pattern `k` is also matched by the allowed pattern `allowed`. */
function covers(allowed: string, k: string): boolean {
  if (allowed === "*") return true;
  if (k === "*") return false;
  if (k.endsWith(".*")) return allowed.endsWith(".*") && k.startsWith(allowed.slice(0, -1));
  return matchKind(allowed, k);
}
