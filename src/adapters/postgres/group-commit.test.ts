import { describe, expect, it } from "vitest";
import { countingClient, useMigratedPglite } from "../../../test/support/pglite.js";
import { createEvent, ErrorCode, EventError, text, uuidv4 } from "../../core/index.js";
import { createGroupCommit, type GroupTicket } from "./group-commit.js";
import { createPostgresStore } from "./index.js";

describe("group commit", () => {
  /** A write that takes 5 ms, records its calls, and refuses any batch holding a negative number. */
  function fakeWrite() {
    const calls: number[][] = [];
    let down = false;
    const write = async (events: number[]) => {
      calls.push(events);
      await new Promise((r) => setTimeout(r, 5));
      if (down) throw new EventError(ErrorCode.unavailable, "database down");
      if (events.some((e) => e < 0)) throw new EventError(ErrorCode.failed_precondition, "negative");
      return events.map((e) => e * 10);
    };
    return { calls, write, setDown: (d: boolean) => (down = d) };
  }

  /** The group commit of `write`, returning just each batch's result. */
  function grouped(write: (events: number[]) => Promise<number[]>, maxEvents?: number) {
    const queue = createGroupCommit(write, maxEvents);
    return (events: number[], signal?: AbortSignal) => queue(events, { signal }).result;
  }

  it("merges the batches that queued behind a write into one, and gives each its own results", async () => {
    const f = fakeWrite();
    const commit = grouped(f.write);
    const outcomes = await Promise.all([commit([1]), commit([2, 3]), commit([4]), commit([5, 6])]);
    expect(outcomes).toEqual([[10], [20, 30], [40], [50, 60]]);
    expect(f.calls).toEqual([[1], [2, 3, 4, 5, 6]]);
  });

  it("a merged write is at most maxEvents, unless one batch alone is bigger", async () => {
    const f = fakeWrite();
    const commit = grouped(f.write, 4);
    await Promise.all([commit([1]), commit([2, 3]), commit([4, 5]), commit([6, 7, 8, 9, 10]), commit([11])]);
    expect(f.calls).toEqual([[1], [2, 3, 4, 5], [6, 7, 8, 9, 10], [11]]);
  });

  it("a refused merged write is retried batch by batch, so only the bad batch fails", async () => {
    const f = fakeWrite();
    const commit = grouped(f.write);
    const outcomes = await Promise.allSettled([commit([1]), commit([2]), commit([-3]), commit([4])]);
    expect(outcomes.map((o) => (o.status === "fulfilled" ? o.value : (o.reason as EventError).code))).toEqual([[10], [20], "failed_precondition", [40]]);
    expect(f.calls).toEqual([[1], [2, -3, 4], [2], [-3], [4]]);
  });

  it("an unavailable database fails every batch of the group with that error, and the next group is written", async () => {
    const f = fakeWrite();
    const commit = grouped(f.write);
    const first = commit([1]);
    f.setDown(true);
    const group = [commit([2]), commit([3])];
    await expect(first).rejects.toMatchObject({ code: ErrorCode.unavailable });
    for (const p of group) await expect(p).rejects.toMatchObject({ code: ErrorCode.unavailable });
    f.setDown(false);
    await expect(commit([7])).resolves.toEqual([70]);
  });

  it("a batch whose signal aborts while it waits is canceled and never written", async () => {
    const f = fakeWrite();
    const commit = grouped(f.write);
    const ac = new AbortController();
    const first = commit([1]);
    const gone = commit([2], ac.signal);
    const kept = commit([3]);
    ac.abort();
    await expect(gone).rejects.toMatchObject({ code: ErrorCode.canceled });
    await expect(Promise.all([first, kept])).resolves.toEqual([[10], [30]]);
    expect(f.calls.flat()).not.toContain(2);
  });

  it("a batch queued after the one it follows is written with it, after it", async () => {
    const f = fakeWrite();
    const queue = createGroupCommit(f.write);
    const first = queue([1]);
    const lead = queue([2]);
    const follower = queue([3], { follows: { ticket: lead.ticket, id: "lead" } });
    expect(lead.ticket.state).toBe("queued");
    await expect(Promise.all([first.result, lead.result, follower.result])).resolves.toEqual([[10], [20], [30]]);
    expect(f.calls).toEqual([[1], [2, 3]]);
    expect([lead.ticket.state, follower.ticket.state]).toEqual(["stored", "stored"]);
  });

  it("when the batch it follows is refused, a follower fails with aborted and is not written; others still are", async () => {
    const f = fakeWrite();
    const queue = createGroupCommit(f.write);
    const first = queue([1]);
    const bad = queue([-2]);
    const follower = queue([3], { follows: { ticket: bad.ticket, id: "bad" } });
    const next = queue([4], { follows: { ticket: follower.ticket, id: "follower" } });
    const other = queue([5]);
    const outcomes = await Promise.allSettled([first.result, bad.result, follower.result, next.result, other.result]);
    expect(outcomes.map((o) => (o.status === "fulfilled" ? o.value : (o.reason as EventError).code))).toEqual([
      [10],
      ErrorCode.failed_precondition,
      ErrorCode.aborted,
      ErrorCode.aborted,
      [50],
    ]);
    expect(f.calls).toEqual([[1], [-2, 3, 4, 5], [-2], [5]]);
    expect([bad.ticket.state, follower.ticket.state, next.ticket.state]).toEqual(["failed", "failed", "failed"]);
  });

  it("a follower in a later group fails with aborted when the group of the batch it follows failed, or that batch was canceled", async () => {
    const f = fakeWrite();
    const queue = createGroupCommit(f.write, 2);
    const first = queue([1]);
    f.setDown(true);
    const lead = queue([2, 3]);
    const follower = queue([4], { follows: { ticket: lead.ticket, id: "lead" } }); // over maxEvents with lead: the next group
    await expect(first.result).rejects.toMatchObject({ code: ErrorCode.unavailable });
    await expect(lead.result).rejects.toMatchObject({ code: ErrorCode.unavailable });
    f.setDown(false);
    await expect(follower.result).rejects.toMatchObject({ code: ErrorCode.aborted, details: { after: "lead" } });
    const ac = new AbortController();
    const ahead = queue([7]); // written now: the next ones wait behind it
    const gone = queue([5], { signal: ac.signal });
    const ticket: GroupTicket = gone.ticket;
    const orphan = queue([6], { follows: { ticket, id: "gone" } });
    ac.abort();
    await expect(ahead.result).resolves.toEqual([70]);
    await expect(gone.result).rejects.toMatchObject({ code: ErrorCode.canceled });
    await expect(orphan.result).rejects.toMatchObject({ code: ErrorCode.aborted });
    for (const never of [4, 5, 6]) expect(f.calls.flat()).not.toContain(never);
  });
});

