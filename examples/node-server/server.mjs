// The event store server configured like production: PostgreSQL from DATABASE_URL, PORT and HOST
// from the environment, one JSON log line per event, clean shutdown on SIGTERM and SIGINT.
//
//   DATABASE_URL=postgres://user:pass@localhost:5432/toka PORT=8080 node examples/node-server/server.mjs
import pg from "pg";
import { startNodeServer } from "toka-events/adapters/connect/node";
import { createEventStoreHandler } from "toka-events/adapters/connect/server";
import { createPgClient, createPostgresStore, migrate, SCHEMA_VERSION } from "toka-events/adapters/postgres";

/** One JSON object per line on stdout: what log collectors (Loki, CloudWatch, Datadog…) ingest. */
function log(level, msg, fields = {}) {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields })}\n`);
}
const errorFields = (err) =>
  err instanceof Error ? { error: err.message, code: err.code, stack: err.stack } : { error: String(err) };

/** The connection string without its password, for logs. */
function redact(url) {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(unparseable DATABASE_URL)";
  }
}

const env = process.env;
if (!env.DATABASE_URL) {
  log("fatal", "DATABASE_URL is not set (e.g. postgres://user:pass@localhost:5432/toka)");
  process.exit(2);
}
const port = Number(env.PORT ?? 8080);
const host = env.HOST ?? "127.0.0.1";
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  log("fatal", "PORT must be an integer in 0..65535", { port: env.PORT });
  process.exit(2);
}
/** Browser origins allowed to call, comma-separated; every origin when unset. */
const cors = env.CORS_ORIGINS ? env.CORS_ORIGINS.split(",").map((o) => o.trim()).filter(Boolean) : "*";
/** Seconds to wait for a clean shutdown before exiting anyway. */
const shutdownTimeoutMs = Number(env.SHUTDOWN_TIMEOUT_S ?? 10) * 1000;

process.on("unhandledRejection", (err) => log("error", "unhandled rejection", errorFields(err)));
process.on("uncaughtException", (err) => {
  log("fatal", "uncaught exception", errorFields(err));
  process.exit(1);
});

// Signals are handled from the start: an orchestrator may stop us while we are still migrating.
let shutdown = (signal) => {
  log("info", "stopped before serving", { signal });
  process.exit(0);
};
for (const signal of ["SIGTERM", "SIGINT"]) process.on(signal, () => shutdown(signal));

const pool = new pg.Pool({ connectionString: env.DATABASE_URL, max: Number(env.PG_POOL_MAX ?? 10) });
// An idle connection dropped (database restart, failover): the pool replaces it on next use.
pool.on("error", (err) => log("warn", "idle database connection failed", errorFields(err)));
const client = createPgClient(pool);

log("info", "starting", { database: redact(env.DATABASE_URL), host, port, node: process.version });
try {
  await migrate(client); // versioned and idempotent; several servers starting together migrate once
} catch (err) {
  log("fatal", "could not migrate the database", errorFields(err));
  await pool.end().catch(() => {});
  process.exit(1);
}
log("info", "database ready", { schemaVersion: SCHEMA_VERSION });

const store = createPostgresStore({
  client,
  // LISTEN or poll failures: subscribers keep their cursor and catch up once the database is back.
  onError: (err) => log("warn", "store background error", errorFields(err)),
});
const handler = createEventStoreHandler({
  store,
  cors,
  onError: (err) => log("error", "internal error", errorFields(err)),
});
const server = await startNodeServer({ handler, host, port });
log("info", "listening", { url: server.url, cors, protocols: ["connect", "grpc-web", "grpc"] });

shutdown = async (signal) => {
  shutdown = (again) => {
    log("warn", "second signal: exiting now", { signal: again });
    process.exit(1);
  };
  log("info", "shutting down", { signal, openSubscriptions: handler.subscriptions });
  const timer = setTimeout(() => {
    log("error", "shutdown timed out", { afterMs: shutdownTimeoutMs });
    process.exit(1);
  }, shutdownTimeoutMs);
  timer.unref();
  try {
    await server.close(); // open streams end with `unavailable`: clients reconnect elsewhere
    await store.close();
    await pool.end();
    log("info", "stopped");
    process.exit(0);
  } catch (err) {
    log("error", "unclean shutdown", errorFields(err));
    process.exit(1);
  }
};
