// Prints kernels-bench/results/latest.json (or the file given) as the markdown table the
// README quotes, so the README's numbers are copied from a run, never typed by hand.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { findPackageFile } from "../src/util/package-files.js";
import type { BenchEntry } from "./harness.js";

interface Results {
  date: string;
  node: string;
  cpu: string;
  cores: number;
  quick: boolean;
  /** kernels-bench only. */
  limits?: { memcpyGBps: number; f32PeakGflops: number; i16DotPeakGops: number };
  /** bench:train only. */
  threads?: number;
  memory?: { model: string; batch: number; steps: number; rssStartMB: number; rssEndMB: number; rssPeakMB: number; tensorsStart: number; tensorsEnd: number; flat: boolean };
  entries: BenchEntry[];
}

const file = process.argv[2] ?? join(dirname(findPackageFile("package.json", "run from the package")), "kernels-bench", "results", "latest.json");
const results = JSON.parse(readFileSync(file, "utf8")) as Results;
const fmt = (v: number | null): string => (v === null ? "-" : Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(2));

console.log(`Run of ${results.date.slice(0, 10)}, Node ${results.node}, ${results.cpu} (${results.cores} cores)${results.quick ? ", --quick" : ""}.`);
if (results.limits) {
  console.log(`Limits measured in the same run: memory.copy ${fmt(results.limits.memcpyGBps)} GB/s (read + write), ` +
    `f32x4 mul+add ${fmt(results.limits.f32PeakGflops)} GFLOP/s, i16 dot ${fmt(results.limits.i16DotPeakGops)} GOP/s.\n`);
}
if (results.threads !== undefined) console.log(`Our backend on ${results.threads} thread(s); PyTorch given the same.\n`);
console.log("| kernel | size | ours | baseline | baseline value | ratio | target |");
console.log("|---|---|---|---|---|---|---|");
for (const e of results.entries) {
  const target = e.target ? `${e.target}: ${e.met ? "met" : "**missed**"}` : "";
  const note = e.note ? ` (${e.note})` : "";
  console.log(`| ${e.kernel} | ${e.size} | ${fmt(e.ours)} ${e.unit} | ${e.baseline}${note} | ${fmt(e.baselineValue)} | ${e.ratio === null ? "-" : `${fmt(e.ratio)}x`} | ${target} |`);
}
const m = results.memory;
if (m) {
  console.log(`\nMemory: ${m.steps} ${m.model} training steps at batch ${m.batch}: RSS ${fmt(m.rssStartMB)} → ${fmt(m.rssEndMB)} MB ` +
    `(peak ${fmt(m.rssPeakMB)}), tensors ${m.tensorsStart} → ${m.tensorsEnd}: ${m.flat ? "flat" : "**climbs**"}.`);
}
