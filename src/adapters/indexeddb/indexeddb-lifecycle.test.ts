// The life of an IndexedDB vault around its data (DESIGN §5): upgrading a v1 database, stepping
// aside for another connection's version change, failing fast when blocked, quota errors, a
// database closed under the vault, and runtimes without IndexedDB. fake-indexeddb stands in for
// the browser; e2e/browser/indexeddb.test.ts covers what only a real browser can (reloads, tabs,
// clearing site data).
import "fake-indexeddb/auto";
import { forceCloseDatabase } from "fake-indexeddb";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createEvent, type Event, EventError, toHex, uuidv4, type Vault } from "../../core/index.js";
import { openIndexedDbVault, SCHEMA_VERSION } from "./index.js";

const utf8 = new TextEncoder();

/** The settled value of an IDBRequest. */
function settle<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.addEventListener("success", () => resolve(request.result));
    request.addEventListener("error", () => reject(request.error));
  });
}

/** Resolves when `tx` commits; rejects with its error when it aborts. */
function finished(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.addEventListener("complete", () => resolve());
    tx.addEventListener("abort", () => reject(tx.error ?? new DOMException("aborted", "AbortError")));
  });
}

/** Waits for queued IndexedDB tasks (fake-indexeddb schedules them as macrotasks). */
const tick = (ms = 10) => new Promise((resolve) => setTimeout(resolve, ms));

/** An event as version 1 of the adapter stored it, with its seq. */
function v1Record(e: Event, seq: number) {
  const h = e.header;
  return { seq, id: h.id, digest: h.digest, parents: h.parents, kind: h.kind, intent: h.intent, ts: h.timestamp };
}

/**
 * Creates `name` by hand at `version` 1 or 2 in the layout that version of the adapter wrote
 * (schema.ts): v1 is `events` keyed by seq with a unique `id` index and a `kind` index, `payloads`
 * keyed by lowercase hex digest, `meta` with `head`; v2 (as released in 37c2a03) adds the `intent`
 * and `ts` indexes. Holds `events` as that code committed them. Returns the connection when `keepOpen`.
 */
async function createOldDatabase(name: string, version: 1 | 2, events: Event[], keepOpen = false): Promise<IDBDatabase> {
  const open = indexedDB.open(name, version);
  open.addEventListener("upgradeneeded", () => {
    const db = open.result;
    const store = db.createObjectStore("events", { keyPath: "seq" });
    store.createIndex("id", "id", { unique: true });
    store.createIndex("kind", "kind");
    if (version >= 2) {
      store.createIndex("intent", "intent");
      store.createIndex("ts", "ts");
    }
    db.createObjectStore("payloads", { keyPath: "digest" });
    db.createObjectStore("meta");
  });
  const db = await settle(open);
  const tx = db.transaction(["events", "payloads", "meta"], "readwrite");
  events.forEach((e, i) => {
    tx.objectStore("events").put(v1Record(e, i + 1));
    tx.objectStore("payloads").put({ digest: toHex(e.header.digest), payload: e.payload });
  });
  if (events.length > 0) tx.objectStore("meta").put(events.length, "head");
  await finished(tx);
  if (!keepOpen) db.close();
  return db;
}

const createV1Database = (name: string, events: Event[], keepOpen = false) => createOldDatabase(name, 1, events, keepOpen);

/** A version this code does not know yet. */
const NEWER = SCHEMA_VERSION + 1;

/** Opens `name` with raw IndexedDB at its current version. */
async function rawOpen(name: string, version?: number): Promise<IDBDatabase> {
  return settle(version === undefined ? indexedDB.open(name) : indexedDB.open(name, version));
}

/** Records every connection `indexedDB.open` makes to `name` from now on (the vault's own). */
function watchConnections(name: string): { connections: IDBDatabase[]; stop(): void } {
  const connections: IDBDatabase[] = [];
  const factory = indexedDB as IDBFactory & { open: IDBFactory["open"] };
  const original = Object.getPrototypeOf(factory).open as IDBFactory["open"];
  factory.open = function (this: IDBFactory, n: string, v?: number) {
    const request = original.call(this, n, v);
    if (n === name) request.addEventListener("success", () => connections.push(request.result));
    return request;
  };
  return { connections, stop: () => void delete (factory as { open?: unknown }).open };
}

