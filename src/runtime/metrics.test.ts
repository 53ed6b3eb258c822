// Metrics: the in-memory sink and snapshot, and what the runtime reports under the METRICS names.
import { afterEach, describe, expect, it } from "vitest";
import { createMemoryVault } from "../adapters/memory/index.js";
import { createEvent, ErrorCode, EventError, json } from "../core/index.js";
import { type Clock, createMetrics, type HistogramSnapshot, METRICS, type MetricsSink } from "./index.js";
import { fakeRemote, runtimes } from "../../test/support/runtime-doubles.js";

const { runtime, closeAll } = runtimes();
afterEach(closeAll);

/** A clock whose time moves 3 ms at every reading, so durations are never all zero. */
function tickingClock(): Clock {
  let t = Date.now();
  return {
    now: () => (t += 3),
    sleep: (ms, signal) =>
      new Promise<void>((resolve, reject) => {
        if (signal?.aborted) return reject(new EventError(ErrorCode.canceled, "aborted"));
        const timer = setTimeout(resolve, Math.min(ms, 2));
        signal?.addEventListener("abort", () => {
          clearTimeout(timer);
          reject(new EventError(ErrorCode.canceled, "aborted"));
        }, { once: true });
      }),
    random: () => 0.5,
  };
}

function checkHistogram(h: HistogramSnapshot | undefined, count: number): void {
  expect(h).toBeDefined();
  expect(h!.count).toBe(count);
  for (const v of [h!.min, h!.max, h!.p50, h!.p90, h!.p99, h!.sum]) expect(Number.isFinite(v)).toBe(true);
  expect(h!.min).toBeGreaterThanOrEqual(0);
  expect(h!.min).toBeLessThanOrEqual(h!.p50);
  expect(h!.p50).toBeLessThanOrEqual(h!.p90);
  expect(h!.p90).toBeLessThanOrEqual(h!.p99);
  expect(h!.p99).toBeLessThanOrEqual(h!.max);
  expect(h!.sum).toBeGreaterThanOrEqual(h!.min * count - 1e-9);
  expect(h!.sum).toBeLessThanOrEqual(h!.max * count + 1e-9);
}

describe("createMetrics", () => {
  it("counters add up, gauges keep the last value", () => {
    const m = createMetrics();
    m.add("c", 1);
    m.add("c", 4);
    m.set("g", 10);
    m.set("g", 3);
    expect(m.snapshot()).toEqual({ counters: { c: 5 }, gauges: { g: 3 }, histograms: {} });
  });

  it("histograms report count, sum, min, max and percentiles", () => {
    const m = createMetrics();
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    // Shuffled deterministically: the order must not matter.
    for (let i = 0; i < 100; i++) m.record("h", values[(i * 37) % 100]!);
    const h = m.snapshot().histograms.h!;
    expect(h).toMatchObject({ count: 100, sum: 5050, min: 1, max: 100 });
    expect(h.p50).toBeGreaterThanOrEqual(50);
    expect(h.p50).toBeLessThanOrEqual(51);
    expect(h.p90).toBeGreaterThanOrEqual(90);
    expect(h.p90).toBeLessThanOrEqual(91);
    expect(h.p99).toBeGreaterThanOrEqual(99);
    expect(h.p99).toBeLessThanOrEqual(100);
  });

  it("a single value is every percentile", () => {
    const m = createMetrics();
    m.record("h", 7);
    expect(m.snapshot().histograms.h).toEqual({ count: 1, sum: 7, min: 7, max: 7, p50: 7, p90: 7, p99: 7 });
  });

  it("percentiles follow the most recent values; min, max and count cover all", () => {
    const m = createMetrics();
    for (let i = 0; i < 5000; i++) m.record("h", 1);
    for (let i = 0; i < 3000; i++) m.record("h", 1000);
    const h = m.snapshot().histograms.h!;
    expect(h).toMatchObject({ count: 8000, min: 1, max: 1000, p50: 1000, p99: 1000 });
  });

  it("a snapshot is a copy", () => {
    const m = createMetrics();
    m.add("c", 1);
    const s = m.snapshot();
    s.counters.c = 100;
    expect(m.snapshot().counters.c).toBe(1);
  });

  it("forwards every measurement, and a throwing forward changes nothing", () => {
    const seen: string[] = [];
    const sink: MetricsSink = {
      add: (n, v) => seen.push(`add ${n} ${v}`),
      set: (n, v) => seen.push(`set ${n} ${v}`),
      record: (n, v) => seen.push(`record ${n} ${v}`),
    };
    const m = createMetrics(sink);
    m.add("c", 2);
    m.set("g", 3);
    m.record("h", 4);
    expect(seen).toEqual(["add c 2", "set g 3", "record h 4"]);

    const broken = createMetrics({
      add: () => {
        throw new Error("x");
      },
      set: () => {
        throw undefined;
      },
      record: () => {
        throw "y";
      },
    });
    expect(() => {
      broken.add("c", 1);
      broken.set("g", 1);
      broken.record("h", 1);
    }).not.toThrow();
    expect(broken.snapshot()).toMatchObject({ counters: { c: 1 }, gauges: { g: 1 }, histograms: { h: { count: 1 } } });
  });

  it("names are OpenTelemetry-shaped (dotted, lowercase) and distinct", () => {
    const names = Object.values(METRICS);
    expect(new Set(names).size).toBe(names.length);
    for (const n of names) expect(n).toMatch(/^toka\.runtime(\.[a-z]+)+$/);
  });
});

