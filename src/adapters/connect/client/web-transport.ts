import type { Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";

/** Options of {@link createWebTransport}. */
export interface WebTransportOptions {
  /** The server's base URL, e.g. `http://127.0.0.1:8080`. */
  baseUrl: string;
  /** `connect` (default) or `grpc-web`. */
  protocol?: "connect" | "grpc-web";
  /** Binary protobuf (default) or JSON (Connect protocol only). */
  useBinaryFormat?: boolean;
  /** The fetch to use (default: the global one, read at call time). */
  fetch?: typeof globalThis.fetch;
}

/**
 * A fetch-based transport for browsers, workers, Deno and Cloudflare Workers. Cloudflare Workers
 * reject `redirect: "error"`, which connect-web always sets; there the request is sent with
 * `redirect: "manual"` instead, so the same code runs everywhere.
 *
 * @example
 * const store = createRemoteStore({ transport: createWebTransport({ baseUrl: "http://127.0.0.1:8080" }) });
 */
export function createWebTransport(opts: WebTransportOptions): Transport {
  const base = opts.fetch;
  let refused: boolean | undefined; // probed once per transport, on first use
  const fetch: typeof globalThis.fetch = (input, init) => {
    const f = base ?? globalThis.fetch;
    if (init?.redirect === "error" && (refused ??= refusesRedirectError())) init = { ...init, redirect: "manual" };
    return f(input, init);
  };
  const common = { baseUrl: opts.baseUrl, fetch, useBinaryFormat: opts.useBinaryFormat ?? true };
  return opts.protocol === "grpc-web" ? createGrpcWebTransport(common) : createConnectTransport(common);
}

/**
 * True where a Request with `redirect: "error"` is refused (workerd throws "Invalid redirect
 * value"). Asking the runtime itself also covers Workers without `navigator`; it does no I/O.
 */
function refusesRedirectError(): boolean {
  try {
    new Request("http://localhost/", { redirect: "error" });
    return false;
  } catch {
    return true;
  }
}
