import pg from "pg";
import { afterAll, beforeAll, describe, inject, it } from "vitest";
import { useMigratedPglite } from "../../../test/support/pglite.js";
import { uuidv4 } from "../../core/index.js";
import { historyContract, orderContract, vaultContract } from "../_contract/index.js";
import { createPgClient, createPostgresStore, migrate, type SqlClient } from "./index.js";

const run = { test: (name: string, fn: () => Promise<void>) => it(name, fn) };

/** The foundation's suites, unchanged; every test gets a fresh tenant (its own seq space). */
function contracts(client: () => SqlClient, schema?: string) {
  const stores: { close(): Promise<void> }[] = [];
  afterAll(async () => {
    await Promise.all(stores.map((s) => s.close()));
  });
  const open = (opts?: { allowMissingParents?: boolean }) => {
    const s = createPostgresStore({ client: client(), schema, tenant: uuidv4(), pollMs: 200, ...opts });
    stores.push(s);
    return s;
  };
  vaultContract(run, open);
  historyContract(run, () => open());
  orderContract(run, () => open());
}

describe("postgres store on PGlite", () => {
  const db = useMigratedPglite();
  contracts(() => db());
});

describe("postgres store on a PostgreSQL server", () => {
  const pool = new pg.Pool({ connectionString: inject("pgUrl"), max: 20 });
  const client = createPgClient(pool);
  beforeAll(() => migrate(client, { schema: "contract" }));
  afterAll(() => pool.end());
  contracts(() => client, "contract");
});
