/**
 * The offline-first sync engine: durable outbox, push and pull loops, retries, back-pressure,
 * status and metrics, over a local vault and a remote store.
 *
 * @module
 */
export { backoff, type Clock, type RetryOptions, systemClock } from "./clock.js";
export { createMetrics, type HistogramSnapshot, METRICS, type MetricsSink, type MetricsSnapshot } from "./metrics.js";
export { type PullOptions, REMOTE_CURSOR } from "./puller.js";
export type { BatchOptions } from "./pusher.js";
export {
  createEventRuntime,
  type EventRuntime,
  type EventRuntimeOptions,
  type Leadership,
  type RuntimeCommitOptions,
  type RuntimeLimits,
} from "./runtime.js";
export type { RuntimeStatus } from "./status.js";
