/**
 * Where the runtime reports measurements; OpenTelemetry-shaped (counters add, gauges set,
 * histograms record), so forwarding to an OpenTelemetry meter is a few lines.
 */
export interface MetricsSink {
  add(name: string, value: number): void;
  set(name: string, value: number): void;
  record(name: string, value: number): void;
}

/** A histogram's summary in a {@link MetricsSnapshot}. */
export interface HistogramSnapshot {
  count: number;
  sum: number;
  min: number;
  max: number;
  p50: number;
  p90: number;
  p99: number;
}

/** Every measurement so far. */
export interface MetricsSnapshot {
  counters: Record<string, number>;
  gauges: Record<string, number>;
  histograms: Record<string, HistogramSnapshot>;
}

/** The names the runtime reports under. Durations are in milliseconds. */
export const METRICS = {
  committed: "toka.runtime.events.committed",
  pushed: "toka.runtime.events.pushed",
  pulled: "toka.runtime.events.pulled",
  retried: "toka.runtime.push.retries",
  rejected: "toka.runtime.events.rejected",
  outboxDepth: "toka.runtime.outbox.depth",
  pullLag: "toka.runtime.pull.lag",
  commitDuration: "toka.runtime.commit.duration",
  pushDuration: "toka.runtime.push.duration",
  syncLatency: "toka.runtime.sync.latency",
} as const;

/** Values kept per histogram for percentiles: the most recent ones. */
const RESERVOIR = 2048;

/** An in-memory sink with {@link MetricsSnapshot}s, optionally forwarding to another sink. */
export function createMetrics(forward?: MetricsSink): MetricsSink & { snapshot(): MetricsSnapshot } {
  const counters = new Map<string, number>();
  const gauges = new Map<string, number>();
  const hists = new Map<string, { count: number; sum: number; min: number; max: number; recent: number[]; at: number }>();
  const safe = (fn: () => void) => {
    try {
      fn();
    } catch {
      // a broken exporter must not break the runtime
    }
  };
  return {
    add(name, v) {
      counters.set(name, (counters.get(name) ?? 0) + v);
      if (forward) safe(() => forward.add(name, v));
    },
    set(name, v) {
      gauges.set(name, v);
      if (forward) safe(() => forward.set(name, v));
    },
    record(name, v) {
      let h = hists.get(name);
      if (!h) hists.set(name, (h = { count: 0, sum: 0, min: Infinity, max: -Infinity, recent: [], at: 0 }));
      h.count++;
      h.sum += v;
      h.min = Math.min(h.min, v);
      h.max = Math.max(h.max, v);
      if (h.recent.length < RESERVOIR) h.recent.push(v);
      else h.recent[h.at++ % RESERVOIR] = v;
      if (forward) safe(() => forward.record(name, v));
    },
    snapshot() {
      const histograms: Record<string, HistogramSnapshot> = {};
      for (const [name, h] of hists) {
        const sorted = [...h.recent].sort((a, b) => a - b);
        const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
        histograms[name] = { count: h.count, sum: h.sum, min: h.min, max: h.max, p50: q(0.5), p90: q(0.9), p99: q(0.99) };
      }
      return { counters: Object.fromEntries(counters), gauges: Object.fromEntries(gauges), histograms };
    },
  };
}
