// status() and statusChanges(): the cell behind them, and what the runtime reports through them.
import { afterEach, describe, expect, it } from "vitest";
import { createMemoryVault } from "../adapters/memory/index.js";
import { ErrorCode, EventError } from "../core/index.js";
import { type MetricsSink, type RuntimeStatus } from "./index.js";
import { fakeRemote, hang, runtimes, sleep } from "../../test/support/runtime-doubles.js";
import { createStatusCell } from "./status.js";

const { runtime, closeAll } = runtimes();
afterEach(closeAll);

const initial: RuntimeStatus = {
  online: false,
  leader: true,
  pending: 0,
  deadLetters: 0,
  caughtUp: false,
  cursors: { remote: 0 },
  closed: false,
};

describe("status cell", () => {
  it("get() returns copies: changing one does not change the cell", () => {
    const cell = createStatusCell(initial);
    const s = cell.get();
    s.pending = 99;
    s.cursors.remote = 99;
    expect(cell.get()).toEqual(initial);
  });

  it("peek() shows the current status without copying, and an earlier peek is not changed by updates", () => {
    const cell = createStatusCell(initial);
    const before = cell.peek();
    expect(before).toEqual(initial);
    cell.update({ pending: 3, cursors: { remote: 5 } });
    expect(cell.peek()).toEqual(cell.get());
    expect(cell.peek().pending).toBe(3);
    expect(before).toEqual(initial);
  });

  it("update() merges, including cursors", () => {
    const cell = createStatusCell(initial);
    cell.update({ pending: 2, lastError: { code: ErrorCode.unavailable, message: "x", at: 1 } });
    cell.update({ cursors: { remote: 7 } });
    expect(cell.get()).toMatchObject({ pending: 2, cursors: { remote: 7 }, lastError: { code: ErrorCode.unavailable } });
  });

  it("next() resolves at the next update, when its signal aborts, and at once when closed", async () => {
    const cell = createStatusCell(initial);
    let woke = false;
    const p = cell.next().then(() => (woke = true));
    await sleep(1);
    expect(woke).toBe(false);
    cell.update({ pending: 1 });
    await p;
    const ac = new AbortController();
    const q = cell.next(ac.signal);
    ac.abort();
    await q;
    await cell.next(AbortSignal.abort());
    cell.update({ closed: true });
    await cell.next();
  });

  it("changes() yields the current status first, then each change", async () => {
    const cell = createStatusCell(initial);
    const it = cell.changes()[Symbol.asyncIterator]();
    expect((await it.next()).value).toEqual(initial);
    const pending = it.next();
    await sleep(1);
    cell.update({ pending: 1 });
    expect((await pending).value).toMatchObject({ pending: 1 });
    cell.update({ online: true });
    expect((await it.next()).value).toMatchObject({ pending: 1, online: true });
    await it.return?.();
  });

  it("changes() skips no-op updates", async () => {
    const cell = createStatusCell(initial);
    const it = cell.changes()[Symbol.asyncIterator]();
    await it.next();
    const next = it.next();
    cell.update({ pending: 0 }); // same as before
    cell.update({});
    await sleep(2);
    cell.update({ pending: 3 });
    expect((await next).value).toMatchObject({ pending: 3 });
    await it.return?.();
  });

  it("changes() coalesces for a slow reader: it gets the latest status, not every step", async () => {
    const cell = createStatusCell(initial);
    const it = cell.changes()[Symbol.asyncIterator]();
    await it.next();
    for (let i = 1; i <= 100; i++) cell.update({ pending: i });
    expect((await it.next()).value).toMatchObject({ pending: 100 });
    const next = it.next();
    cell.update({ pending: 101 });
    expect((await next).value).toMatchObject({ pending: 101 });
    await it.return?.();
  });

  it("changes() ends after the closed status, and when its signal aborts", async () => {
    const cell = createStatusCell(initial);
    const seen: RuntimeStatus[] = [];
    const done = (async () => {
      for await (const s of cell.changes()) seen.push(s);
    })();
    await sleep(1);
    cell.update({ closed: true });
    await done;
    expect(seen.at(-1)).toMatchObject({ closed: true });

    const other = createStatusCell(initial);
    const ac = new AbortController();
    const got: RuntimeStatus[] = [];
    const ended = (async () => {
      for await (const s of other.changes(ac.signal)) got.push(s);
    })();
    await sleep(1);
    ac.abort();
    await ended;
    expect(got).toEqual([initial]);
  });
});

