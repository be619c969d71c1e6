// node dist/kernels-bench/engine-bundle.js [--runs 7] [--out kernels-bench/results/engine-bundle-latest.json]
// What a serverless function or an edge box ships to run a compressed model on our engine, and
// how fast it starts. There is no bundler among our dependencies, so the bundle is measured as
// the files the engine needs at run time: the transitive closure of its JS modules under
// dist/src (checked to import nothing but node builtins: no tfjs), the kernels' wasm, and the
// model packed by deploy/model-pack.ts. A bundler would minify the JS (not the wasm or the
// weights), so these bytes are an upper bound. Cold start: a fresh `node` process that imports
// the engine, reads and unpacks the model, loads it and runs one batch-1 inference; the median
// of several, as wall time of the whole child (node's own boot included) and inside it.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { builtinModules } from "node:module";
import { calibratedInt8Model } from "../src/deploy/calibrate.js";
import { packModel } from "../src/deploy/model-pack.js";
import { loadCompressedModel } from "../src/io/compressed-model-dir.js";
import type { CompressedModel } from "../src/graph/compressed-model.js";

const here = dirname(fileURLToPath(import.meta.url));
const distSrc = resolve(here, "../src");
const root = resolve(here, "../..");
const ENTRIES = ["deploy/engine.js", "deploy/model-pack.js"];

/** Every JS module reachable from the entries by relative imports; bare specifiers other than node builtins are errors. */
export function moduleClosure(entries: string[]): string[] {
  const seen = new Set<string>();
  const pending = entries.map((entry) => join(distSrc, entry));
  const specifier = /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*["']([^"']+)["']|import\s*\(\s*["']([^"']+)["']\s*\)|^import\s*["']([^"']+)["']/gm;
  while (pending.length > 0) {
    const file = pending.pop() as string;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const match of readFileSync(file, "utf8").matchAll(specifier)) {
      const name = match[1] ?? match[2] ?? match[3];
      if (name.startsWith(".")) pending.push(resolve(dirname(file), name));
      else if (!name.startsWith("node:") && !builtinModules.includes(name)) {
        throw new Error(`engine-bundle: ${file} imports the package '${name}'; the engine must run on node builtins alone`);
      }
    }
  }
  return [...seen].sort();
}

const bytesOf = (files: string[]): number => files.reduce((sum, file) => sum + statSync(file).size, 0);

