// The browser side of bench/indexeddb.ts: the IndexedDB vault against raw `idb` writes of the
// same records, measured in one page with the bench harness. Node drives it through
// `globalThis.tokaBench`; everything returned is plain data. `toka-events` imports resolve through
// the package's exports map to the built dist/ (run `npm run build`).
import { type IDBPDatabase, openDB } from "idb";
import { createEvent, type Event, type LocalVault, toHex } from "toka-events";
import { openIndexedDbVault } from "toka-events/adapters/indexeddb";
import { type Budget, type Case, measureAll, type Result } from "../harness.js";

export const PAYLOAD_BYTES = 256;

/** Latency figures in ms. */
export interface Latency {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** The functions this page exposes on `globalThis.tokaBench`. */
export interface IdbBenchApi {
  /** Vault commit vs raw idb puts for each batch size, round-robin; `prefix` names the databases. */
  commitThroughput(prefix: string, batches: number[], budget: Budget, diagnose: number[]): Promise<Result[]>;
  /** Sequential one-event commits: vault.commit and the raw one-event transaction, interleaved. */
  singleLatency(prefix: string, n: number): Promise<{ vault: Latency; raw: Latency }>;
  /** Commits `total` events in batches of `batch` into a new vault `name`, then closes it. */
  populate(name: string, total: number, batch: number): Promise<{ createMs: number; commitMs: number; head: number }>;
  /** openIndexedDbVault + head() of an existing vault, as a fresh page does it. */
  timeOpen(name: string): Promise<{ openMs: number; headMs: number; totalMs: number; head: number }>;
  userAgent(): string;
}

export function makeEvents(n: number, kind = "bench.idb"): Event[] {
  const out: Event[] = [];
  for (let i = 0; i < n; i++) out.push(createEvent({ kind, payload: crypto.getRandomValues(new Uint8Array(PAYLOAD_BYTES)) }));
  return out;
}

export function latency(samples: number[]): Latency {
  const s = [...samples].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))]!;
  return { n: s.length, p50: q(0.5), p90: q(0.9), p99: q(0.99), max: s[s.length - 1]! };
}

/**
 * A writer that hands out runs of new pool events, moving to a fresh database whenever the pool
 * is used up (so every commit stores new events, and the databases grow as a real one does).
 */
class Rotating<W> {
  private n = 0;
  private cursor = 0;
  private current: Promise<W> | undefined;
  constructor(
    private readonly prefix: string,
    private readonly poolSize: number,
    private readonly open: (name: string) => Promise<W>,
    private readonly close: (w: W) => Promise<void>,
  ) {}
  /** The writer and the pool index of `count` events new to it. */
  async take(count: number): Promise<{ w: W; at: number }> {
    if (!this.current || this.cursor + count > this.poolSize) {
      const old = this.current;
      this.current = this.open(`${this.prefix}-${this.n++}`);
      this.cursor = 0;
      if (old) await this.close(await old);
    }
    const at = this.cursor;
    this.cursor += count;
    return { w: await this.current, at };
  }
  async end(): Promise<void> {
    if (this.current) await this.close(await this.current);
    this.current = undefined;
  }
}

/** A database with the vault's exact schema (the vault creates it), written to with raw idb. */
async function rawDb(name: string): Promise<{ db: IDBPDatabase; head: number }> {
  const v = await openIndexedDbVault({ name });
  await v.close();
  return { db: await openDB(name), head: 0 };
}

/**
 * How a raw writer reads before it writes: not at all (`puts`, the baseline: it keeps the head in
 * memory); the head plus one `get` on the id index per event, as the vault does (`id gets`); or
 * the head plus one `getAll` over the id range of the batch (`range getAll`: enough to find the
 * duplicates of a batch of time-ordered UUIDv7s), both reads in parallel, then the puts.
 */
export type RawMode = "puts" | "id gets" | "range getAll";

