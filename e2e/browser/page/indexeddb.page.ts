// The browser side of indexeddb.test.ts: an IndexedDB vault, a BroadcastChannel bus and a Web Locks
// leader in a real tab. Node drives it through `globalThis.toka`; everything returned is plain data
// (hex, strings, numbers) because it crosses Playwright's serialization. Every import goes through
// the package's exports map to the built dist/ (run `npm run build`).
import {
  type BusMessage,
  createEvent,
  createEventStore,
  type Event,
  EventError,
  type EventStore,
  type StoredEvent,
  type Subscription,
  toHex,
  uuidv4,
  type Vault,
} from "toka-events";
import { type BroadcastChannelBus, createBroadcastChannelBus, createTabLeader, type TabLeader } from "toka-events/adapters/broadcast-channel";
import { openIndexedDbVault } from "toka-events/adapters/indexeddb";

/** A stored event as the page saw it. */
export interface SeenEvent {
  seq: number;
  id: string;
  kind: string;
  intent: string;
  timestamp: number;
  parents: { id: string; digest: string }[];
  digest: string;
  /** Hex. */
  payload: string;
}

/** A failed call as the page saw it: `isEventError` proves the class, not just the shape. */
export interface SeenError {
  isEventError: boolean;
  name: string;
  code: string;
  message: string;
}

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: SeenError };

/** A bus message, compactly. */
export type SeenMessage = { type: "event"; seq: number; id: string; origin: string } | { type: "caught-up"; seq: number } | { type: "gap"; from: number; to: number };

/** What one tab is doing in the two-tab test. */
export interface TabState {
  leader: boolean;
  /** `Date.now()` when this tab last became leader, or null. */
  leaderSince: number | null;
  messages: SeenMessage[];
  done: boolean;
  error: string | null;
}

/** The functions this page exposes on `globalThis.toka`. */
export interface PageApi {
  /** Commits a small family of events (roots, children, a grandchild) in three calls; closes the vault. */
  commitFamily(db: string): Promise<{ results: { id: string; seq: number; status: string }[]; head: number }>;
  /** Everything in `db` through read(), and each event again through header() and payload(). */
  readAll(db: string): Promise<{ head: number; read: SeenEvent[]; lookedUp: SeenEvent[] }>;

  /** Opens vault + bus + leader as one tab of the app and subscribes with history from 0. */
  startTab(name: string, tab: string): Promise<void>;
  /** Commits `batches` batches of `size` events (kind `tab.<tab>`), publishing after each commit. */
  commitBatches(batches: number, size: number): Promise<number[]>;
  tabState(): TabState;
  /** The (seq, id) of every event in the shared vault. */
  vaultLog(): Promise<{ seq: number; id: string }[]>;
  /** Resolves with this tab's `leaderSince` once it leads; fails after `timeoutMs`. */
  waitLeader(timeoutMs: number): Promise<number>;

  /** Opens a vault kept on the page for the following calls. */
  openVault(db: string): Promise<void>;
  commit(n: number): Promise<Outcome<number[]>>;
  /** Starts committing `n` events in one batch and returns once its transaction is running. */
  startCommit(n: number): Promise<void>;
  /** The outcome of the commit {@link PageApi.startCommit} started. */
  finishCommit(): Promise<Outcome<number[]>>;
  head(): Promise<Outcome<number>>;
  closeVault(): Promise<void>;

  /** Commits `total` small events in batches of `batchSize` through one vault, then closes it. */
  populate(db: string, total: number, batchSize: number): Promise<{ ms: number; createMs: number; commitMs: number; head: number }>;
  /** Times openIndexedDbVault and the first head() of a fresh page, and a read at the end of the log. */
  timeOpen(db: string): Promise<{ openMs: number; headMs: number; totalMs: number; head: number; tailReadMs: number; tail: number[] }>;
}

const utf8 = new TextEncoder();

function seen({ seq, header, payload }: StoredEvent): SeenEvent {
  return {
    seq,
    id: header.id,
    kind: header.kind,
    intent: header.intent,
    timestamp: header.timestamp,
    parents: header.parents.map((p) => ({ id: p.id, digest: toHex(p.digest) })),
    digest: toHex(header.digest),
    payload: toHex(payload),
  };
}

function seenError(err: unknown): SeenError {
  const e = err as { name?: unknown; code?: unknown; message?: unknown };
  return { isEventError: err instanceof EventError, name: String(e?.name), code: String(e?.code), message: String(e?.message) };
}

async function outcome<T>(fn: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (err) {
    return { ok: false, error: seenError(err) };
  }
}

async function drain<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

function brief(m: BusMessage): SeenMessage {
  if (m.type === "event") return { type: "event", seq: m.event.seq, id: m.event.header.id, origin: m.event.header.kind };
  return m.type === "gap" ? { type: "gap", from: m.from, to: m.to } : { type: "caught-up", seq: m.seq };
}

// One tab of the app (two-tab test).
let tab: { name: string; vault: Vault; bus: BroadcastChannelBus; store: EventStore; leader: TabLeader; sub: Subscription } | undefined;
const state: TabState = { leader: false, leaderSince: null, messages: [], done: false, error: null };

// A vault kept open across calls, and a commit left running (clear-storage test).
let kept: Vault | undefined;
let running: Promise<Outcome<number[]>> | undefined;

const clearEvents = (n: number) => Array.from({ length: n }, (_, i) => createEvent({ kind: "clear.test", payload: utf8.encode(`event ${i}`) }));