/** The child's script: import, unpack, load, one inference; prints its own timings as JSON. */
function childScript(engineUrl: string, packUrl: string, dir: string, precision: string): string {
  return `const t0 = performance.now();
const { loadEngine } = await import(${JSON.stringify(engineUrl)});
const { unpackModel } = await import(${JSON.stringify(packUrl)});
const { readFileSync } = await import("node:fs");
const t1 = performance.now();
const model = unpackModel(readFileSync(${JSON.stringify(join(dir, "model.json"))}, "utf8"), readFileSync(${JSON.stringify(join(dir, "weights.bin"))}));
const engine = loadEngine(model, { precision: ${JSON.stringify(precision)} });
const t2 = performance.now();
const size = engine.inputShape.reduce((a, b) => a * b, 1);
const logits = engine.run(new Float32Array(size).fill(0.5), 1);
const t3 = performance.now();
if (!logits.every(Number.isFinite)) throw new Error("cold start: non-finite logits");
console.log(JSON.stringify({ importMs: t1 - t0, loadMs: t2 - t1, firstRunMs: t3 - t2, inProcessMs: t3 - t0 }));
`;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export interface BundleResult {
  model: string;
  precision: string;
  jsFiles: number;
  jsBytes: number;
  wasmFile: string;
  wasmBytes: number;
  modelBytes: number;
  totalBytes: number;
  coldStart: { processWallMs: number; inProcessMs: number; importMs: number; loadMs: number; firstRunMs: number; runs: number };
}

/** Bytes and cold start of the engine with this model. */
export function measureBundle(name: string, model: CompressedModel, precision: "fp32" | "int8", runs: number): BundleResult {
  const js = moduleClosure(ENTRIES);
  const wasm = join(root, "build/kernels-relaxed.wasm");
  const dir = mkdtempSync(join(tmpdir(), "engine-bundle-"));
  try {
    const packed = packModel(model);
    writeFileSync(join(dir, "model.json"), packed.manifest);
    writeFileSync(join(dir, "weights.bin"), packed.weights);
    writeFileSync(join(dir, "cold.mjs"), childScript(pathToFileURL(join(distSrc, ENTRIES[0])).href, pathToFileURL(join(distSrc, ENTRIES[1])).href, dir, precision));
    const samples = Array.from({ length: runs }, () => {
      const started = performance.now();
      const child = spawnSync(process.execPath, [join(dir, "cold.mjs")], { encoding: "utf8" });
      const wallMs = performance.now() - started;
      if (child.status !== 0) throw new Error(`engine-bundle: the cold-start child failed: ${child.stderr}`);
      const inside = JSON.parse(child.stdout.trim().split("\n").pop() as string) as { importMs: number; loadMs: number; firstRunMs: number; inProcessMs: number };
      return { wallMs, ...inside };
    });
    const modelBytes = packed.manifest.length + packed.weights.length;
    const [jsBytes, wasmBytes] = [bytesOf(js), statSync(wasm).size];
    return {
      model: name, precision, jsFiles: js.length, jsBytes, wasmFile: "build/kernels-relaxed.wasm", wasmBytes, modelBytes,
      totalBytes: jsBytes + wasmBytes + modelBytes,
      coldStart: {
        processWallMs: median(samples.map((s) => s.wallMs)), inProcessMs: median(samples.map((s) => s.inProcessMs)),
        importMs: median(samples.map((s) => s.importMs)), loadMs: median(samples.map((s) => s.loadMs)), firstRunMs: median(samples.map((s) => s.firstRunMs)), runs,
      },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A bare node process that does nothing: the part of the wall time the engine cannot change. */
function nodeBootMs(runs: number): number {
  return median(Array.from({ length: runs }, () => {
    const started = performance.now();
    spawnSync(process.execPath, ["-e", "0"]);
    return performance.now() - started;
  }));
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const option = (name: string, fallback: string): string => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : fallback);
  const runs = Number(option("--runs", "7"));
  const out = option("--out", join(root, "kernels-bench/results/engine-bundle-latest.json"));
  const { model } = await loadCompressedModel(join(root, "models/resnet20-fashion-mnist"));
  const results: BundleResult[] = [measureBundle("resnet20-fashion-mnist", model, "fp32", runs)];
  // the same net as an integer model (calibrated here unless a trained one is given): int8 weights ship at a quarter of the bytes
  const int8Dir = option("--int8-model", "");
  const int8 = int8Dir !== "" ? (await loadCompressedModel(int8Dir)).model : calibratedInt8Model(model);
  if (int8 !== undefined) results.push(measureBundle(int8Dir || "resnet20-fashion-mnist, calibrated int8", int8, "int8", runs));
  const report = { nodeBootMs: nodeBootMs(runs), results, note: "JS bytes unminified; wall time includes node's own boot (nodeBootMs)" };
  for (const r of results) {
    console.log(`${r.model} (${r.precision}): ${(r.totalBytes / 1024).toFixed(0)} KiB = JS ${(r.jsBytes / 1024).toFixed(0)} KiB in ${r.jsFiles} files + wasm ${(r.wasmBytes / 1024).toFixed(0)} KiB + model ${(r.modelBytes / 1024).toFixed(0)} KiB; ` +
      `cold start ${r.coldStart.processWallMs.toFixed(0)} ms wall (node boot ${report.nodeBootMs.toFixed(0)} ms), ${r.coldStart.inProcessMs.toFixed(1)} ms in process (import ${r.coldStart.importMs.toFixed(1)}, load ${r.coldStart.loadMs.toFixed(1)}, first run ${r.coldStart.firstRunMs.toFixed(1)})`);
  }
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(`${out}.partial`, `${JSON.stringify(report, null, 2)}\n`);
  (await import("node:fs/promises")).rename(`${out}.partial`, out);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
