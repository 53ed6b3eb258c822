// A TCP fault proxy on loopback: clients talk to it, it talks to the server. A chaos schedule
// switches it between online, offline (every open connection dropped, new ones reset at once, as
// a lost network does), lossy (requests reach the server, but a connection dies as soon as the
// server answers: the work is done and the reply lost) and stalled (every connection, open or
// new, goes silent without closing: a half-open TCP connection after a NAT timeout or a network
// handover; stalled connections stay silent after the proxy is back online, until dropped), and
// drops open connections on demand.
import * as net from "node:net";

/** What the network between one client and the server does. */
export type NetMode = "online" | "offline" | "lossy" | "stalled";

/** How a dropped connection ends: a clean FIN or a TCP reset. */
export type DropHow = "end" | "reset";

export interface FaultProxyStats {
  accepted: number;
  refused: number;
  dropped: number;
  lostReplies: number;
  stalled: number;
}

export interface FaultProxy {
  readonly port: number;
  /** `http://127.0.0.1:port`, the base URL for the client's transport. */
  readonly url: string;
  readonly mode: NetMode;
  /** Going offline drops every open connection; going lossy leaves them to die on their next reply. */
  setMode(mode: NetMode): void;
  /** Drops every open connection now; returns how many. */
  drop(how?: DropHow): number;
  /** Open client connections. */
  readonly open: number;
  readonly stats: Readonly<FaultProxyStats>;
  close(): Promise<void>;
}

interface Pair {
  client: net.Socket;
  upstream: net.Socket;
  /** Silent for good: bytes in either direction are swallowed. */
  stalled: boolean;
}

function kill(sock: net.Socket, how: DropHow): void {
  if (sock.destroyed) return;
  if (how === "reset" && typeof sock.resetAndDestroy === "function" && !sock.connecting) sock.resetAndDestroy();
  else sock.destroy();
}

/** Starts a proxy on 127.0.0.1 (a free port) in front of `target` (the port may come and go). */
export async function startFaultProxy(target: { host?: string; port: number }, log?: (msg: string) => void): Promise<FaultProxy> {
  const host = target.host ?? "127.0.0.1";
  let seq = 0;
  let mode: NetMode = "online";
  let closing = false;
  const pairs = new Set<Pair>();
  const stats: FaultProxyStats = { accepted: 0, refused: 0, dropped: 0, lostReplies: 0, stalled: 0 };

  const dropPair = (p: Pair, how: DropHow) => {
    if (!pairs.delete(p)) return;
    kill(p.client, how);
    kill(p.upstream, how);
  };

  const server = net.createServer((client) => {
    client.on("error", () => {});
    if (mode === "offline" || closing) {
      stats.refused++;
      kill(client, "reset");
      return;
    }
    stats.accepted++;
    const n = ++seq;
    const upstream = net.connect({ host, port: target.port });
    upstream.on("error", (e) => log?.(`proxy conn ${n}: upstream error ${(e as Error).message}`));
    if (log) {
      log(`proxy conn ${n}: accepted`);
      upstream.once("connect", () => log(`proxy conn ${n}: upstream connected`));
      client.on("data", (c: Buffer) => log(`proxy conn ${n}: -> ${c.length} bytes ${JSON.stringify(c.subarray(0, 40).toString("latin1"))}`));
      upstream.on("data", (c: Buffer) => log(`proxy conn ${n}: <- ${c.length} bytes ${JSON.stringify(c.subarray(0, 40).toString("latin1"))}`));
      client.once("close", () => log(`proxy conn ${n}: client side closed`));
      upstream.once("close", () => log(`proxy conn ${n}: upstream side closed`));
      client.once("end", () => log(`proxy conn ${n}: client sent FIN`));
      upstream.once("end", () => log(`proxy conn ${n}: upstream sent FIN`));
    }
    const pair: Pair = { client, upstream, stalled: mode === "stalled" };
    if (pair.stalled) stats.stalled++;
    pairs.add(pair);
    const gone = () => dropPair(pair, "end");
    client.once("close", gone);
    // A stalled connection hides the server's close from the client too: only a drop ends it.
    upstream.once("close", () => pair.stalled || gone());
    client.on("data", (chunk: Buffer) => {
      if (pair.stalled) return;
      if (!upstream.write(chunk)) client.pause();
    });
    upstream.on("drain", () => client.resume());
    upstream.on("data", (chunk: Buffer) => {
      if (pair.stalled) return;
      if (mode === "lossy") {
        // The server did the work; its answer never arrives.
        stats.lostReplies++;
        stats.dropped++;
        dropPair(pair, "reset");
        return;
      }
      if (!client.write(chunk)) upstream.pause();
    });
    client.on("drain", () => upstream.resume());
    client.once("end", () => pair.stalled || upstream.end());
    upstream.once("end", () => pair.stalled || client.end());
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as net.AddressInfo;

  function drop(how: DropHow = "reset"): number {
    const all = [...pairs];
    for (const p of all) dropPair(p, how);
    stats.dropped += all.length;
    return all.length;
  }

  return {
    port,
    url: `http://127.0.0.1:${port}`,
    get mode() {
      return mode;
    },
    setMode(next) {
      mode = next;
      if (next === "offline") drop("reset");
      if (next === "stalled") {
        for (const p of pairs) {
          if (!p.stalled) stats.stalled++;
          p.stalled = true;
        }
      }
    },
    drop,
    get open() {
      return pairs.size;
    },
    stats,
    close: () =>
      new Promise<void>((resolve) => {
        closing = true;
        drop("reset");
        server.close(() => resolve());
      }),
  };
}
