// A PGlite database for one test file: a copy of the run's template data directory.
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { afterAll, beforeAll, inject } from "vitest";
import { migrate, type SqlClient } from "../../src/adapters/postgres/index.js";

export interface TestPglite {
  db: PGlite;
  dir: string;
  close(): Promise<void>;
}

export async function openTestPglite(): Promise<TestPglite> {
  const root = mkdtempSync(join(tmpdir(), "toka-pglite-"));
  const dir = join(root, "data");
  cpSync(inject("pgliteTemplate"), dir, { recursive: true });
  const db = await PGlite.create(dir);
  return {
    db,
    dir,
    close: async () => {
      await db.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/**
 * A migrated PGlite database for the tests of the enclosing describe block: opened before them,
 * closed after. Call the returned function inside a test to get the database.
 */
export function useMigratedPglite(): () => PGlite {
  let t: TestPglite | undefined;
  beforeAll(async () => {
    t = await openTestPglite();
    await migrate(t.db);
  });
  afterAll(() => t?.close());
  return () => {
    if (!t) throw new Error("useMigratedPglite: the database opens in beforeAll; use it inside a test");
    return t.db;
  };
}

/** A client over the PGlite database `db()` (LISTEN included) that counts the queries matching `counted`. */
export function countingClient(db: () => PGlite, counted: RegExp): { client: SqlClient; count: () => number } {
  let n = 0;
  return {
    client: {
      query: (sql, params) => {
        if (counted.test(sql)) n++;
        return db().query(sql, params) as ReturnType<SqlClient["query"]>;
      },
      listen: (channel, fn) => db().listen(channel, (p) => fn(p)).then((off) => async () => off()),
    },
    count: () => n,
  };
}
