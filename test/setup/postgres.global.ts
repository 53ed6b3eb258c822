// One PostgreSQL server for the whole test run (started once: ~2 s), handed to tests as `pgUrl`.
import type { TestProject } from "vitest/node";
import { startPostgres } from "../support/postgres-server.js";

declare module "vitest" {
  export interface ProvidedContext {
    pgUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await startPostgres();
  project.provide("pgUrl", server.url);
  return () => server.stop();
}
