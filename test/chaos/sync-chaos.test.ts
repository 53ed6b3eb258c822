// Property-based chaos for the offline-first sync engine: random schedules of commits, network
// outages, lost replies, server process restarts, client restarts mid-push and refused events,
// against a real server on loopback behind fault proxies. After each schedule everything comes
// back online and the run checks that no event was lost or duplicated anywhere (harness.ts).
//
// A failure prints fast-check's seed and path and a replay line. Replay one schedule with
//   CHAOS_SUITE=memory CHAOS_SEED=<seed> CHAOS_PATH=<path> npx vitest run test/chaos
// More runs: CHAOS_RUNS=1000. Shrink a failure to a minimal schedule: CHAOS_SHRINK=1. Every run
// also requires the server's Subscribe streams to end once the clients are gone (the leak of
// server-streams.test.ts); CHAOS_CHECK_STREAMS=0 skips that.
import fc from "fast-check";
import { afterAll, beforeAll, describe, it } from "vitest";
import { formatStats, resetStats, warmUpFetch, openPgliteHost, type PgliteHost, runSchedule, type Schedule, scheduleArb, type StoreKind, type VaultKind } from "./harness.js";

const env = process.env;
const suiteFilter = env.CHAOS_SUITE;

function params(suite: string, numRuns: number): fc.Parameters<[Schedule]> {
  const replay = env.CHAOS_SEED !== undefined && (suiteFilter === undefined || suiteFilter === suite);
  return {
    numRuns: env.CHAOS_RUNS ? Number(env.CHAOS_RUNS) : numRuns,
    // Shrinking re-runs real servers: off by default so a failure reports at once.
    endOnFailure: env.CHAOS_SHRINK !== "1",
    // A replay runs just the schedule at seed + path.
    ...(replay ? { seed: Number(env.CHAOS_SEED), path: env.CHAOS_PATH, ...(env.CHAOS_PATH ? { numRuns: 1 } : {}) } : {}),
  };
}

/** Runs the property and fails with fast-check's report plus a command that replays the schedule. */
async function check(suite: string, arb: fc.Arbitrary<Schedule>, storeKind: StoreKind, numRuns: number, pglite?: () => PgliteHost): Promise<void> {
  const started = Date.now();
  resetStats();
  let runs = 0;
  const details = await fc.check(
    fc.asyncProperty(arb, async (schedule) => {
      runs++;
      await runSchedule(schedule, storeKind, pglite?.(), { checkServerStreams: env.CHAOS_CHECK_STREAMS !== "0" });
    }),
    params(suite, numRuns),
  );
  console.log(`chaos ${suite}: ${runs} schedules in ${((Date.now() - started) / 1000).toFixed(1)} s (seed ${details.seed}); ${formatStats()}`);
  if (details.failed) {
    const replay = `CHAOS_SUITE=${suite} CHAOS_SEED=${details.seed} CHAOS_PATH=${details.counterexamplePath ?? ""} npx vitest run test/chaos`;
    const cause = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
    throw new Error(`${fc.defaultReportMessage(details)}\n\nreplay: ${replay}\n\n${cause}`);
  }
}

const runIf = (suite: string) => (suiteFilter === undefined || suiteFilter === suite ? it : it.skip);

describe("sync chaos: nothing lost, nothing duplicated", () => {
  beforeAll(warmUpFetch);

  runIf("memory")("memory server store, memory vaults: 200 schedules", { timeout: 600_000 }, async () => {
    await check("memory", scheduleArb({ vaults: fc.constant<VaultKind>("memory") }), "memory", 200);
  });

  runIf("idb")("memory server store, IndexedDB and memory vaults", { timeout: 600_000 }, async () => {
    await check("idb", scheduleArb({ vaults: fc.constantFrom<VaultKind>("idb", "memory"), maxSteps: 10 }), "memory", 30);
  });

  describe("on PGlite", () => {
    let host: PgliteHost | undefined;
    beforeAll(async () => {
      if (suiteFilter === undefined || suiteFilter === "pglite") host = await openPgliteHost();
    });
    afterAll(async () => {
      await host?.close();
    });
    runIf("pglite")("PGlite server store, IndexedDB and memory vaults", { timeout: 600_000 }, async () => {
      await check("pglite", scheduleArb({ vaults: fc.constantFrom<VaultKind>("idb", "memory"), maxSteps: 10 }), "pglite", 20, () => host!);
    });
  });
});