const event = (kind = "test.life", parents: Event["header"]["parents"] = []) =>
  createEvent({ kind, payload: utf8.encode(`payload ${uuidv4()}`), parents, intent: uuidv4() });

async function drain(vault: Vault): Promise<{ seq: number; id: string; digest: string; payload: string }[]> {
  const out = [];
  for await (const s of vault.read()) {
    out.push({ seq: s.seq, id: s.header.id, digest: toHex(s.header.digest), payload: new TextDecoder().decode(s.payload) });
  }
  return out;
}

const expected = (events: Event[], first = 1) =>
  events.map((e, i) => ({ seq: first + i, id: e.header.id, digest: toHex(e.header.digest), payload: new TextDecoder().decode(e.payload) }));

const code = (c: string) => expect.objectContaining({ name: "EventError", code: c });

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
  vi.restoreAllMocks();
});

/** A vault closed after the test. */
async function vaultOn(name: string, opts: { onBlocked?: () => void } = {}): Promise<Vault> {
  const vault = await openIndexedDbVault({ name, ...opts });
  cleanup.push(() => vault.close());
  return vault;
}

describe("indexeddb vault: upgrading a version 1 database", () => {
  it("keeps every event, payload and the head, continues the seqs and adds the v2 indexes", async () => {
    const name = `v1-${uuidv4()}`;
    const root = event("chat.room.open");
    const old = [root, event("chat.msg", [root.header]), event("note.add")];
    await createV1Database(name, old);

    const vault = await vaultOn(name);
    expect(await vault.head()).toBe(3);
    expect(await drain(vault)).toEqual(expected(old));
    const header = await vault.header(old[1]!.header.id);
    expect(header).toEqual(old[1]!.header);
    expect(await vault.payload(old[2]!.header.digest)).toEqual(old[2]!.payload);
    const kinds: number[] = [];
    for await (const s of vault.read({ kinds: ["chat.*"] })) kinds.push(s.seq);
    expect(kinds).toEqual([1, 2]);

    // New commits continue after the v1 head; the old events still count as parents and duplicates.
    const child = event("chat.msg", [old[1]!.header]);
    expect(await vault.commit([old[0]!, child])).toEqual([
      { id: old[0]!.header.id, seq: 1, status: "duplicate" },
      { id: child.header.id, seq: 4, status: "stored" },
    ]);
    const conflict = createEvent({ id: old[2]!.header.id, kind: "note.add", payload: utf8.encode("other") });
    await expect(vault.commit([conflict])).rejects.toEqual(code("already_exists"));
    expect(await vault.head()).toBe(4);
    await vault.close();

    // The upgraded layout, seen with raw IndexedDB: the current version, the intent and ts indexes built over the old rows.
    const db = await rawOpen(name);
    try {
      expect(db.version).toBe(SCHEMA_VERSION);
      expect(Array.from(db.objectStoreNames)).toEqual(expect.arrayContaining(["events", "meta", "payloads"]));
      const store = db.transaction("events").objectStore("events");
      expect(Array.from(store.indexNames).sort()).toEqual(["id", "intent", "kind", "ts"]);
      expect(store.index("id").unique).toBe(true);
      const byIntent = await settle(store.index("intent").getAll(old[1]!.header.intent));
      expect(byIntent.map((r: { seq: number }) => r.seq)).toEqual([2]);
      const byTs = await settle(store.index("ts").count());
      expect(byTs).toBe(4);
    } finally {
      db.close();
    }
  });

  it("upgrades an empty v1 database and an unknown future version is failed_precondition", async () => {
    const empty = `v1-empty-${uuidv4()}`;
    await createV1Database(empty, []);
    const vault = await vaultOn(empty);
    expect(await vault.head()).toBe(0);
    expect(await vault.commit([event()])).toEqual([expect.objectContaining({ seq: 1, status: "stored" })]);

    const newer = `newer-${uuidv4()}`;
    (await rawOpen(newer, NEWER)).close();
    await expect(openIndexedDbVault({ name: newer })).rejects.toEqual(code("failed_precondition"));
  });
});

