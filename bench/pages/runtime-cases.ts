// runtime.commit against the bare vault commit of a createEvent-built event, over any LocalVault.
// Shared by the runtime group in Node (memory vault) and its page in Chromium (IndexedDB vault);
// both import the built package by name, as an app does.
import { createEvent, type LocalVault } from "toka-events";
import { createRemoteStore, createWebTransport } from "toka-events/adapters/connect/client";
import { createEventRuntime, type EventRuntime } from "toka-events/runtime";
import type { Case } from "../harness.js";

export const PAYLOAD_BYTES = 256;
/** A remote nobody serves (the fetch spec's "bad port" 9: every call fails at once, as offline). */
export const OFFLINE_URL = "http://127.0.0.1:9";

export const runtimeName = (label: string, outbox: boolean) =>
  `${label}: runtime.commit${outbox ? ", remote offline (outbox)" : ", local only"}`;
export const bareName = (label: string, outbox: boolean) =>
  `${label}: vault.commit([createEvent(…)]${outbox ? ", { outbox: true }" : ""})`;

/**
 * Four cases, each on its own vault from `openVault`, committing `calls` one-event commits per
 * run with the same 256 B payload (a new event every time: a new id):
 * - runtime.commit with no remote (local only) vs vault.commit([createEvent(...)]);
 * - runtime.commit with an unreachable remote, so each commit also enqueues its outbox entry, vs
 *   vault.commit([createEvent(...)], { outbox: true }).
 */
export async function runtimeCommitCases(
  label: string,
  openVault: (name: string) => Promise<LocalVault>,
  calls: number,
): Promise<{ cases: Case[]; close(): Promise<void> }> {
  const payload = crypto.getRandomValues(new Uint8Array(PAYLOAD_BYTES));
  const vaults: LocalVault[] = [];
  const runtimes: EventRuntime[] = [];
  const vault = async (name: string) => {
    const v = await openVault(`${name}-${Date.now()}`);
    vaults.push(v);
    return v;
  };
  const cases: Case[] = [];
  for (const outbox of [false, true]) {
    const remote = outbox ? createRemoteStore({ transport: createWebTransport({ baseUrl: OFFLINE_URL }) }) : undefined;
    const runtime = createEventRuntime({ vault: await vault(`rt-${outbox}`), remote, retry: { baseMs: 1000, maxMs: 5000 } });
    runtimes.push(runtime);
    const bare = await vault(`bare-${outbox}`);
    cases.push({
      name: runtimeName(label, outbox),
      ops: calls,
      async run() {
        for (let i = 0; i < calls; i++) await runtime.commit("bench.runtime", payload);
      },
    });
    const opts = outbox ? { outbox: true } : undefined;
    cases.push({
      name: bareName(label, outbox),
      ops: calls,
      async run() {
        for (let i = 0; i < calls; i++) {
          const [r] = await bare.commit([createEvent({ kind: "bench.runtime", payload })], opts);
          if (r!.status !== "stored") throw new Error("bare commit stored nothing");
        }
      },
    });
  }
  return {
    cases,
    async close() {
      await Promise.all(runtimes.map((r) => r.close()));
      await Promise.all(vaults.map((v) => v.close()));
    },
  };
}