const api: PageApi = {
  async commitFamily(db) {
    const vault = await openIndexedDbVault({ name: db });
    try {
      const roots = [0, 1, 2].map((i) => createEvent({ kind: "persist.root", payload: utf8.encode(`root ${i}`), intent: uuidv4() }));
      const children = roots.map((r, i) => createEvent({ kind: "persist.child@2", payload: utf8.encode(`child ${i}`), parents: [r.header] }));
      const grandchild = createEvent({
        kind: "persist.merge",
        payload: new Uint8Array([0, 255, 1, 254]), // not UTF-8: bytes must survive as bytes
        parents: children.map((c) => c.header),
        timestamp: 1_700_000_000_000,
      });
      const results = [...(await vault.commit(roots)), ...(await vault.commit(children)), ...(await vault.commit([grandchild, roots[0]!]))];
      return { results: results.map((r) => ({ id: r.id, seq: r.seq, status: r.status })), head: await vault.head() };
    } finally {
      await vault.close();
    }
  },

  async readAll(db) {
    const vault = await openIndexedDbVault({ name: db });
    try {
      const read = (await drain(vault.read())).map(seen);
      const lookedUp: SeenEvent[] = [];
      for (const r of read) {
        const header = await vault.header(r.id);
        const payload = header && (await vault.payload(header.digest));
        if (!header || !payload) throw new Error(`event ${r.id} (seq ${r.seq}) cannot be looked up`);
        lookedUp.push(seen({ seq: r.seq, header, payload }));
      }
      return { head: await vault.head(), read, lookedUp };
    } finally {
      await vault.close();
    }
  },

  async startTab(name, tabName) {
    const vault = await openIndexedDbVault({ name });
    const bus = createBroadcastChannelBus({ name });
    const store = createEventStore({ vault, bus });
    const leader = createTabLeader({ name });
    leader.onChange((on) => {
      state.leader = on;
      state.leaderSince = on ? Date.now() : null;
    });
    const sub = store.subscribe({ after: 0 });
    tab = { name: tabName, vault, bus, store, leader, sub };
    void (async () => {
      try {
        for await (const m of sub) state.messages.push(brief(m));
      } catch (err) {
        state.error = String(err);
      } finally {
        state.done = true;
      }
    })();
  },

  async commitBatches(batches, size) {
    if (!tab) throw new Error("call startTab() first");
    const seqs: number[] = [];
    for (let b = 0; b < batches; b++) {
      const events: Event[] = Array.from({ length: size }, (_, i) =>
        createEvent({ kind: `tab.${tab!.name}`, payload: utf8.encode(`${tab!.name} ${b}.${i}`) }),
      );
      for (const r of await tab.store.commit(events)) seqs.push(r.seq);
      // Let the other tab's commits interleave with ours.
      if (b % 2 === 0) await new Promise((resolve) => setTimeout(resolve, Math.random() * 4));
    }
    return seqs;
  },

  tabState: () => ({ ...state, messages: [...state.messages] }),

  async vaultLog() {
    if (!tab) throw new Error("call startTab() first");
    return (await drain(tab.vault.read())).map((s) => ({ seq: s.seq, id: s.header.id }));
  },

  async waitLeader(timeoutMs) {
    if (!tab) throw new Error("call startTab() first");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`not leader after ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([tab.leader.whenLeader(), late]);
    } finally {
      clearTimeout(timer);
    }
    return state.leaderSince ?? Date.now();
  },

  async openVault(db) {
    kept = await openIndexedDbVault({ name: db });
  },
  commit: (n) => outcome(async () => (await kept!.commit(clearEvents(n))).map((r) => r.seq)),
  async startCommit(n) {
    const events = clearEvents(n);
    running = outcome(async () => (await kept!.commit(events)).map((r) => r.seq));
    // The digests are checked before the transaction starts; give it time to get going.
    await new Promise((resolve) => setTimeout(resolve, 50));
  },
  finishCommit: () => running!,
  head: () => outcome(() => kept!.head()),
  async closeVault() {
    await kept?.close();
    kept = undefined;
  },

  async populate(db, total, batchSize) {
    const started = performance.now();
    let createMs = 0;
    let commitMs = 0;
    const vault = await openIndexedDbVault({ name: db });
    try {
      for (let done = 0; done < total; done += batchSize) {
        const t0 = performance.now();
        const batch: Event[] = [];
        for (let i = 0; i < Math.min(batchSize, total - done); i++) {
          const payload = new Uint8Array(16);
          new DataView(payload.buffer).setUint32(0, done + i);
          batch.push(createEvent({ kind: i % 10 === 0 ? "bulk.marker" : "bulk.row", payload }));
        }
        const t1 = performance.now();
        await vault.commit(batch);
        createMs += t1 - t0;
        commitMs += performance.now() - t1;
      }
      const ms = Math.round(performance.now() - started);
      return { ms, createMs: Math.round(createMs), commitMs: Math.round(commitMs), head: await vault.head() };
    } finally {
      await vault.close();
    }
  },

  async timeOpen(db) {
    const t0 = performance.now();
    const vault = await openIndexedDbVault({ name: db });
    const t1 = performance.now();
    const head = await vault.head();
    const t2 = performance.now();
    const tail = (await drain(vault.read({ after: head - 5 }))).map((s) => s.seq);
    const t3 = performance.now();
    await vault.close();
    const round = (x: number) => Math.round(x * 10) / 10;
    return { openMs: round(t1 - t0), headMs: round(t2 - t1), totalMs: round(t2 - t0), head, tailReadMs: round(t3 - t2), tail };
  },
};

(globalThis as { toka?: PageApi }).toka = api;