describe("indexeddb vault: a database written by the released v2 code", () => {
  it("opens with its data and takes commits (a layout change needs a new version and step)", async () => {
    const name = `v2-${uuidv4()}`;
    const old = [event(), event()];
    await createOldDatabase(name, 2, old);
    const vault = await vaultOn(name);
    expect(await vault.head()).toBe(2);
    expect(await drain(vault)).toEqual(expected(old));
    const next = [event()];
    expect(await vault.commit(next)).toEqual([{ id: next[0]!.header.id, seq: 3, status: "stored" }]);
    expect(await drain(vault)).toEqual(expected([...old, ...next]));
  });
});

describe("indexeddb vault: another connection's version change", () => {
  it("an upgrade elsewhere is not blocked: the vault closes its connection, then reports the newer schema", async () => {
    const name = `vc-${uuidv4()}`;
    const vault = await vaultOn(name);
    await vault.commit([event(), event()]);

    const open = indexedDB.open(name, NEWER);
    const blocked = vi.fn();
    open.addEventListener("blocked", blocked);
    const db = await settle(open);
    expect(blocked).not.toHaveBeenCalled();
    expect(db.version).toBe(NEWER);
    db.close();

    // A database this code cannot read: typed, not a hang and not a raw DOMException.
    await expect(vault.head()).rejects.toEqual(code("failed_precondition"));
    await expect(vault.commit([event()])).rejects.toEqual(code("failed_precondition"));
  });

  it("a delete elsewhere is not blocked; the vault then works on a fresh, empty database", async () => {
    const name = `del-${uuidv4()}`;
    const vault = await vaultOn(name);
    const first = [event(), event()];
    await vault.commit(first);

    const del = indexedDB.deleteDatabase(name);
    const blocked = vi.fn();
    del.addEventListener("blocked", blocked);
    await settle(del);
    expect(blocked).not.toHaveBeenCalled();

    // The next call reopens, which creates the database again, empty: that loss is reported once
    // (data_loss), then the vault carries on with the empty database.
    await expect(vault.head()).rejects.toMatchObject({ code: "data_loss" });
    expect(await vault.head()).toBe(0);
    expect(await drain(vault)).toEqual([]);
    const again = [event()];
    expect(await vault.commit(again)).toEqual([{ id: again[0]!.header.id, seq: 1, status: "stored" }]);
    expect(await vault.header(first[0]!.header.id)).toBeUndefined();
    expect(await drain(vault)).toEqual(expected(again));
  });

  it("a version change while a commit is in flight lets the commit finish first", async () => {
    const name = `vc-inflight-${uuidv4()}`;
    const vault = await vaultOn(name);
    const batch = Array.from({ length: 50 }, () => event());
    const committing = vault.commit(batch);
    await tick(0);
    const del = indexedDB.deleteDatabase(name);
    const [results] = await Promise.all([committing, settle(del)]);
    expect(results.map((r) => r.seq)).toEqual(batch.map((_, i) => i + 1));
    await expect(vault.head()).rejects.toMatchObject({ code: "data_loss" }); // deleted after the commit
    expect(await vault.head()).toBe(0); // reopened fresh
  });
});