/** The vault's records for `events`, written the way a hand-rolled store would: one transaction. */
async function rawCommit(raw: { db: IDBPDatabase; head: number }, events: Event[], mode: RawMode = "puts"): Promise<void> {
  const tx = raw.db.transaction(["events", "payloads", "meta"], "readwrite", { durability: "strict" });
  const eventStore = tx.objectStore("events");
  const payloads = tx.objectStore("payloads");
  if (mode === "id gets") {
    await Promise.all([tx.objectStore("meta").get("head"), ...events.map((e) => eventStore.index("id").get(e.header.id))]);
  } else if (mode === "range getAll") {
    let lo = events[0]!.header.id;
    let hi = lo;
    for (const e of events) {
      if (e.header.id < lo) lo = e.header.id;
      if (e.header.id > hi) hi = e.header.id;
    }
    const [, found] = await Promise.all([tx.objectStore("meta").get("head"), eventStore.index("id").getAll(IDBKeyRange.bound(lo, hi), 4 * events.length)]);
    if (found.length > 0) throw new Error("raw writer found existing ids: the pool was reused");
  }
  for (const { header: h, payload } of events) {
    void eventStore.put({
      seq: ++raw.head,
      id: h.id,
      digest: h.digest,
      parents: h.parents.map((p) => ({ id: p.id, digest: p.digest })),
      kind: h.kind,
      intent: h.intent,
      ts: h.timestamp,
    });
    void payloads.put({ digest: toHex(h.digest), payload });
  }
  void tx.objectStore("meta").put(raw.head, "head");
  await tx.done;
}

const openVault = (name: string) => openIndexedDbVault({ name });

const api: IdbBenchApi = {
  async commitThroughput(prefix, batches, budget, diagnose) {
    const pool = makeEvents(20_000);
    const cases: Case[] = [];
    const rotations: Rotating<unknown>[] = [];
    for (const batch of batches) {
      const calls = batch === 1 ? 10 : 1;
      const ops = batch * calls;
      const vaults = new Rotating<LocalVault>(`${prefix}-vault-${batch}`, pool.length, openVault, (v) => v.close());
      rotations.push(vaults as Rotating<unknown>);
      cases.push({
        name: `vault.commit, batch ${batch}`,
        ops,
        async run() {
          let { w, at } = await vaults.take(ops);
          for (let c = 0; c < calls; c++) {
            const r = await w.commit(pool.slice(at, (at += batch)));
            if (r[0]!.status !== "stored") throw new Error("the pool was reused");
          }
        },
      });
      const modes: RawMode[] = diagnose.includes(batch) ? ["puts", "id gets", "range getAll"] : ["puts"];
      for (const mode of modes) {
        const raws = new Rotating(`${prefix}-raw-${mode.replace(" ", "-")}-${batch}`, pool.length, rawDb, async (r) => r.db.close());
        rotations.push(raws as Rotating<unknown>);
        cases.push({
          name: mode === "puts" ? `raw idb puts, batch ${batch}` : `raw idb ${mode} + puts, batch ${batch}`,
          ops,
          async run() {
            let { w, at } = await raws.take(ops);
            for (let c = 0; c < calls; c++) await rawCommit(w, pool.slice(at, (at += batch)), mode);
          },
        });
      }
    }
    try {
      return await measureAll(cases, budget);
    } finally {
      for (const r of rotations) await r.end();
    }
  },

  async singleLatency(prefix, n) {
    const events = makeEvents(2 * n + 40);
    const vault = await openVault(`${prefix}-lat-vault`);
    const raw = await rawDb(`${prefix}-lat-raw`);
    const v: number[] = [];
    const r: number[] = [];
    try {
      let i = 0;
      for (let k = 0; k < 20; k++) {
        await vault.commit([events[i++]!]);
        await rawCommit(raw, [events[i++]!]);
      }
      for (let k = 0; k < n; k++) {
        let t = performance.now();
        await vault.commit([events[i++]!]);
        v.push(performance.now() - t);
        t = performance.now();
        await rawCommit(raw, [events[i++]!]);
        r.push(performance.now() - t);
      }
    } finally {
      await vault.close();
      raw.db.close();
    }
    return { vault: latency(v), raw: latency(r) };
  },

  async populate(name, total, batch) {
    let createMs = 0;
    let commitMs = 0;
    const vault = await openVault(name);
    try {
      for (let done = 0; done < total; done += batch) {
        const t0 = performance.now();
        const events = makeEvents(Math.min(batch, total - done), "bench.open");
        const t1 = performance.now();
        await vault.commit(events);
        createMs += t1 - t0;
        commitMs += performance.now() - t1;
      }
      return { createMs, commitMs, head: await vault.head() };
    } finally {
      await vault.close();
    }
  },

  async timeOpen(name) {
    const t0 = performance.now();
    const vault = await openVault(name);
    const t1 = performance.now();
    const head = await vault.head();
    const t2 = performance.now();
    await vault.close();
    return { openMs: t1 - t0, headMs: t2 - t1, totalMs: t2 - t0, head };
  },

  userAgent: () => navigator.userAgent,
};

(globalThis as { tokaBench?: IdbBenchApi }).tokaBench = api;
