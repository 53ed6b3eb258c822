import { ErrorCode, EventError } from "../core/index.js";
import type { EventRuntimeOptions } from "./runtime.js";

/** Checks the numbers and choices of {@link EventRuntimeOptions}: `invalid_argument` names the first bad one. */
export function checkRuntimeOptions(opts: EventRuntimeOptions): void {
  const whole = (name: string, v: unknown, min: number, orInfinity = false) => {
    if (v === undefined || (orInfinity && v === Infinity)) return;
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min) {
      throw new EventError(ErrorCode.invalid_argument, `${name} must be an integer of at least ${min}, got ${String(v)}`);
    }
  };
  const ms = (name: string, v: unknown) => {
    if (v === undefined) return;
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
      throw new EventError(ErrorCode.invalid_argument, `${name} must be a non-negative number of ms, got ${String(v)}`);
    }
  };
  whole("batch.maxEvents", opts.batch?.maxEvents, 1);
  whole("batch.maxBytes", opts.batch?.maxBytes, 1);
  whole("batch.maxInFlight", opts.batch?.maxInFlight, 1);
  ms("batch.delayMs", opts.batch?.delayMs);
  ms("retry.baseMs", opts.retry?.baseMs);
  ms("retry.maxMs", opts.retry?.maxMs);
  whole("limits.maxPending", opts.limits?.maxPending, 1, true);
  const policy = opts.limits?.policy;
  if (policy !== undefined && policy !== "block" && policy !== "reject") {
    throw new EventError(ErrorCode.invalid_argument, `limits.policy must be "block" or "reject", got ${String(policy)}`);
  }
  whole("pull.maxBatch", opts.pull?.maxBatch, 1);
  ms("idleMs", opts.idleMs);
}