describe("indexeddb vault: blocked opens", () => {
  it("an upgrade blocked by a connection that ignores versionchange calls onBlocked and fails with unavailable", async () => {
    const name = `blocked-${uuidv4()}`;
    const old = [event(), event()];
    const holder = await createV1Database(name, old, true); // an old tab: no versionchange handler
    const onBlocked = vi.fn();
    const started = Date.now();
    await expect(openIndexedDbVault({ name, onBlocked })).rejects.toEqual(code("unavailable"));
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(onBlocked).toHaveBeenCalledTimes(1);

    // Once the old tab goes, opening works and the v1 data was upgraded.
    holder.close();
    await tick(20);
    const vault = await vaultOn(name);
    expect(await drain(vault)).toEqual(expected(old));
    expect(await vault.commit([event()])).toEqual([expect.objectContaining({ seq: 3, status: "stored" })]);
  });

  it("a failed (blocked) open leaves no connection behind once it completes in the background", async () => {
    const name = `blocked-leak-${uuidv4()}`;
    const holder = await createV1Database(name, [event()], true);
    const watch = watchConnections(name);
    cleanup.push(() => watch.stop());
    await expect(openIndexedDbVault({ name })).rejects.toEqual(code("unavailable"));
    holder.close();
    await vi.waitFor(() => expect(watch.connections).toHaveLength(1));
    await tick(20);
    // Nobody holds this vault: its connection must not stay open (fake-indexeddb's flag).
    const leaked = watch.connections[0] as IDBDatabase & { _closed: boolean; _closePending: boolean };
    expect(leaked._closed || leaked._closePending).toBe(true);
  });

  it("every call made while a reopen is blocked fails at once with unavailable", async () => {
    const name = `blocked-reopen-${uuidv4()}`;
    const onBlocked = vi.fn();
    const vault = await vaultOn(name, { onBlocked });
    await vault.commit([event()]);
    // An old tab deletes the database (the vault steps aside), recreates it at v1 and keeps it open.
    await settle(indexedDB.deleteDatabase(name));
    const holder = await createV1Database(name, [], true);

    await expect(vault.head()).rejects.toEqual(code("unavailable"));
    expect(onBlocked).toHaveBeenCalledTimes(1);
    // The reopen is still pending behind the old tab: a second call must fail too, not hang.
    const second = vault.head().then(
      () => "resolved",
      (err: unknown) => (err instanceof EventError ? err.code : "another error"),
    );
    const outcome = await Promise.race([second, tick(500).then(() => "still pending after 500 ms")]);
    holder.close();
    expect(outcome).toBe("unavailable");
    // Once the old tab is gone the upgrade completes and the vault works again.
    await vi.waitFor(async () => expect(await vault.head()).toBe(0));
    expect(await vault.commit([event()])).toEqual([expect.objectContaining({ seq: 1, status: "stored" })]);
  });
});

describe("indexeddb vault: quota", () => {
  /**
   * Makes the next commit's transaction abort with QuotaExceededError when it writes to `store`,
   * as a browser does when the disk is full: the transaction's error is QuotaExceededError, its
   * pending requests fail with AbortError.
   */
  function abortNextCommitWithQuota(store: "events" | "meta"): void {
    const original = IDBObjectStore.prototype.put;
    const spy = vi.spyOn(IDBObjectStore.prototype, "put").mockImplementation(function (this: IDBObjectStore, ...args) {
      const request = original.apply(this, args as Parameters<IDBObjectStore["put"]>);
      if (this.name === store) {
        spy.mockRestore();
        const tx = this.transaction;
        tx.abort();
        Object.defineProperty(tx, "error", { value: new DOMException("The quota has been exceeded.", "QuotaExceededError") });
      }
      return request;
    });
  }

  it.each([
    ["at its last write (the head), as Chromium does when committing", "meta"],
    ["at its first write, before the batch's other lookups", "events"],
  ] as const)("a transaction aborted with QuotaExceededError %s is resource_exhausted and stores nothing of the batch", async (_, store) => {
    const vault = await vaultOn(`quota-${uuidv4()}`);
    const kept = [event(), event()];
    await vault.commit(kept);
    const batch = [event(), event(), event()];
    abortNextCommitWithQuota(store);
    const err = await vault.commit(batch).catch((e: unknown) => e);
    expect(err).toEqual(code("resource_exhausted"));
    expect((err as EventError).cause).toEqual(expect.objectContaining({ name: "QuotaExceededError" }));
    expect(await vault.head()).toBe(2);
    for (const e of batch) {
      expect(await vault.header(e.header.id)).toBeUndefined();
      expect(await vault.payload(e.header.digest)).toBeUndefined();
    }
    // Space freed: the same batch and later ones commit with the next seqs.
    expect((await vault.commit(batch)).map((r) => [r.seq, r.status])).toEqual([[3, "stored"], [4, "stored"], [5, "stored"]]);
    expect(await drain(vault)).toEqual(expected([...kept, ...batch]));
  });

  it("a put that throws QuotaExceededError mid-batch is resource_exhausted and stores nothing of the batch", async () => {
    const vault = await vaultOn(`quota-sync-${uuidv4()}`);
    const kept = [event()];
    await vault.commit(kept);
    const batch = [event(), event(), event()];
    const original = IDBObjectStore.prototype.put;
    let eventPuts = 0;
    const spy = vi.spyOn(IDBObjectStore.prototype, "put").mockImplementation(function (this: IDBObjectStore, ...args) {
      if (this.name === "events" && ++eventPuts === 2) {
        spy.mockRestore();
        throw new DOMException("The quota has been exceeded.", "QuotaExceededError");
      }
      return original.apply(this, args as Parameters<IDBObjectStore["put"]>);
    });
    await expect(vault.commit(batch)).rejects.toEqual(code("resource_exhausted"));
    await tick(20); // let a transaction that was not aborted commit what it has
    expect(await vault.head()).toBe(1);
    expect(await drain(vault)).toEqual(expected(kept));
    expect(await vault.header(batch[0]!.header.id)).toBeUndefined();
    expect((await vault.commit(batch)).map((r) => [r.seq, r.status])).toEqual([[2, "stored"], [3, "stored"], [4, "stored"]]);
    expect(await drain(vault)).toEqual(expected([...kept, ...batch]));
  });
});

