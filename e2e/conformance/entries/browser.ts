// Bundle entry for Chromium: the same module is the page script and the dedicated worker's.
// In a page it exposes `globalThis.tokaConformance`; in a worker it runs the suites when asked
// and posts the results back.
import { runAll, type TestResult, testNames } from "../runner.js";
import { registerSuites } from "../suites.js";

/** What the page exposes on `globalThis.tokaConformance`. */
export interface ConformancePageApi {
  names(): string[];
  /** Runs the suites in the page itself. */
  runInPage(): Promise<TestResult[]>;
  /** Runs the suites in `new Worker(scriptUrl, { type: "module" })` and terminates it. */
  runInWorker(scriptUrl: string): Promise<{ results: TestResult[]; isWorker: boolean }>;
}

declare const WorkerGlobalScope: (abstract new () => unknown) | undefined;
const inWorker = typeof WorkerGlobalScope === "function" && globalThis instanceof WorkerGlobalScope;

if (inWorker) {
  const scope = globalThis as unknown as { onmessage: ((e: MessageEvent) => void) | null; postMessage(m: unknown): void };
  scope.onmessage = (e) => {
    if (e.data !== "run") return;
    runAll(registerSuites).then(
      (results) => scope.postMessage({ results, isWorker: typeof (globalThis as { document?: unknown }).document === "undefined" }),
      (err: unknown) => scope.postMessage({ error: String(err) }),
    );
  };
} else {
  const api: ConformancePageApi = {
    names: () => testNames(registerSuites),
    runInPage: () => runAll(registerSuites),
    runInWorker: (scriptUrl) =>
      new Promise((resolve, reject) => {
        const worker = new Worker(scriptUrl, { type: "module" });
        const done = () => worker.terminate();
        worker.onmessage = (e: MessageEvent) => {
          done();
          if (e.data?.error) reject(new Error(`in the worker: ${e.data.error}`));
          else resolve(e.data);
        };
        worker.onerror = (e) => {
          done();
          reject(new Error(`worker error: ${e.message}`));
        };
        worker.postMessage("run");
      }),
  };
  (globalThis as { tokaConformance?: ConformancePageApi }).tokaConformance = api;
}
