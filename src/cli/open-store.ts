import { createEventStore, type EventStore } from "../core/index.js";
import { createMemoryBus, createMemoryVault } from "../adapters/memory/index.js";
import { createPgClient, createPostgresStore, migrate } from "../adapters/postgres/index.js";

/** The default `--store`: PGlite (Postgres in WASM) in a data directory, created on first start. */
export const DEFAULT_STORE = "pglite:./toka-data";

/** An open store and how to release what it holds. */
export interface OpenStore {
  store: EventStore;
  /** What the log line shows: the spec without any password. */
  description: string;
  close(): Promise<void>;
}

/**
 * Opens the store a `--store` spec names: `memory`, `pglite:<dir>` or a `postgres://` URL. The
 * Postgres-backed ones are migrated first. `onError` sees background errors (listen, poll).
 */
export async function openStore(spec: string, onError: (err: unknown) => void): Promise<OpenStore> {
  if (spec === "memory") {
    const store = createEventStore({ vault: createMemoryVault(), bus: createMemoryBus() });
    return { store, description: "memory", close: () => store.close() };
  }
  if (spec.startsWith("pglite:")) {
    const dir = spec.slice("pglite:".length);
    if (!dir) throw new Error("--store pglite:<dir> needs a data directory");
    const { PGlite } = await import("@electric-sql/pglite");
    const db = await PGlite.create(dir);
    await migrate(db);
    const store = createPostgresStore({ client: db, onError });
    return {
      store,
      description: `pglite (${dir})`,
      close: async () => {
        await store.close();
        await db.close();
      },
    };
  }
  if (/^postgres(ql)?:\/\//.test(spec)) {
    const { default: pg } = await import("pg");
    const pool = new pg.Pool({ connectionString: spec });
    pool.on("error", onError); // an idle client's connection dropped: the pool replaces it
    const client = createPgClient(pool);
    await migrate(client);
    const store = createPostgresStore({ client, onError });
    const url = new URL(spec);
    url.password = url.password ? "***" : "";
    return {
      store,
      description: `postgres (${url.toString()})`,
      close: async () => {
        await store.close();
        await pool.end();
      },
    };
  }
  throw new Error(`unknown store "${spec}" (expected: memory, pglite:<dir>, postgres://…)`);
}
