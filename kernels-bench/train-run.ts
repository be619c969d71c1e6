// npm run bench:train [-- --quick] [-- --models resnet20,lenet5] [-- --batches 32] [-- --threads 2] [-- --out FILE]
// Training and inference throughput of the bench networks on our backend against tfjs cpu,
// tfjs-wasm and PyTorch; prints tables and writes kernels-bench/results/train-latest.json
// (written to a temporary file, then renamed).
import { setBackendThreads } from "../src/backend/executor.js";
import { cpus } from "node:os";
import { dirname, join } from "node:path";
import { findPackageFile } from "../src/util/package-files.js";
import type { BenchEntry } from "./harness.js";
import { BENCH_MODELS, benchTrain, type BenchModelName, type MemoryCheck, type TrainBenchOptions, type TrainProfile } from "./train.js";
import { enableRelaxedSimd } from "../src/kernels/wasm-module.js";
import { writeResultsJson } from "./results-file.js";

function valueAfter(argv: string[], flag: string): string | null {
  const i = argv.indexOf(flag);
  return i >= 0 ? argv[i + 1] ?? "" : null;
}

function parseArgs(argv: string[]): TrainBenchOptions & { out: string | null } {
  const quick = argv.includes("--quick");
  const modelsArg = valueAfter(argv, "--models");
  const models = modelsArg === null ? undefined : modelsArg.split(",").filter(Boolean) as BenchModelName[];
  for (const m of models ?? []) {
    if (!(m in BENCH_MODELS)) throw new Error(`bench:train: unknown model "${m}"; choose from ${Object.keys(BENCH_MODELS).join(", ")}`);
  }
  const batchesArg = valueAfter(argv, "--batches");
  const batches = batchesArg === null ? undefined : batchesArg.split(",").filter(Boolean).map(Number);
  for (const b of batches ?? []) {
    if (!Number.isInteger(b) || b < 1) throw new Error(`bench:train: batches must be integers >= 1, but got "${batchesArg}"`);
  }
  const threadsArg = valueAfter(argv, "--threads");
  if (threadsArg !== null) setBackendThreads(Number(threadsArg));
  return { quick, models, batches, out: valueAfter(argv, "--out") };
}

const fmt = (v: number | null | undefined, digits = 2): string =>
  v === null || v === undefined ? "-" : Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(digits);

function printRows(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join(" | ");
  console.log(line(header));
  console.log(widths.map((w) => "-".repeat(w)).join("-|-"));
  for (const r of rows) console.log(line(r));
}

function printEntries(entries: BenchEntry[]): void {
  printRows(
    ["config", "size", "ours", "baseline", "baseline value", "ratio", "note"],
    entries.map((e) => [e.kernel, e.size, `${fmt(e.ours)} ${e.unit}`, e.baseline, fmt(e.baselineValue), e.ratio === null ? "-" : `${fmt(e.ratio)}x`, e.note ?? ""]),
  );
}

function printProfile(profile: TrainProfile | string): void {
  if (typeof profile === "string") {
    console.log(`\nprofile: ${profile}`);
    return;
  }
  console.log(`\nprofile: one ${profile.model} training step on ours, batch ${profile.batch}: ${fmt(profile.stepMs)} ms, ` +
    `${fmt(profile.outsideKernelsMs)} ms outside kernels${profile.note ? ` (${profile.note})` : ""}`);
  printRows(
    ["kernel", "ms", "calls", "share of step", "runs on"],
    profile.top.map((k) => [k.kernel, fmt(k.ms), String(k.calls), `${(100 * k.share).toFixed(1)}%`, k.composite ? "op scope (includes its kernels)" : k.ours ? "ours" : "tfjs cpu kernel"]),
  );
}

function printMemory(memory: MemoryCheck | string): void {
  if (typeof memory === "string") {
    console.log(`\nmemory: ${memory}`);
    return;
  }
  console.log(`\nmemory: ${memory.steps} ${memory.model} training steps on ours, batch ${memory.batch}: ` +
    `RSS ${fmt(memory.rssStartMB)} → ${fmt(memory.rssEndMB)} MB (peak ${fmt(memory.rssPeakMB)}), ` +
    `tensors ${memory.tensorsStart} → ${memory.tensorsEnd}: ${memory.flat ? "flat" : "CLIMBS"}${memory.note ? ` (${memory.note})` : ""}`);
}

async function main(): Promise<void> {
  const { out, ...opts } = parseArgs(process.argv.slice(2));
  const started = performance.now();
  console.error("running train...");
  const result = await benchTrain(opts, (line) => console.error(line));
  printEntries(result.entries);
  printProfile(result.profile);
  printMemory(result.memory);
  for (const note of result.notes) console.log(`note: ${note}`);
  const report = {
    date: new Date().toISOString(),
    node: process.version,
    cpu: cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    quick: opts.quick,
    seconds: (performance.now() - started) / 1000,
    ...result,
  };
  const file = out ?? join(dirname(findPackageFile("package.json", "run from the package")), "kernels-bench", "results", "train-latest.json");
  writeResultsJson(file, report);
  console.error(`wrote ${file} (${report.seconds.toFixed(1)} s)`);
}

// Our own program may turn on relaxed SIMD (the library never does), before any kernel loads.
enableRelaxedSimd();
main().catch((error) => {
  console.error(error instanceof Error ? error.stack ?? error.message : error);
  process.exit(1);
});
