import mitt from "mitt";
import { createNanoEvents } from "nanoevents";
import { createMemoryBus, createMemoryVault, type MemoryBus } from "../src/adapters/memory/index.js";
import { createEvent, type Event, refOf, type StoredEvent, type Subscription } from "../src/core/index.js";
import { type Case, measureAll, pick, printTable, ratio } from "./harness.js";
import { drain, PushQueue, Tally } from "./push-queue.js";

const POOL = 5_000; // events committed per vault run
const EVENTS = 20_000; // events published per bus run
// Events per publish call, and how far the publisher may run ahead of its consumers: below the
// default bufferSize (1024), so drop-oldest never fires and every event is delivered.
const CHUNK = 1_000;
const FANOUT = [1, 10];

/** A chain of 256 B events, each naming the previous one as its parent, as one writer makes them. */
function chain(n: number): Event[] {
  const events: Event[] = [];
  for (let i = 0; i < n; i++) {
    const payload = crypto.getRandomValues(new Uint8Array(256));
    const prev = events[i - 1];
    events.push(createEvent({ kind: "chat.msg", payload, parents: prev ? [refOf(prev)] : [] }));
  }
  return events;
}

function batches<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function vaultCases(pool: readonly Event[]): Case[] {
  return [1, 100].map((size) => {
    const split = batches(pool, size);
    return {
      name: `vault commit, batches of ${size}`,
      ops: pool.length,
      async run() {
        // A fresh vault every run: the pool is new to it (a duplicate takes a shortcut), and the
        // log does not grow from run to run.
        const vault = createMemoryVault();
        for (const batch of split) await vault.commit(batch);
        if ((await vault.head()) !== pool.length) throw new Error("vault lost events");
      },
    };
  });
}

/** A bus subscriber's loop: any gap or control message means the bench overflowed a buffer. */
async function consumeBus(sub: Subscription, tally: Tally): Promise<void> {
  try {
    for await (const m of sub) {
      if (m.type !== "event") throw new Error(`subscriber got a ${m.type} message: the bench overflowed a buffer`);
      tally.add();
    }
  } catch (err) {
    tally.abort(err);
    throw err;
  }
}

function busCases(chunk: StoredEvent[], subs: number): Case[] {
  // Built once, so the one-event case times publish calls, not the caller's array literals.
  const singles = chunk.map((e) => [e]);
  const busCase = (name: string, publishChunk: (bus: MemoryBus) => void): Case => ({
    name,
    ops: EVENTS * subs,
    async run() {
      const bus = createMemoryBus();
      const tally = new Tally();
      const loops = Array.from({ length: subs }, () => consumeBus(bus.subscribe(), tally));
      for (let sent = CHUNK; sent <= EVENTS; sent += CHUNK) {
        publishChunk(bus);
        await tally.reach(sent * subs);
      }
      bus.close();
      await Promise.all(loops);
    },
  });
  return [
    busCase(`memory bus → ${subs}, ${CHUNK} events/publish`, (bus) => bus.publish(chunk)),
    busCase(`memory bus → ${subs}, 1 event/publish`, (bus) => {
      for (const one of singles) bus.publish(one);
    }),
    {
      name: `push queue → ${subs} (baseline)`,
      ops: EVENTS * subs,
      async run() {
        const tally = new Tally();
        const queues = Array.from({ length: subs }, () => new PushQueue<StoredEvent>());
        const loops = queues.map((q) => drain(q, tally));
        for (let sent = CHUNK; sent <= EVENTS; sent += CHUNK) {
          for (const e of chunk) for (const q of queues) q.push(e);
          await tally.reach(sent * subs);
        }
        for (const q of queues) q.end();
        await Promise.all(loops);
      },
    },
    {
      name: `nanoevents → ${subs}`,
      ops: EVENTS * subs,
      run() {
        const emitter = createNanoEvents<{ event: (e: StoredEvent) => void }>();
        let count = 0;
        for (let s = 0; s < subs; s++) emitter.on("event", () => void count++);
        for (let sent = 0; sent < EVENTS; sent += CHUNK) for (const e of chunk) emitter.emit("event", e);
        if (count !== EVENTS * subs) throw new Error("nanoevents lost events");
      },
    },
    {
      name: `mitt → ${subs}`,
      ops: EVENTS * subs,
      run() {
        const emitter = mitt<{ event: StoredEvent }>();
        let count = 0;
        for (let s = 0; s < subs; s++) emitter.on("event", () => void count++);
        for (let sent = 0; sent < EVENTS; sent += CHUNK) for (const e of chunk) emitter.emit("event", e);
        if (count !== EVENTS * subs) throw new Error("mitt lost events");
      },
    },
  ];
}

/** The memory vault's commit path and the memory bus against plain emitters and a bare queue. */
export async function runMemory(): Promise<void> {
  const pool = chain(POOL);
  printTable("memory vault: commit (256 B events, fresh vault per run)", "events", await measureAll(vaultCases(pool)));

  // Every run publishes the same chunk of objects (EVENTS / CHUNK times) to every contender.
  const chunk: StoredEvent[] = pool.slice(0, CHUNK).map((e, i) => ({ ...e, seq: i + 1 }));
  const results = await measureAll(FANOUT.flatMap((subs) => busCases(chunk, subs)));
  printTable("memory bus: publish → for-await delivery (deliveries = events × subscribers)", "deliveries", results);

  console.log();
  const bus1 = pick(results, `memory bus → 1, ${CHUNK} events/publish`);
  ratio("memory bus → 1 subscriber / 5 M events/s floor", bus1 / 5e6, 1);
  ratio("memory bus → 1 / push queue → 1", bus1 / pick(results, "push queue → 1 (baseline)"), 0.35);
  ratio(
    "memory bus → 10 / push queue → 10",
    pick(results, `memory bus → 10, ${CHUNK} events/publish`) / pick(results, "push queue → 10 (baseline)"),
  );
  for (const subs of FANOUT) {
    const bus = pick(results, `memory bus → ${subs}, ${CHUNK} events/publish`);
    ratio(`memory bus → ${subs} / nanoevents → ${subs}`, bus / pick(results, `nanoevents → ${subs}`));
    ratio(`memory bus → ${subs} / mitt → ${subs}`, bus / pick(results, `mitt → ${subs}`));
  }
}