describe("postgres store: concurrent commits share writes", () => {
  const db = useMigratedPglite();

  const counting = () => {
    const { client, count } = countingClient(db, /toka_commit\(/);
    return { client, writes: count };
  };

  it("40 concurrent commits: fewer writes than commits, each gets its own seqs, the log is gap-free", async () => {
    const { client, writes } = counting();
    const store = createPostgresStore({ client, tenant: uuidv4() });
    try {
      const batches = Array.from({ length: 40 }, (_, i) => Array.from({ length: 1 + (i % 3) }, () => createEvent({ kind: "group.t", payload: text.encode(String(i)) })));
      const results = await Promise.all(batches.map((b) => store.commit(b)));
      expect(writes()).toBeLessThan(40);
      for (const [i, r] of results.entries()) {
        expect(r.map((x) => [x.id, x.status])).toEqual(batches[i]!.map((e) => [e.header.id, "stored"]));
      }
      const seqs = results.flat().map((r) => r.seq).sort((a, b) => a - b);
      expect(seqs).toEqual(seqs.map((_, i) => i + 1));
      const read: string[] = [];
      for await (const e of store.read()) read.push(e.header.id);
      expect(new Set(read)).toEqual(new Set(batches.flat().map((e) => e.header.id)));
      expect(read).toHaveLength(seqs.length);
    } finally {
      await store.close();
    }
  });

  it("pipelined batches (each naming the one before) queue behind it and share writes, in order", async () => {
    const { client, writes } = counting();
    const store = createPostgresStore({ client, tenant: uuidv4() });
    try {
      const batches = Array.from({ length: 6 }, (_, i) => Array.from({ length: 3 }, () => createEvent({ kind: "group.pipe", payload: text.encode(String(i)) })));
      const results = await Promise.all(batches.map((b, i) => store.commit(b, { after: batches[i - 1]?.at(-1)!.header.id })));
      expect(writes()).toBeLessThanOrEqual(2); // the first alone, then the five that queued behind it
      expect(results.flat().map((r) => r.seq)).toEqual(Array.from({ length: 18 }, (_, i) => i + 1));
    } finally {
      await store.close();
    }
  });

  it("a bad batch among concurrent good ones fails alone; a conflict between two batches fails the later one", async () => {
    const store = createPostgresStore({ client: db(), tenant: uuidv4() });
    try {
      const good = Array.from({ length: 6 }, () => [createEvent({ kind: "group.ok", payload: text.encode("ok") })]);
      const orphan = [createEvent({ kind: "group.bad", payload: text.encode("x"), parents: [createEvent({ kind: "group.gone", payload: new Uint8Array() }).header] })];
      const twin = createEvent({ kind: "group.twin", payload: text.encode("a") });
      const rival = createEvent({ id: twin.header.id, kind: "group.twin", payload: text.encode("b") }); // same id, another digest
      const calls = [store.commit(good[0]!), store.commit(good[1]!), store.commit(orphan), store.commit([twin]), store.commit(good[2]!), store.commit([rival]), store.commit(good[3]!)];
      const outcomes = await Promise.allSettled(calls);
      const codes = outcomes.map((o) => (o.status === "fulfilled" ? "ok" : (o.reason as EventError).code));
      expect(codes).toEqual(["ok", "ok", ErrorCode.failed_precondition, "ok", "ok", ErrorCode.already_exists, "ok"]);
      expect(await store.head()).toBe(5);
      expect((await store.header(twin.header.id))?.digest).toEqual(twin.header.digest);
    } finally {
      await store.close();
    }
  });
});
