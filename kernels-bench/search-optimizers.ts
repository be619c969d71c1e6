// npm run bench:search [-- --seeds 20] [-- --trials 50] [-- --functions branin,hartmann6,levy20] [-- --no-optuna] [-- --quick]
// The optimizers of `--optimizer` (random, tpe, gp, and tpe with one joint mixture) on Branin,
// Hartmann-6 and Levy-20: the best value after `trials` trials for each of `seeds` seeds, as
// median and quartiles, and the optimizer's own time per trial (ask + tell, the function not
// counted). Optuna's TPESampler (its defaults, and multivariate=True) runs on the same functions
// and budgets through kernels-bench/anchors/search_optuna.py with the system Python, and is
// skipped with a note when that Python or Optuna is missing.
// Writes kernels-bench/results/search-optimizers.json (temporary file, then renamed).
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Optimizer } from "../src/search/optimizer.js";
import { optimizerByName } from "../src/search/optimizers.js";
import { testFunctions, type TestFunction } from "../src/search/test-functions.js";
import { TpeOptimizer } from "../src/search/tpe.js";
import { findPackageFile } from "../src/util/package-files.js";
import { writeResultsJson } from "./results-file.js";
import { flagValue } from "./flags.js";

/** Debian's interpreter, where python3-optuna is installed (a virtualenv's python3 may not see it). */
const PYTHON = "/usr/bin/python3";

interface Summary {
  best: number[];
  median: number;
  q1: number;
  q3: number;
  msPerTrial: number;
}

type Runner = { label: string; make: (fn: TestFunction, seed: number) => Optimizer };

const RUNNERS: Runner[] = [
  ...["random", "tpe", "gp"].map((name) => ({ label: name, make: (fn: TestFunction, seed: number) => optimizerByName(name, fn.space, { seed }) })),
  { label: "tpe (multivariate)", make: (fn, seed) => new TpeOptimizer(fn.space, { seed, multivariate: true }) },
];

const option = (flag: string, fallback: string): string => flagValue(process.argv, flag) ?? fallback;

/** The q-quantile of sorted values, interpolated linearly (numpy's default). */
function quantile(sorted: readonly number[], q: number): number {
  const at = q * (sorted.length - 1);
  const lo = Math.floor(at);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo] + (at - lo) * (sorted[hi] - sorted[lo]);
}

function summarize(best: number[], msPerTrial: number): Summary {
  const sorted = [...best].sort((a, b) => a - b);
  return { best, median: quantile(sorted, 0.5), q1: quantile(sorted, 0.25), q3: quantile(sorted, 0.75), msPerTrial };
}

/** One study: the best value after `trials` trials and the time spent in ask and tell. */
function study(optimizer: Optimizer, fn: TestFunction, trials: number): { best: number; ms: number } {
  let best = Infinity;
  let ms = 0;
  for (let t = 0; t < trials; t++) {
    const start = performance.now();
    const point = optimizer.ask();
    ms += performance.now() - start;
    const value = fn.evaluate(point);
    best = Math.min(best, value);
    const told = performance.now();
    optimizer.tell({ point, score: -value });
    ms += performance.now() - told;
  }
  return { best, ms };
}

function runOurs(fn: TestFunction, runner: Runner, seeds: number, trials: number): Summary {
  const best: number[] = [];
  let ms = 0;
  for (let seed = 0; seed < seeds; seed++) {
    const result = study(runner.make(fn, seed), fn, trials);
    best.push(result.best);
    ms += result.ms;
  }
  return summarize(best, ms / (seeds * trials));
}