describe("runtime status", () => {
  it("starts offline with nothing pending, reports the remote cursor, and tracks pending", async () => {
    const remote = fakeRemote();
    remote.commitImpl = (_events, o) => hang(o?.signal);
    const vault = createMemoryVault();
    await vault.commit([], { cursor: { name: "remote", value: 42 } });
    const rt = runtime(remote, { vault });
    expect(rt.status()).toMatchObject({ online: false, leader: true, pending: 0, deadLetters: 0, caughtUp: false, closed: false });
    await expect.poll(() => rt.status().cursors.remote).toBe(42);
    await rt.commit("test.item", 1);
    await rt.commit("test.item", 2);
    expect(rt.status().pending).toBe(2);
    await rt.close();
    expect(rt.status()).toMatchObject({ closed: true, online: false, pending: 2 });
  });

  it("statusChanges() yields the current status first, then changes, coalescing for a slow reader, and ends after close", async () => {
    const remote = fakeRemote();
    remote.commitImpl = (_events, o) => hang(o?.signal);
    const rt = runtime(remote);
    await sleep(10); // let boot settle
    const it = rt.statusChanges()[Symbol.asyncIterator]();
    const now = rt.status();
    expect((await it.next()).value).toEqual(now);

    // A slow reader: five commits happen before it looks again.
    for (let i = 0; i < 5; i++) await rt.commit("test.item", i);
    const next = await it.next();
    expect(next.value).toMatchObject({ pending: 5 });

    // Then it follows along until close.
    const rest: RuntimeStatus[] = [];
    const done = (async () => {
      for (;;) {
        const r = await it.next();
        if (r.done) return;
        rest.push(r.value);
      }
    })();
    await rt.commit("test.item", 5);
    await expect.poll(() => rest.some((s) => s.pending === 6)).toBe(true);
    await rt.close();
    await done;
    expect(rest.at(-1)).toMatchObject({ closed: true, online: false });
  });

  it("statusChanges() after close yields the closed status and ends", async () => {
    const rt = runtime(fakeRemote());
    await rt.close();
    const seen: RuntimeStatus[] = [];
    for await (const s of rt.statusChanges()) seen.push(s);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ closed: true });
  });

  it("statusChanges({ signal }) ends when the signal aborts", async () => {
    const rt = runtime(fakeRemote());
    const ac = new AbortController();
    const seen: RuntimeStatus[] = [];
    const done = (async () => {
      for await (const s of rt.statusChanges({ signal: ac.signal })) seen.push(s);
    })();
    await sleep(5);
    ac.abort();
    await done;
    expect(seen.length).toBeGreaterThanOrEqual(1);
  });

  it("an error shows as lastError with its code and time, and online turns false", async () => {
    const remote = fakeRemote();
    let fail = true;
    remote.commitImpl = async (events, o) => {
      if (fail) throw new EventError(ErrorCode.unavailable, "no network");
      return remote.store.commit(events, o);
    };
    const rt = runtime(remote);
    await rt.commit("test.item", 1);
    await expect.poll(() => rt.status().lastError).toMatchObject({ code: ErrorCode.unavailable, message: "no network", at: expect.any(Number) });
    expect(rt.status().online).toBe(false);
    fail = false;
    await rt.flush();
    await expect.poll(() => rt.status()).toMatchObject({ online: true, pending: 0 });
  });

  it("a push that fails after the pull delivered its events leaves the status online", async () => {
    const remote = fakeRemote("feed");
    const vault = createMemoryVault();
    let fail = true;
    remote.commitImpl = async (events, o) => {
      const results = await remote.store.commit(events, o);
      if (!fail) return results;
      fail = false;
      // The reply is lost after the server stored the events; the pull brings them back first.
      await expect.poll(() => vault.outboxSize()).toBe(0);
      throw new EventError(ErrorCode.deadline_exceeded, "the operation timed out");
    };
    const rt = runtime(remote, { vault });
    await rt.commit("test.item", 1);
    await expect.poll(() => rt.status().lastError).toMatchObject({ code: ErrorCode.deadline_exceeded });
    await expect.poll(() => rt.status()).toMatchObject({ online: true, pending: 0, caughtUp: true });
    expect(remote.calls).toHaveLength(1);
  });

  it("online stays false while the pull fails, even when pushes work", async () => {
    const remote = fakeRemote("feed");
    const rt = runtime(remote);
    await rt.commit("test.item", 1);
    await expect.poll(() => rt.status()).toMatchObject({ online: true, caughtUp: true });
    remote.subscribeThrows.push(...Array.from({ length: 1000 }, () => new EventError(ErrorCode.unavailable, "pull down")));
    for (const s of remote.subs) s.queue.end(new EventError(ErrorCode.unavailable, "stream cut"));
    await expect.poll(() => rt.status().online).toBe(false);
    await rt.commit("test.item", 2);
    await rt.flush();
    expect(rt.status().online).toBe(false);
    remote.subscribeThrows.length = 0;
    await expect.poll(() => rt.status()).toMatchObject({ online: true, caughtUp: true });
  });

  it("a throwing metrics sink does not break commits, pushes or the snapshot", async () => {
    const boom = () => {
      throw new Error("exporter down");
    };
    const sink: MetricsSink = { add: boom, set: boom, record: () => { throw "not even an Error"; } };
    const remote = fakeRemote();
    const vault = createMemoryVault();
    const rt = runtime(remote, { vault, metrics: sink });
    for (let i = 0; i < 3; i++) await rt.commit("test.item", i);
    await rt.flush();
    expect(await remote.store.head()).toBe(3);
    expect(rt.metrics().counters["toka.runtime.events.committed"]).toBe(3);
    expect(rt.metrics().counters["toka.runtime.events.pushed"]).toBe(3);
    await expect.poll(() => rt.status()).toMatchObject({ pending: 0, online: true });
    expect(rt.status().lastError).toBeUndefined();
  });
});
