/** One measured case: `run` performs `ops` operations per call, sync or async. */
export interface Case {
  name: string;
  ops: number;
  run(): void | Promise<void>;
}

/** What {@link measureAll} reports for a case: the median rate of the rounds and their spread. */
export interface Result {
  name: string;
  /** Median operations per second over the rounds. */
  rate: number;
  /** (max - min) / median of the round rates: a rough noise gauge. */
  spread: number;
}

/** Time budget of one case: an untimed warm-up, then `rounds` timed rounds of `roundMs` each. */
export interface Budget {
  warmupMs: number;
  roundMs: number;
  rounds: number;
}

/** About 1 s per case: five rounds, so one GC pause or JIT tier-up skews one round, not the median. */
export const DEFAULT_BUDGET: Budget = { warmupMs: 250, roundMs: 200, rounds: 5 };

/**
 * Measures cases round-robin: every case is warmed up first, then each round times every case
 * once. Machine drift (a noisy neighbour, CPU clocks) and JIT state then hit all cases alike, so
 * ratios between them hold up better than if one case ran all its rounds before the next began.
 * A round always ends on a whole call of `run`, and its rate counts the calls it made.
 */
export async function measureAll(cases: readonly Case[], budget: Budget = DEFAULT_BUDGET): Promise<Result[]> {
  for (const c of cases) await spend(c, budget.warmupMs);
  const rates: number[][] = cases.map(() => []);
  for (let r = 0; r < budget.rounds; r++) {
    for (const [i, c] of cases.entries()) {
      const { calls, ms } = await spend(c, budget.roundMs);
      rates[i]!.push((calls * c.ops * 1000) / ms);
    }
  }
  return cases.map((c, i) => {
    const sorted = rates[i]!.sort((a, b) => a - b);
    const rate = sorted[sorted.length >> 1]!;
    return { name: c.name, rate, spread: (sorted[sorted.length - 1]! - sorted[0]!) / rate };
  });
}

async function spend(c: Case, budgetMs: number): Promise<{ calls: number; ms: number }> {
  const start = performance.now();
  let calls = 0;
  let now = start;
  do {
    // Await only real promises: an await per call would tax the sync cases with a microtask each.
    const p = c.run();
    if (p) await p;
    calls++;
    now = performance.now();
  } while (now - start < budgetMs);
  return { calls, ms: now - start };
}

/** A rate with an SI prefix, e.g. `5.23 M`; a space stands in for no prefix, so columns align. */
function formatRate(rate: number): string {
  if (rate >= 1e9) return `${(rate / 1e9).toFixed(2)} G`;
  if (rate >= 1e6) return `${(rate / 1e6).toFixed(2)} M`;
  if (rate >= 1e3) return `${(rate / 1e3).toFixed(1)} k`;
  return `${rate.toFixed(0)} `;
}

/** Prints results as an aligned table; `unit` names one operation (e.g. `events`). */
export function printTable(title: string, unit: string, results: readonly Result[]): void {
  const rows = results.map((r) => [r.name, formatRate(r.rate), `±${((r.spread * 100) / 2).toFixed(1)}%`]);
  // The spread column is half the range of the round rates, relative to the median.
  const head = ["case", `median ${unit}/s`, "±½ range"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  ");
  console.log(`\n## ${title}\n`);
  console.log(line(head));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const row of rows) console.log(line(row));
}

/**
 * Prints one ratio; with a target also PASS or MISS (a ratio at or above the target passes).
 * Absolute targets are given as a ratio to the floor, with target 1.
 */
export function ratio(name: string, value: number, target?: number): void {
  const shown = `${value.toFixed(2)}×`.padStart(8);
  const verdict = target === undefined ? "" : `  ${value >= target ? "PASS" : "MISS"} (target ≥ ${target.toFixed(2)}×)`;
  console.log(`${name.padEnd(58)} ${shown}${verdict}`);
}

/** The result named `name`; throws so a renamed case cannot silently drop a ratio line. */
export function pick(results: readonly Result[], name: string): number {
  const r = results.find((x) => x.name === name);
  if (!r) throw new Error(`no bench result named ${JSON.stringify(name)}`);
  return r.rate;
}
