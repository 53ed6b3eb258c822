// The browser side of connect-client.test.ts: a remote store on a page whose origin differs from
// the server's. Node drives it through `globalThis.toka`; everything returned is plain data
// (hex, strings, numbers) because it crosses Playwright's serialization.
import { createEvent, type Event, EventError, type EventStore, type Subscription, text, toHex, uuidv7 } from "toka-events";
import { createRemoteStore, createWebTransport } from "toka-events/adapters/connect/client";

export type Protocol = "connect" | "grpc-web";

/** A stored event as the page saw it. */
export interface SeenEvent {
  seq: number;
  id: string;
  kind: string;
  parents: string[];
  digest: string;
  text: string;
}

/** A failed call as the page saw it: `isEventError` proves the class, not just the shape. */
export interface SeenError {
  isEventError: boolean;
  code: string;
  message: string;
}

/** The functions this page exposes on `globalThis.toka`. */
export interface PageApi {
  /** Connects to `baseUrl` over `protocol`; returns the page's own origin. */
  open(baseUrl: string, protocol: Protocol): Promise<string>;
  /** Commits a parent and its child in two calls; returns the commit results and both refs. */
  commitFamily(tag: string): Promise<{ seqs: number[]; statuses: string[]; parent: Ref; child: Ref }>;
  /** Subscribes from after=0 and returns the history up to caught-up; the subscription stays open. */
  subscribeHistory(): Promise<{ history: SeenEvent[]; caughtUp: number }>;
  /** The next event of the open subscription, then closes it. */
  nextLiveEvent(timeoutMs: number): Promise<SeenEvent>;
  /** Header and payload of `id`, fetched separately; null when unknown. */
  readBack(id: string): Promise<{ header: Omit<SeenEvent, "seq" | "text"> | null; payload: string | null }>;
  /** Makes the server refuse a commit in the way named and reports the error. */
  provoke(failure: "different-content" | "unknown-parent" | "bad-digest"): Promise<SeenError | null>;
  close(): Promise<void>;
}

export interface Ref {
  id: string;
  digest: string;
}

let store: EventStore | undefined;
let sub: Subscription | undefined;

function remote(): EventStore {
  if (!store) throw new Error("call open() first");
  return store;
}

function seen({ seq, header, payload }: { seq: number; header: Event["header"]; payload: Uint8Array }): SeenEvent {
  return { seq, id: header.id, kind: header.kind, parents: header.parents.map((p) => p.id), digest: toHex(header.digest), text: text.decode(payload) };
}

/** `p`, or a rejection after `ms`: a hung stream should fail the test, not stall it to its timeout. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

async function failure(events: Event[]): Promise<SeenError | null> {
  try {
    await remote().commit(events);
    return null;
  } catch (err) {
    const e = err as { code?: unknown; message?: unknown };
    return { isEventError: err instanceof EventError, code: String(e.code), message: String(e.message) };
  }
}

const api: PageApi = {
  async open(baseUrl, protocol) {
    store = createRemoteStore({ transport: createWebTransport({ baseUrl, protocol }) });
    return location.origin;
  },
  async commitFamily(tag) {
    const parent = createEvent({ kind: "e2e.parent", payload: text.encode(`parent ${tag}`) });
    const child = createEvent({ kind: "e2e.child", payload: text.encode(`child ${tag}`), parents: [parent.header] });
    // Two commits, so the child's parent check runs against what the server already stored.
    const results = [...(await remote().commit([parent])), ...(await remote().commit([child]))];
    const ref = (e: Event): Ref => ({ id: e.header.id, digest: toHex(e.header.digest) });
    return { seqs: results.map((r) => r.seq), statuses: results.map((r) => r.status), parent: ref(parent), child: ref(child) };
  },
  async subscribeHistory() {
    sub = remote().subscribe({ after: 0 });
    const history: SeenEvent[] = [];
    for (;;) {
      const r = await within(sub.next(), 10_000, "history");
      if (r.done) throw new Error("subscription ended before caught-up");
      if (r.value.type === "caught-up") return { history, caughtUp: r.value.seq };
      if (r.value.type === "event") history.push(seen(r.value.event));
    }
  },
  async nextLiveEvent(timeoutMs) {
    if (!sub) throw new Error("call subscribeHistory() first");
    try {
      const r = await within(sub.next(), timeoutMs, "a live event");
      if (r.done || r.value.type !== "event") throw new Error(`expected an event, got ${JSON.stringify(r.value)}`);
      return seen(r.value.event);
    } finally {
      sub.close();
      sub = undefined;
    }
  },
  async readBack(id) {
    const header = await remote().header(id);
    if (!header) return { header: null, payload: null };
    const payload = await remote().payload(header.digest);
    return {
      header: { id: header.id, kind: header.kind, parents: header.parents.map((p) => p.id), digest: toHex(header.digest) },
      payload: payload ? text.decode(payload) : null,
    };
  },
  async provoke(kind) {
    const original = createEvent({ kind: "e2e.provoke", payload: text.encode("original") });
    if (kind === "unknown-parent") {
      const orphan = { id: uuidv7(), digest: new Uint8Array(32).fill(7) };
      return failure([createEvent({ kind: "e2e.provoke", payload: text.encode("orphan"), parents: [orphan] })]);
    }
    if (kind === "bad-digest") {
      // Well formed, so the client sends it; only the server recomputes the digest.
      return failure([{ header: original.header, payload: text.encode("tampered") }]);
    }
    await remote().commit([original]);
    return failure([createEvent({ id: original.header.id, kind: "e2e.provoke", payload: text.encode("rewritten") })]);
  },
  async close() {
    sub?.close();
    await store?.close();
  },
};

(globalThis as { toka?: PageApi }).toka = api;