describe("runtime metrics", () => {
  async function scenario() {
    const remote = fakeRemote();
    let unavailable = 2;
    remote.commitImpl = async (events, o) => {
      if (unavailable-- > 0) throw new EventError(ErrorCode.unavailable, "down");
      if (events.some((e) => e.header.kind === "test.bad")) throw new EventError(ErrorCode.invalid_argument, "bad kind");
      return remote.store.commit(events, o);
    };
    const forwarded: string[] = [];
    const sink: MetricsSink = { add: (n) => forwarded.push(n), set: (n) => forwarded.push(n), record: (n) => forwarded.push(n) };
    const vault = createMemoryVault();
    const rt = runtime(remote, { vault, clock: tickingClock(), metrics: sink });
    for (let i = 0; i < 4; i++) await rt.commit("test.item", i);
    await rt.commit("test.bad", "refused");
    await rt.flush();
    // Two events from another client arrive through the subscription.
    await expect.poll(() => remote.subs.length).toBeGreaterThanOrEqual(1);
    const others = [createEvent({ kind: "test.other", payload: json.encode(1) }), createEvent({ kind: "test.other", payload: json.encode(2) })];
    const r = await remote.store.commit(others);
    for (let i = 0; i < 2; i++) void remote.subs.at(-1)!.queue.push({ type: "event", event: { ...others[i]!, seq: r[i]!.seq } });
    await expect.poll(() => vault.cursor("remote")).toBe(r[1]!.seq);
    return { rt, forwarded, remote, vault };
  }

  it("counts committed, pushed, pulled, retried and rejected events, with the outbox depth as a gauge", async () => {
    const { rt, forwarded } = await scenario();
    const { counters, gauges } = rt.metrics();
    expect(counters[METRICS.committed]).toBe(5);
    expect(counters[METRICS.pushed]).toBe(4);
    expect(counters[METRICS.pulled]).toBe(2);
    expect(counters[METRICS.retried]).toBe(2);
    expect(counters[METRICS.rejected]).toBe(1);
    expect(gauges[METRICS.outboxDepth]).toBe(0);
    expect(rt.status().deadLetters).toBe(counters[METRICS.rejected]);
    expect((await rt.deadLetters()).length).toBe(counters[METRICS.rejected]);
    // The metrics option sees the same names.
    for (const name of [METRICS.committed, METRICS.pushed, METRICS.pulled, METRICS.retried, METRICS.rejected, METRICS.outboxDepth]) {
      expect(forwarded).toContain(name);
    }
  });

  it("keeps commit and push durations and sync latency as histograms", async () => {
    const { rt } = await scenario();
    const { histograms, counters } = rt.metrics();
    checkHistogram(histograms[METRICS.commitDuration], 5);
    checkHistogram(histograms[METRICS.syncLatency], 4);
    const push = histograms[METRICS.pushDuration];
    checkHistogram(push, push?.count ?? -1);
    expect(push!.count).toBeGreaterThanOrEqual(1);
    expect(push!.count).toBeLessThanOrEqual(counters[METRICS.pushed]!);
    expect(histograms[METRICS.commitDuration]!.min).toBeGreaterThan(0); // the ticking clock moved
  });

  it("the outbox depth gauge follows commits while offline", async () => {
    const remote = fakeRemote();
    remote.commitImpl = async () => {
      throw new EventError(ErrorCode.unavailable, "offline");
    };
    const rt = runtime(remote);
    for (let i = 0; i < 3; i++) await rt.commit("test.item", i);
    expect(rt.metrics().gauges[METRICS.outboxDepth]).toBe(3);
    await expect.poll(() => rt.metrics().counters[METRICS.retried] ?? 0).toBeGreaterThanOrEqual(2);
  });

  it("reports every METRICS name after a push and pull cycle (pull lag included)", async () => {
    const { rt } = await scenario();
    const snap = rt.metrics();
    const reported = new Set([...Object.keys(snap.counters), ...Object.keys(snap.gauges), ...Object.keys(snap.histograms)]);
    const missing = Object.entries(METRICS).filter(([, name]) => !reported.has(name)).map(([key]) => key);
    expect(missing).toEqual([]);
    // A gauge: pulled events waiting to be committed; nothing waits once the pull is done.
    expect(snap.gauges[METRICS.pullLag]).toBe(0);
  });
});
