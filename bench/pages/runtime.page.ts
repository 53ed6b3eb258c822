// The browser side of the runtime group: runtime.commit over an IndexedDB vault against the bare
// vault commit, measured in one page with the bench harness. Node drives it through
// `globalThis.tokaBench`.
import { openIndexedDbVault } from "toka-events/adapters/indexeddb";
import { type Budget, measureAll, type Result } from "../harness.js";
import { runtimeCommitCases } from "./runtime-cases.js";

/** The functions this page exposes on `globalThis.tokaBench`. */
export interface RuntimeBenchApi {
  commitThroughput(label: string, calls: number, budget: Budget): Promise<Result[]>;
}

const api: RuntimeBenchApi = {
  async commitThroughput(label, calls, budget) {
    const { cases, close } = await runtimeCommitCases(label, (name) => openIndexedDbVault({ name }), calls);
    try {
      return await measureAll(cases, budget);
    } finally {
      await close();
    }
  },
};

(globalThis as { tokaBench?: RuntimeBenchApi }).tokaBench = api;
