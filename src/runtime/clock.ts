import { EventError } from "../core/index.js";

/** Time for the runtime: injectable so tests can control backoff and timestamps. */
export interface Clock {
  now(): number;
  /** Resolves after `ms`, or rejects with `canceled` when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** A number in [0, 1) for jitter. */
  random(): number;
}

/** The real clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(new EventError("canceled", "sleep aborted"));
      const timer = setTimeout(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      }, ms);
      const onAbort = () => {
        clearTimeout(timer);
        reject(new EventError("canceled", "sleep aborted"));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
    }),
  random: () => Math.random(),
};

/** Retry pacing: capped exponential backoff with jitter. */
export interface RetryOptions {
  /** First delay (default 250 ms). */
  baseMs?: number;
  /** Longest delay (default 30 s). */
  maxMs?: number;
}

/** The delay before retry number `attempt` (0-based): half fixed, half random, so clients spread out. */
export function backoff(attempt: number, retry: RetryOptions, clock: Clock): number {
  const cap = Math.min(retry.maxMs ?? 30_000, (retry.baseMs ?? 250) * 2 ** Math.min(attempt, 30));
  return cap / 2 + (cap / 2) * clock.random();
}
