// Assertions for the contract suites. They use no test runner API, so the suites run unchanged
// under vitest, in Chromium, Deno and workerd; a failure throws a plain Error with a clear message.
import { EventError } from "../../core/index.js";

/** Fails unless `value` is truthy. */
export function ok(value: unknown, message: string): asserts value {
  if (!value) throw new Error(message);
}

/** Fails unless `actual` and `expected` are the same value (`Object.is`). */
export function equal<T>(actual: T, expected: T, message = "values differ"): void {
  if (!Object.is(actual, expected)) throw new Error(`${message}: expected ${show(expected)}, got ${show(actual)}`);
}

/**
 * Fails unless `actual` and `expected` are structurally equal: primitives by `Object.is`,
 * Uint8Arrays byte by byte (also across realms), arrays by element, objects by own enumerable keys.
 */
export function deepEqual(actual: unknown, expected: unknown, message = "values differ"): void {
  const where = difference(actual, expected, "");
  if (where !== undefined) throw new Error(`${message}: ${where}`);
}

/**
 * Calls `fn` and fails unless it throws or rejects with an EventError (by class, or by name
 * when it comes from another realm or over the wire) carrying `code`. Returns that error.
 */
export async function rejectsWithCode(fn: () => unknown, code: string, message = "expected an error"): Promise<Error> {
  let outcome: unknown;
  try {
    outcome = await fn();
  } catch (err) {
    const isEventError = err instanceof EventError || (err instanceof Error && err.name === "EventError");
    if (!isEventError) throw new Error(`${message}: expected EventError ${code}, got ${describeError(err)}`);
    const got = (err as { code?: unknown }).code;
    if (got !== code) throw new Error(`${message}: expected EventError ${code}, got ${String(got)}: ${err.message}`);
    return err;
  }
  throw new Error(`${message}: expected EventError ${code}, but it succeeded with ${show(outcome)}`);
}

function isBytes(x: unknown): x is Uint8Array {
  return x instanceof Uint8Array || (ArrayBuffer.isView(x) && x.constructor?.name === "Uint8Array");
}

function difference(a: unknown, b: unknown, path: string): string | undefined {
  if (Object.is(a, b)) return undefined;
  const at = path === "" ? "" : ` at ${path}`;
  if (isBytes(a) || isBytes(b)) {
    if (!isBytes(a) || !isBytes(b)) return `expected ${show(b)}, got ${show(a)}${at}`;
    if (a.length !== b.length || a.some((v, i) => v !== b[i])) return `expected ${show(b)}, got ${show(a)}${at}`;
    return undefined;
  }
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) {
    return `expected ${show(b)}, got ${show(a)}${at}`;
  }
  if (Array.isArray(a) !== Array.isArray(b)) return `expected ${show(b)}, got ${show(a)}${at}`;
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return `expected length ${b.length}, got ${a.length}${at}`;
    for (let i = 0; i < a.length; i++) {
      const d = difference(a[i], b[i], `${path}[${i}]`);
      if (d !== undefined) return d;
    }
    return undefined;
  }
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  if (ka.join() !== kb.join()) return `expected keys [${kb.join(", ")}], got [${ka.join(", ")}]${at}`;
  for (const k of ka) {
    const d = difference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`);
    if (d !== undefined) return d;
  }
  return undefined;
}

/** A short, readable rendering of a value for failure messages. */
export function show(v: unknown): string {
  if (isBytes(v)) {
    const hex = Array.from(v.subarray(0, 16), (x) => x.toString(16).padStart(2, "0")).join("");
    return `Uint8Array(${v.length})[${hex}${v.length > 16 ? "…" : ""}]`;
  }
  if (typeof v === "bigint") return `${v}n`;
  if (typeof v === "function") return "a function";
  try {
    const s = JSON.stringify(v, (_k, x: unknown) => (isBytes(x) ? show(x) : x));
    if (s === undefined) return String(v);
    return s.length > 300 ? s.slice(0, 300) + "…" : s;
  } catch {
    return String(v);
  }
}

function describeError(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return show(err);
}
