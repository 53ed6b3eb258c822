import { cors } from "@connectrpc/connect";

/** Which browser origins may call the server: `"*"` (the default) or a list of exact origins. */
export type CorsOrigins = "*" | readonly string[];

/**
 * CORS response headers for a request from `origin`, or undefined when that origin is not
 * allowed. Bearer tokens (not cookies) authenticate, so `"*"` exposes nothing ambient.
 */
export function corsHeaders(origins: CorsOrigins, origin: string | null, preflight: boolean): Record<string, string> | undefined {
  if (origin === null) return undefined;
  if (origins !== "*" && !origins.includes(origin)) return undefined;
  const h: Record<string, string> = {
    "access-control-allow-origin": origins === "*" ? "*" : origin,
    "access-control-expose-headers": [...cors.exposedHeaders].join(", "),
  };
  if (origins !== "*") h["vary"] = "Origin";
  if (preflight) {
    h["access-control-allow-methods"] = [...cors.allowedMethods].join(", ");
    h["access-control-allow-headers"] = [...cors.allowedHeaders, "Authorization"].join(", ");
    h["access-control-max-age"] = "7200";
  }
  return h;
}
