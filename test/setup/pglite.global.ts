// PGlite's first start in a new data directory takes seconds (initdb in WASM); reopening one takes
// well under one. This makes one data directory per test run; tests open copies of it.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    pgliteTemplate: string;
  }
}

export default async function setup(project: TestProject): Promise<() => void> {
  const root = mkdtempSync(join(tmpdir(), "toka-pglite-"));
  const dir = join(root, "template");
  const db = await PGlite.create(dir);
  await db.close();
  project.provide("pgliteTemplate", dir);
  return () => rmSync(root, { recursive: true, force: true });
}
