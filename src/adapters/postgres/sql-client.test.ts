import { describe, expect, it } from "vitest";
import { createPgClient, type PgPoolClientLike, type PgPoolLike } from "./sql-client.js";

/** A pool whose connections record release(), and whose connect() the test can hold. */
function fakePool() {
  const conns: { released: boolean | undefined; emit(event: string): void }[] = [];
  let hold: Promise<void> | undefined;
  const pool: PgPoolLike = {
    query: async () => ({ rows: [] }),
    async connect() {
      if (hold) await hold;
      const handlers = new Map<string, ((arg?: unknown) => void)[]>();
      const rec = { released: undefined as boolean | undefined, emit: (event: string) => handlers.get(event)?.forEach((h) => h()) };
      conns.push(rec);
      const c: PgPoolClientLike = {
        query: async () => ({ rows: [] }),
        on: ((event: string, cb: (arg?: unknown) => void) => handlers.set(event, [...(handlers.get(event) ?? []), cb])) as PgPoolClientLike["on"],
        removeAllListeners: (event?: string) => (event ? handlers.delete(event) : handlers.clear()),
        release: (err?: boolean | Error) => void (rec.released = err === undefined ? false : true),
      };
      return c;
    },
  };
  return { pool, conns, holdConnects: () => { let go!: () => void; hold = new Promise((r) => (go = r)); return () => { hold = undefined; go(); }; } };
}

describe("createPgClient listen", () => {
  it("stopping while a reconnect is on its way releases that connection instead of keeping it", async () => {
    const f = fakePool();
    const client = createPgClient(f.pool, { reconnectMs: 1 });
    const notes: (string | undefined)[] = [];
    const stop = await client.listen!("toka_events", (p) => notes.push(p));
    expect(f.conns).toHaveLength(1);
    const release = f.holdConnects();
    f.conns[0]!.emit("end"); // the listener connection drops: a reconnect starts
    expect(f.conns[0]!.released).toBe(true);
    await new Promise((r) => setTimeout(r, 10)); // the reconnect now waits in pool.connect()
    await stop();
    release();
    await new Promise((r) => setTimeout(r, 10));
    expect(f.conns).toHaveLength(2);
    expect(f.conns[1]!.released).toBe(true); // given back: a pool.end() does not wait for it
    expect(notes).toEqual([]); // and the stopped listener hears nothing
  });

  it("after stop, a dropped connection is not re-established", async () => {
    const f = fakePool();
    const client = createPgClient(f.pool, { reconnectMs: 1 });
    const stop = await client.listen!("toka_events", () => {});
    await stop();
    expect(f.conns[0]!.released).toBe(false); // UNLISTEN worked: released back to the pool
    f.conns[0]!.emit("end");
    await new Promise((r) => setTimeout(r, 20));
    expect(f.conns).toHaveLength(1);
  });
});
