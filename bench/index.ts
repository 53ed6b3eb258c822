/**
 * `npm run bench [-- group...]`: runs the bench groups in order (all of them without arguments)
 * and prints rates and target ratios measured in this one run. Missed targets are printed, not
 * fatal: rates depend on the machine, so only an unknown group name sets a failing exit code.
 */
import { cpus } from "node:os";
import { runConnect } from "./connect.js";
import { runCore } from "./core.js";
import { DEFAULT_BUDGET } from "./harness.js";
import { runIndexedDb } from "./indexeddb.js";
import { runMemory } from "./memory.js";
import { runPostgres } from "./postgres.js";
import { runRuntime } from "./runtime.js";

const GROUPS: Record<string, () => Promise<void>> = {
  core: runCore,
  memory: runMemory,
  connect: runConnect,
  postgres: runPostgres,
  indexeddb: runIndexedDb,
  runtime: runRuntime,
};

const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !(name in GROUPS));
if (unknown.length > 0) {
  console.error(`unknown bench group ${unknown.join(", ")}; groups: ${Object.keys(GROUPS).join(", ")}`);
  process.exit(2);
}

const { warmupMs, roundMs, rounds } = DEFAULT_BUDGET;
console.log(`# toka-events bench — ${new Date().toISOString()}`);
console.log(`node ${process.version}, ${process.platform}/${process.arch}, ${cpus()[0]?.model ?? "unknown cpu"} × ${cpus().length}`);
console.log(`per case: ${warmupMs} ms warm-up, then the median of ${rounds} rounds of ${roundMs} ms; a group's cases take turns each round`);

for (const [name, run] of Object.entries(GROUPS)) {
  if (wanted.length === 0 || wanted.includes(name)) await run();
}
