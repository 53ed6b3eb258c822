// Timing: the backoff formula, the real clock, and the wakeup doorbell the loops sleep on.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ErrorCode } from "../core/index.js";
import { backoff, type Clock, systemClock } from "./index.js";
import { createWakeup } from "./wakeup.js";

function randomClock(r: number): Clock {
  return { now: () => 0, sleep: async () => {}, random: () => r };
}

describe("backoff", () => {
  it("is half fixed, half random: cap/2 + cap/2 * random", () => {
    const retry = { baseMs: 100, maxMs: 10_000 };
    expect(backoff(0, retry, randomClock(0))).toBe(50);
    expect(backoff(0, retry, randomClock(0.5))).toBe(75);
    expect(backoff(1, retry, randomClock(0))).toBe(100);
    expect(backoff(3, retry, randomClock(0.25))).toBe(400 + 100);
  });

  it("grows exponentially until maxMs, then stays capped", () => {
    const retry = { baseMs: 10, maxMs: 300 };
    const lows = Array.from({ length: 10 }, (_, n) => backoff(n, retry, randomClock(0)));
    expect(lows).toEqual([5, 10, 20, 40, 80, 150, 150, 150, 150, 150]);
    const highs = Array.from({ length: 10 }, (_, n) => backoff(n, retry, randomClock(1 - 1e-12)));
    for (const h of highs) expect(h).toBeLessThan(300);
    expect(highs[9]).toBeCloseTo(300, 6);
  });

  it("defaults to 250 ms first and 30 s at most", () => {
    expect(backoff(0, {}, randomClock(0))).toBe(125);
    expect(backoff(100, {}, randomClock(0))).toBe(15_000);
    expect(backoff(100, {}, randomClock(1 - 1e-12))).toBeCloseTo(30_000, 3);
  });

  it("stays finite for huge attempt numbers", () => {
    expect(backoff(1e9, { baseMs: 1, maxMs: Number.MAX_SAFE_INTEGER }, randomClock(0))).toBe(2 ** 30 / 2);
    expect(Number.isFinite(backoff(Number.MAX_SAFE_INTEGER, {}, randomClock(0.5)))).toBe(true);
  });

  it("property: within [cap/2, cap), never above maxMs, never decreasing in attempt for a fixed random", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 200 }),
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, baseMs, maxMs, r) => {
          const retry = { baseMs, maxMs };
          const cap = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
          const d = backoff(attempt, retry, randomClock(r));
          expect(d).toBeGreaterThanOrEqual(cap / 2);
          expect(d).toBeLessThanOrEqual(cap);
          expect(d).toBeLessThanOrEqual(maxMs);
          expect(backoff(attempt + 1, retry, randomClock(r))).toBeGreaterThanOrEqual(d);
        },
      ),
    );
  });

  it("spreads clients out: different randoms give different delays", () => {
    const retry = { baseMs: 100, maxMs: 1000 };
    const delays = new Set([0, 0.2, 0.4, 0.6, 0.8].map((r) => backoff(2, retry, randomClock(r))));
    expect(delays.size).toBe(5);
  });
});

describe("systemClock", () => {
  it("now() is the wall clock in ms, random() is in [0, 1)", () => {
    const before = Date.now();
    const now = systemClock.now();
    expect(now).toBeGreaterThanOrEqual(before);
    expect(now).toBeLessThanOrEqual(Date.now());
    for (let i = 0; i < 1000; i++) {
      const r = systemClock.random();
      expect(r).toBeGreaterThanOrEqual(0);
      expect(r).toBeLessThan(1);
    }
  });

  it("sleep() resolves after about ms", async () => {
    const t0 = performance.now();
    await systemClock.sleep(20);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(15);
  });

  it("sleep() rejects with canceled when the signal is already aborted", async () => {
    await expect(systemClock.sleep(10, AbortSignal.abort())).rejects.toMatchObject({ code: ErrorCode.canceled });
  });

  it("sleep() rejects with canceled as soon as the signal aborts", async () => {
    const ac = new AbortController();
    const t0 = performance.now();
    const p = systemClock.sleep(60_000, ac.signal);
    setTimeout(() => ac.abort(), 5);
    await expect(p).rejects.toMatchObject({ name: "EventError", code: ErrorCode.canceled });
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it("sleep() lets go of its signal once it resolves", async () => {
    const ac = new AbortController();
    let listeners = 0;
    const add = ac.signal.addEventListener.bind(ac.signal);
    const remove = ac.signal.removeEventListener.bind(ac.signal);
    ac.signal.addEventListener = ((...a: Parameters<typeof add>) => {
      listeners++;
      add(...a);
    }) as typeof add;
    ac.signal.removeEventListener = ((...a: Parameters<typeof remove>) => {
      listeners--;
      remove(...a);
    }) as typeof remove;
    await systemClock.sleep(1, ac.signal);
    expect(listeners).toBe(0);
  });
});

describe("wakeup", () => {
  it("a ring before wait() makes the next wait return at once, only once", async () => {
    const w = createWakeup();
    const signal = new AbortController().signal;
    w.ring();
    const t0 = performance.now();
    await w.wait(60_000, signal);
    expect(performance.now() - t0).toBeLessThan(50);
    const t1 = performance.now();
    await w.wait(15, signal);
    expect(performance.now() - t1).toBeGreaterThanOrEqual(10);
  });

  it("a ring during wait() wakes it", async () => {
    const w = createWakeup();
    const p = w.wait(60_000, new AbortController().signal);
    setTimeout(() => w.ring(), 2);
    await p;
    // The ring was consumed: the next wait sleeps.
    let woke = false;
    const q = w.wait(30, new AbortController().signal).then(() => (woke = true));
    await new Promise((r) => setTimeout(r, 5));
    expect(woke).toBe(false);
    await q;
  });

  it("wait() ends at its timeout, or when its signal aborts", async () => {
    const w = createWakeup();
    const t0 = performance.now();
    await w.wait(10, new AbortController().signal);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(8);
    const ac = new AbortController();
    const p = w.wait(60_000, ac.signal);
    ac.abort();
    await p;
    await w.wait(60_000, ac.signal); // already aborted: at once
  });
});