describe("indexeddb vault: a database closed under it", () => {
  it("after the browser force-closes the connection, the next call reopens and the data is there", async () => {
    const name = `closed-${uuidv4()}`;
    const watch = watchConnections(name);
    cleanup.push(() => watch.stop());
    const vault = await vaultOn(name);
    const first = [event(), event()];
    await vault.commit(first);
    expect(watch.connections).toHaveLength(1);
    const closeEvents = vi.fn();
    watch.connections[0]!.addEventListener("close", closeEvents);

    // What "Clear site data" or eviction does to an open connection. (fake-indexeddb types the
    // parameter as the class, but it takes a connection.)
    forceCloseDatabase(watch.connections[0] as unknown as Parameters<typeof forceCloseDatabase>[0]);
    expect(closeEvents).toHaveBeenCalledTimes(1);

    expect(await vault.head()).toBe(2);
    expect(watch.connections).toHaveLength(2);
    const more = [event()];
    expect((await vault.commit(more))[0]).toEqual({ id: more[0]!.header.id, seq: 3, status: "stored" });
    expect(await drain(vault)).toEqual(expected([...first, ...more]));
  });

  it("a connection closed without the close event gives unavailable once, then the vault reopens", async () => {
    const name = `closed-silent-${uuidv4()}`;
    const watch = watchConnections(name);
    cleanup.push(() => watch.stop());
    const vault = await vaultOn(name);
    await vault.commit([event()]);
    watch.connections[0]!.close(); // closed behind the vault's back: no event at all
    await expect(vault.commit([event()])).rejects.toEqual(code("unavailable"));
    expect(await vault.head()).toBe(1);
    expect((await vault.commit([event()]))[0]).toEqual(expect.objectContaining({ seq: 2, status: "stored" }));
  });

  it("a closed vault refuses calls with failed_precondition and closes its connection", async () => {
    const name = `closed-vault-${uuidv4()}`;
    const vault = await openIndexedDbVault({ name });
    await vault.commit([event()]);
    await vault.close();
    await expect(vault.head()).rejects.toEqual(code("failed_precondition"));
    // Its connection is gone: a delete is not blocked and needs no versionchange handling.
    const del = indexedDB.deleteDatabase(name);
    const blocked = vi.fn();
    del.addEventListener("blocked", blocked);
    await settle(del);
    expect(blocked).not.toHaveBeenCalled();
  });
});

describe("indexeddb vault: runtimes without IndexedDB", () => {
  it("importing the adapter does not touch IndexedDB; opening is unimplemented", async () => {
    const names = ["indexedDB", "IDBKeyRange", "IDBDatabase", "IDBObjectStore", "IDBIndex", "IDBCursor", "IDBTransaction", "IDBRequest"];
    const g = globalThis as Record<string, unknown>;
    const saved = new Map(names.map((n) => [n, Object.getOwnPropertyDescriptor(g, n)]));
    for (const n of names) delete g[n];
    try {
      expect(typeof indexedDB).toBe("undefined");
      vi.resetModules();
      const mod = await import("./index.js");
      expect(mod.SCHEMA_VERSION).toBe(SCHEMA_VERSION);
      const err = await mod.openIndexedDbVault({ name: "nowhere" }).catch((e: unknown) => e);
      expect(err).toEqual(code("unimplemented"));
      expect(err).toBeInstanceOf(Error);
    } finally {
      for (const [n, d] of saved) if (d) Object.defineProperty(g, n, d);
    }
    expect(typeof indexedDB).toBe("object");
  });
});