/** Optuna's TPESampler through the anchor, or a string saying why it did not run. */
function runOptuna(functions: string[], seeds: number, trials: number, multivariate: boolean): Record<string, Summary> | string {
  if (!existsSync(PYTHON)) return `skipped: ${PYTHON} not found`;
  const script = findPackageFile("kernels-bench/anchors/search_optuna.py", "run from a checkout");
  const run = spawnSync(PYTHON, [script, JSON.stringify({ functions, seeds, trials, multivariate })], { encoding: "utf8", timeout: 1_800_000 });
  const lastLine = (run.stdout ?? "").trim().split("\n").pop() ?? "";
  let parsed: { error?: string; optuna?: string; results?: Record<string, { best: number[]; msPerTrial: number }> };
  try {
    parsed = JSON.parse(lastLine) as typeof parsed;
  } catch {
    return `skipped: the Optuna anchor failed (${(run.stderr || run.error?.message || `status ${run.status}`).trim().split("\n").pop()})`;
  }
  if (parsed.error !== undefined) return `skipped: ${parsed.error}`;
  const results = parsed.results ?? {};
  return Object.fromEntries(Object.entries(results).map(([name, r]) => [name, summarize(r.best, r.msPerTrial)]));
}

const cell = (s: Summary): string => `${s.median.toPrecision(4)} [${s.q1.toPrecision(4)}, ${s.q3.toPrecision(4)}]`;

function printTable(fn: TestFunction, rows: Array<[string, Summary]>): void {
  console.log(`\n${fn.name} (minimum ${fn.minimum}): median best [quartiles], ms per trial (ask + tell)`);
  for (const [label, s] of rows) console.log(`  ${label.padEnd(26)} ${cell(s).padEnd(34)} ${s.msPerTrial.toFixed(2).padStart(8)} ms`);
}

/** The targets of the issue: gp and tpe below random on every function; tpe at least as good as Optuna's default TPE. */
function targets(results: Record<string, Record<string, Summary>>): Record<string, Record<string, boolean | null>> {
  const verdicts: Record<string, Record<string, boolean | null>> = {};
  for (const [name, rows] of Object.entries(results)) {
    const optuna = rows["optuna TPESampler"];
    verdicts[name] = {
      gpBelowRandom: rows.gp.median < rows.random.median,
      tpeBelowRandom: rows.tpe.median < rows.random.median,
      tpeAtLeastOptuna: optuna ? rows.tpe.median <= optuna.median : null,
    };
  }
  return verdicts;
}

function main(): void {
  const quick = process.argv.includes("--quick");
  const seeds = Number(option("--seeds", quick ? "5" : "20"));
  const trials = Number(option("--trials", quick ? "30" : "50"));
  const names = option("--functions", testFunctions.map((f) => f.name).join(",")).split(",");
  const functions = testFunctions.filter((f) => names.includes(f.name));
  const optuna = process.argv.includes("--no-optuna") ? "skipped: --no-optuna" : runOptuna(names, seeds, trials, false);
  const optunaMultivariate = process.argv.includes("--no-optuna") ? "skipped: --no-optuna" : runOptuna(names, seeds, trials, true);
  for (const note of [optuna, optunaMultivariate]) if (typeof note === "string") console.log(`Optuna ${note}`);
  const results: Record<string, Record<string, Summary>> = {};
  for (const fn of functions) {
    const rows: Array<[string, Summary]> = RUNNERS.map((runner) => [runner.label, runOurs(fn, runner, seeds, trials)]);
    if (typeof optuna !== "string" && optuna[fn.name]) rows.push(["optuna TPESampler", optuna[fn.name]]);
    if (typeof optunaMultivariate !== "string" && optunaMultivariate[fn.name]) rows.push(["optuna TPESampler (multiv.)", optunaMultivariate[fn.name]]);
    printTable(fn, rows);
    results[fn.name] = Object.fromEntries(rows);
  }
  const verdicts = targets(results);
  console.log("\ntargets:", JSON.stringify(verdicts));
  const report = {
    at: new Date().toISOString(), node: process.version, seeds, trials, quick,
    optuna: typeof optuna === "string" ? optuna : "TPESampler(seed) defaults: 10 startup trials, 24 candidates",
    results, targets: verdicts,
  };
  const out = join(dirname(findPackageFile("package.json", "run from a checkout")), "kernels-bench", "results", quick ? "search-optimizers-quick.json" : "search-optimizers.json");
  writeResultsJson(out, report);
  console.log(`written to ${out}`);
}

main();
