// Test-only (Node): checks what a runtime reports against the tests Node registered by name.
import type { TestResult } from "../runner.js";

/** One test as a runtime's own runner reported it. */
export interface Reported {
  name: string;
  ok: boolean;
  error?: string;
}

/**
 * Throws unless every name in `expected` was reported exactly once and passed, and nothing else
 * was reported: an empty or partial run fails, listing what failed, what is missing and what is extra.
 */
export function assertAllPassed(where: string, expected: string[], reported: readonly Reported[]): void {
  const problems: string[] = [];
  const byName = new Map<string, Reported[]>();
  for (const r of reported) byName.set(r.name, [...(byName.get(r.name) ?? []), r]);
  for (const name of expected) {
    const got = byName.get(name) ?? [];
    if (got.length === 0) problems.push(`  missing: ${name}`);
    else if (got.length > 1) problems.push(`  reported ${got.length} times: ${name}`);
    for (const r of got) if (!r.ok) problems.push(`  FAILED: ${name}\n      ${(r.error ?? "").split("\n").join("\n      ")}`);
  }
  const known = new Set(expected);
  for (const r of reported) if (!known.has(r.name)) problems.push(`  unexpected: ${r.name}`);
  const passed = reported.filter((r) => r.ok && known.has(r.name)).length;
  if (expected.length === 0) problems.push("  no tests were expected: the suites registered nothing");
  if (problems.length > 0 || passed !== expected.length) {
    throw new Error(`${where}: ${passed} of ${expected.length} tests passed\n${problems.join("\n")}`);
  }
}

const XML_ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

function unescapeXml(s: string): string {
  return s.replace(/&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-f]+);/gi, (_, e: string) =>
    e[0] === "#" ? String.fromCodePoint(e[1] === "x" || e[1] === "X" ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10)) : XML_ENTITIES[e]!,
  );
}

/** The test cases of a JUnit report (as `deno test --junit-path` writes it); skipped cases count as not ok. */
export function parseJunit(xml: string): Reported[] {
  const cases: Reported[] = [];
  for (const m of xml.matchAll(/<testcase\b([^>]*?)(?:\/>|>([\s\S]*?)<\/testcase>)/g)) {
    const name = /\bname="([^"]*)"/.exec(m[1]!)?.[1];
    if (name === undefined) continue;
    const body = m[2] ?? "";
    const failure = /<failure\b[^>]*>([\s\S]*?)<\/failure>|<failure\b[^>]*\/>/.exec(body);
    const skipped = /<skipped\b/.test(body);
    cases.push({
      name: unescapeXml(name),
      ok: !failure && !skipped,
      ...(failure ? { error: unescapeXml(failure[1] ?? "failed") } : skipped ? { error: "skipped" } : {}),
    });
  }
  return cases;
}

/** Total run time of results, for the log. */
export const totalMs = (results: readonly TestResult[]) => results.reduce((s, r) => s + r.ms, 0);
