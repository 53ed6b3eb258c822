// The browser side of the contract part of indexeddb.test.ts: a tiny ContractRunner that registers
// the vault, local vault (sync state), bus and catch-up suites against Chromium's own IndexedDB
// and BroadcastChannel, and runs one test at a time when Node asks. The suites are test-only (not published), so they are
// bundled from src/adapters/_contract; everything else comes from the package by name (dist/).
import { createEventStore, uuidv4 } from "toka-events";
import { createBroadcastChannelBus } from "toka-events/adapters/broadcast-channel";
import { openIndexedDbVault } from "toka-events/adapters/indexeddb";
import { busContract, type ContractRunner, historyContract, localVaultContract, vaultContract } from "../../../src/adapters/_contract/index.js";

/** The outcome of one contract test, as plain data for Playwright. */
export interface ContractResult {
  name: string;
  ok: boolean;
  error?: string;
  ms: number;
}

/** The functions this page exposes on `globalThis.tokaContract`. */
export interface ContractPageApi {
  /** Every registered test name, in registration order. */
  names(): string[];
  /** Runs the test called `name`; a test that neither passes nor fails within `timeoutMs` fails. */
  run(name: string, timeoutMs: number): Promise<ContractResult>;
}

const tests = new Map<string, () => Promise<void>>();

const runner: ContractRunner = {
  test(name, fn) {
    if (tests.has(name)) throw new Error(`duplicate contract test name: ${name}`);
    tests.set(name, fn);
  },
};

/** Registers the suites (Node registers the same suites by name to make one `it` per test). */
function registerSuites(run: ContractRunner): void {
  vaultContract(run, (opts) => openIndexedDbVault({ name: `contract-${uuidv4()}`, ...opts }));
  localVaultContract(run, () => openIndexedDbVault({ name: `contract-${uuidv4()}` }));
  busContract(run, () => {
    const bus = createBroadcastChannelBus({ name: `contract-${uuidv4()}` });
    return { bus, close: () => bus.close() };
  });
  historyContract(run, async () => {
    const name = `contract-${uuidv4()}`;
    const vault = await openIndexedDbVault({ name });
    const bus = createBroadcastChannelBus({ name });
    const store = createEventStore({ vault, bus });
    return {
      commit: (events) => store.commit(events),
      subscribe: (opts) => store.subscribe(opts),
      async close() {
        bus.close();
        await vault.close();
      },
    };
  });
}

function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return `${err.name}${code === undefined ? "" : ` (${String(code)})`}: ${err.message}`;
  }
  return String(err);
}

const api: ContractPageApi = {
  names: () => [...tests.keys()],
  async run(name, timeoutMs) {
    const fn = tests.get(name);
    const started = performance.now();
    if (!fn) return { name, ok: false, error: "no such test in the page", ms: 0 };
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([fn(), late]);
      return { name, ok: true, ms: Math.round(performance.now() - started) };
    } catch (err) {
      return { name, ok: false, error: describeError(err), ms: Math.round(performance.now() - started) };
    } finally {
      clearTimeout(timer);
    }
  },
};

registerSuites(runner);
(globalThis as { tokaContract?: ContractPageApi }).tokaContract = api;
