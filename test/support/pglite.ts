// A PGlite database for one test file: a copy of the run's template data directory.
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { inject } from "vitest";

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
