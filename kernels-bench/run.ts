// npm run bench:kernels [-- --quick] [-- --only quantize,gemm]
// Measures every kernel family against its baselines in one run, prints a table and writes
// kernels-bench/results/latest.json (written to a temporary file, then renamed).
import { cpus } from "node:os";
import { dirname, join } from "node:path";
import { kernels } from "../src/kernels/core.js";
import { findPackageFile } from "../src/util/package-files.js";
import { benchGemm } from "./gemm.js";
import type { BenchEntry, BenchOptions } from "./harness.js";
import { benchIm2col } from "./im2col.js";
import { benchKmeans } from "./kmeans.js";
import { benchLasso } from "./lasso.js";
import { measureLimits, type MachineLimits } from "./limits.js";
import { benchMask } from "./mask.js";
import { benchPool } from "./pool.js";
import { benchQuantize } from "./quantize.js";
import { enableRelaxedSimd } from "../src/kernels/wasm-module.js";
import { writeResultsJson } from "./results-file.js";

type Family = (opts: BenchOptions, limits: MachineLimits) => Promise<BenchEntry[]>;

const FAMILIES: Record<string, Family> = {
  quantize: benchQuantize,
  mask: (opts) => benchMask(opts),
  kmeans: (opts) => benchKmeans(opts),
  lasso: (opts) => benchLasso(opts),
  im2col: (opts) => benchIm2col(opts),
  gemm: benchGemm,
  pool: (opts) => benchPool(opts),
};

function parseArgs(argv: string[]): { quick: boolean; only: string[] | null; out: string | null } {
  const quick = argv.includes("--quick");
  const onlyIndex = argv.indexOf("--only");
  const only = onlyIndex >= 0 ? (argv[onlyIndex + 1] ?? "").split(",").filter(Boolean) : null;
  const outIndex = argv.indexOf("--out");
  const out = outIndex >= 0 ? argv[outIndex + 1] ?? null : null;
  for (const name of only ?? []) {
    if (!(name in FAMILIES)) throw new Error(`bench:kernels: unknown family "${name}"; choose from ${Object.keys(FAMILIES).join(", ")}`);
  }
  return { quick, only, out };
}

const fmt = (v: number | null | undefined, digits = 2): string =>
  v === null || v === undefined ? "-" : Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(digits);

function printTable(entries: BenchEntry[]): void {
  const rows = entries.map((e) => [
    e.kernel, e.size, `${fmt(e.ours)} ${e.unit}`, e.baseline, fmt(e.baselineValue), e.ratio === null ? "-" : `${fmt(e.ratio)}x`,
    e.target ? `${e.target}: ${e.met ? "met" : "MISSED"}` : "", e.note ?? "",
  ]);
  const header = ["kernel", "size", "ours", "baseline", "baseline value", "ratio", "target", "note"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join(" | ");
  console.log(line(header));
  console.log(widths.map((w) => "-".repeat(w)).join("-|-"));
  for (const r of rows) console.log(line(r));
}

async function main(): Promise<void> {
  const { quick, only, out } = parseArgs(process.argv.slice(2));
  const opts: BenchOptions = { quick };
  const started = performance.now();
  const core = kernels();
  const limits = measureLimits(core, opts, quick ? 64 << 20 : 128 << 20);
  console.error(`limits: memcpy ${limits.memcpyGBps.toFixed(1)} GB/s, f32 mul+add ${limits.f32PeakGflops.toFixed(1)} GFLOP/s, i16 dot ${limits.i16DotPeakGops.toFixed(1)} GOP/s`);
  const entries: BenchEntry[] = [];
  for (const [name, family] of Object.entries(FAMILIES)) {
    if (only && !only.includes(name)) continue;
    const t0 = performance.now();
    console.error(`running ${name}...`);
    entries.push(...(await family(opts, limits)));
    console.error(`  ${name} done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  printTable(entries);
  const result = {
    date: new Date().toISOString(),
    node: process.version,
    cpu: cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    quick,
    seconds: (performance.now() - started) / 1000,
    limits,
    entries,
  };
  const file = out ?? join(dirname(findPackageFile("package.json", "run from the package")), "kernels-bench", "results", "latest.json");
  writeResultsJson(file, result);
  console.error(`wrote ${file} (${result.seconds.toFixed(1)} s)`);
}

// Our own program may turn on relaxed SIMD (the library never does), before any kernel loads.
enableRelaxedSimd();
main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
