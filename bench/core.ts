import { blake3 as nobleBlake3 } from "@noble/hashes/blake3.js";
import { blake3 } from "../src/core/blake3.js";
import { createEvent, digestMaterial, equalBytes, type EventRef, refOf, verifyEvent } from "../src/core/index.js";
import { type Case, measureAll, pick, printTable, ratio } from "./harness.js";

const SIZES = [
  { label: "256 B", bytes: 256 },
  { label: "4 KiB", bytes: 4096 },
];
// Calls per `run`: enough that the harness's per-call bookkeeping is noise next to the work.
const CALLS = 200;

interface SizeCases {
  label: string;
  create: Case;
  hash: Case;
  noble: Case;
  verify: Case;
}

/** Two parents, as a merge of two branches names them. */
function twoParents(): EventRef[] {
  const payload = new Uint8Array(8);
  return [createEvent({ kind: "chat.msg", payload }), createEvent({ kind: "chat.msg", payload })].map(refOf);
}

function sizeCases(label: string, bytes: number, parents: EventRef[]): SizeCases {
  const payload = crypto.getRandomValues(new Uint8Array(bytes));
  const event = createEvent({ kind: "chat.msg", payload, parents });
  // The raw-hash baseline hashes this event's exact digest material (same kind, parents and
  // payload length as every event the createEvent case makes), checked against its digest so the
  // baseline cannot drift from what createEvent really hashes.
  const material = digestMaterial(event.header, event.payload);
  if (!equalBytes(blake3(material), event.header.digest)) throw new Error("digestMaterial does not hash to the event's digest");
  return {
    label,
    create: {
      // Default id (a new UUIDv7) and timestamp: what an app pays per event, not a best case.
      name: `createEvent ${label}, 2 parents`,
      ops: CALLS,
      run() {
        for (let i = 0; i < CALLS; i++) createEvent({ kind: "chat.msg", payload, parents });
      },
    },
    hash: {
      name: `blake3 raw, ${material.length} B (${label} event's material)`,
      ops: CALLS,
      run() {
        for (let i = 0; i < CALLS; i++) blake3(material);
      },
    },
    noble: {
      name: `@noble/hashes blake3, ${material.length} B`,
      ops: CALLS,
      run() {
        for (let i = 0; i < CALLS; i++) nobleBlake3(material);
      },
    },
    verify: {
      name: `verifyEvent ${label}, 2 parents`,
      ops: CALLS,
      run() {
        // The check doubles as a sink: the result is used, and a broken verify cannot pass as fast.
        for (let i = 0; i < CALLS; i++) if (!verifyEvent(event)) throw new Error("event does not verify");
      },
    },
  };
}

/**
 * Event creation and verification against the BLAKE3 floor they are built on (the core's own
 * portable BLAKE3, the default hasher), and that BLAKE3 against @noble/hashes'.
 */
export async function runCore(): Promise<void> {
  const parents = twoParents();
  const sizes = SIZES.map(({ label, bytes }) => sizeCases(label, bytes, parents));
  const results = await measureAll(sizes.flatMap((s) => [s.create, s.hash, s.noble, s.verify]));
  printTable("core: createEvent / verifyEvent vs raw BLAKE3", "ops", results);
  console.log();
  for (const s of sizes) {
    const hash = pick(results, s.hash.name);
    ratio(`createEvent ${s.label} / raw blake3 of its digest material`, pick(results, s.create.name) / hash, 0.8);
    ratio(`verifyEvent ${s.label} / raw blake3 of its digest material`, pick(results, s.verify.name) / hash);
    ratio(`core's portable blake3 / @noble/hashes, ${s.label} event's material`, hash / pick(results, s.noble.name));
  }
}
