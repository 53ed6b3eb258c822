// A test runner small enough to ship inside a worker or a page: collects what a suite registers
// on a ContractRunner, then runs the tests one at a time, each with a deadline, and reports plain
// data (it crosses postMessage, Playwright and HTTP).
import type { ContractRunner } from "../../src/adapters/_contract/index.js";

/** The outcome of one test. */
export interface TestResult {
  name: string;
  ok: boolean;
  /** `Name (code): message` of what the test threw. */
  error?: string;
  ms: number;
}

/** Registers suites on a runner, e.g. `registerSuites`. */
export type Register = (run: ContractRunner) => void;

/** The tests `register` defines, by name, in registration order; a duplicate name throws. */
export function collectTests(register: Register): Map<string, () => Promise<void>> {
  const tests = new Map<string, () => Promise<void>>();
  register({
    test(name, fn) {
      if (tests.has(name)) throw new Error(`duplicate test name: ${name}`);
      tests.set(name, fn);
    },
  });
  return tests;
}

/** The names of the tests `register` defines (the suites only open stores when a test runs). */
export function testNames(register: Register): string[] {
  return [...collectTests(register).keys()];
}

/** A runner that registers on `run` with `prefix` before every name. */
export function prefixed(run: ContractRunner, prefix: string): ContractRunner {
  return { test: (name, fn) => run.test(`${prefix}${name}`, fn) };
}

/** `p`, or a rejection naming `what` after `ms`: a hung test fails instead of stalling the run. */
export function deadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** One line for a thrown value, with the EventError code when there is one. */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return `${err.name}${code === undefined ? "" : ` (${String(code)})`}: ${err.message}`;
  }
  return String(err);
}

/** Runs every test `register` defines, one after another, each within `timeoutMs`. */
export async function runAll(register: Register, timeoutMs = 20_000): Promise<TestResult[]> {
  const results: TestResult[] = [];
  for (const [name, fn] of collectTests(register)) {
    const started = Date.now();
    try {
      await deadline(fn(), timeoutMs, name);
      results.push({ name, ok: true, ms: Date.now() - started });
    } catch (err) {
      results.push({ name, ok: false, error: describeError(err), ms: Date.now() - started });
    }
  }
  return results;
}
