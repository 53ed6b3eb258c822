import * as http from "node:http";
import * as http2 from "node:http2";
import { setMaxListeners } from "node:events";
import * as net from "node:net";
import { Duplex } from "node:stream";
import { Code, ConnectError } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { EventStoreHandler } from "../server/index.js";

/** Options of {@link startNodeServer}. */
export interface NodeServerOptions {
  handler: EventStoreHandler;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 8080; 0 picks a free port. */
  port?: number;
  /** Accept and send gzip/brotli (default false: payloads rarely compress, the CPU is better spent). */
  compression?: boolean;
}

/** A running server. */
export interface NodeServer {
  /** `http://host:port`: HTTP/1.1 (Connect, gRPC-web) and h2c (gRPC, Connect) on the same port. */
  readonly url: string;
  readonly port: number;
  /** Ends open streams, sessions and connections, then stops listening. */
  close(): Promise<void>;
}

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

/**
 * Serves an {@link EventStoreHandler} on Node over HTTP/1.1 and cleartext HTTP/2 (h2c, prior
 * knowledge) on one port, with CORS for browsers on other origins. Node's own h2c server
 * refuses HTTP/1.1, so each connection is routed by its first bytes.
 *
 * @example
 * const server = await startNodeServer({ handler, port: 8080 });
 * console.log(`listening on ${server.url}`);
 */
export async function startNodeServer(opts: NodeServerOptions): Promise<NodeServer> {
  const { handler } = opts;
  // Aborted first on close: open streams end with "unavailable", which clients retry.
  const shutdown = new AbortController();
  setMaxListeners(0, shutdown.signal); // Connect adds one listener per request in flight
  // No compression by default: event payloads are mostly incompressible, and gzip on every
  // Subscribe page halves the stream rate; `compression: true` turns it on for slow links.
  const connect = connectNodeAdapter({
    routes: handler.routes,
    shutdownSignal: shutdown.signal,
    ...(opts.compression ? {} : { acceptCompression: [] }),
  });
  const serve = (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse) => {
    const origin = typeof req.headers.origin === "string" ? req.headers.origin : null;
    const preflight = req.method === "OPTIONS";
    const cors = handler.corsHeaders(origin, preflight);
    if (cors) for (const [k, v] of Object.entries(cors)) res.setHeader(k, v);
    if (preflight) {
      res.writeHead(cors ? 204 : 403).end();
      return;
    }
    connect(req, res);
  };
  const h1 = http.createServer(serve);
  const h2 = http2.createServer(serve);
  const sessions = new Set<http2.ServerHttp2Session>();
  h2.on("session", (s) => {
    sessions.add(s);
    s.once("close", () => sessions.delete(s));
  });
  const sockets = new Set<net.Socket>();
  // Nagle's algorithm against delayed ACKs costs ~40 ms per exchange; http2 cannot set this
  // itself on the replay stream it gets.
  const server = net.createServer({ noDelay: true }, (sock) => {
    sockets.add(sock);
    sock.once("close", () => sockets.delete(sock));
    let head = Buffer.alloc(0);
    const route = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const n = Math.min(head.length, PREFACE.length);
      const isH2 = head.subarray(0, n).equals(PREFACE.subarray(0, n));
      if (isH2 && n < PREFACE.length) return; // too short to tell
      sock.off("data", route);
      sock.pause();
      if (isH2) {
        // The HTTP/2 server reads the socket's native handle and would miss bytes already read.
        h2.emit("connection", replay(sock, head));
      } else {
        sock.unshift(head);
        h1.emit("connection", sock);
        sock.resume();
      }
    };
    sock.on("data", route);
    sock.on("error", () => sock.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 8080, opts.host ?? "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port, address } = server.address() as net.AddressInfo;
  const host = address.includes(":") ? `[${address}]` : address;
  return {
    url: `http://${host}:${port}`,
    port,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      shutdown.abort(new ConnectError("the server is shutting down", Code.Unavailable));
      // A short grace period for the streams to send their end before the connections go.
      for (let waited = 0; handler.subscriptions > 0 && waited < 1000; waited += 10) {
        await new Promise((r) => setTimeout(r, 10));
      }
      for (const s of sessions) s.close();
      h1.closeAllConnections();
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}

/** A stream that yields `head` and then the rest of `sock`, writing through to `sock`. */
function replay(sock: net.Socket, head: Buffer): Duplex {
  const d = new Duplex({
    read: () => void sock.resume(),
    write: (chunk, enc, cb) => void sock.write(chunk, enc, cb),
    final: (cb) => void sock.end(cb),
    destroy: (err, cb) => {
      sock.destroy(err ?? undefined);
      cb(err);
    },
  });
  d.push(head);
  sock.on("data", (c: Buffer) => {
    if (!d.push(c)) sock.pause();
  });
  sock.once("end", () => d.push(null));
  sock.once("close", () => d.destroy());
  return d;
}
