// node dist/kernels-bench/infer-profile.js [--model resnet20|mobilenetv2-0.5|lenet5] [--batch 32] [--backend pocketflow|wasm] [--runs 5]
// Where one inference batch (model.predict, as the train bench times it) spends its time on one
// backend, one thread: per tfjs kernel, averaged over `runs` profiled runs, and the time outside
// every kernel (tfjs-layers' JS, tensor bookkeeping). Writes nothing.
import * as tf from "@tensorflow/tfjs-core";
import { addKernelTimes, type KernelTimes } from "./harness.js";
import { registerPocketflowBackend } from "../src/backend/register.js";
import { BENCH_MODELS, warmedPredict, type BenchModelName } from "./train.js";
import { enableRelaxedSimd } from "../src/kernels/wasm-module.js";

function option(argv: string[], name: string, fallback: string): string {
  const i = argv.indexOf(name);
  return i < 0 ? fallback : argv[i + 1];
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const modelName = option(argv, "--model", "mobilenetv2-0.5") as BenchModelName;
  const spec = BENCH_MODELS[modelName];
  if (spec === undefined) throw new Error(`infer-profile: --model must be one of ${Object.keys(BENCH_MODELS).join(", ")}`);
  const batch = Number(option(argv, "--batch", "32"));
  const runs = Number(option(argv, "--runs", "5"));
  const backend = option(argv, "--backend", "pocketflow");
  if (backend === "wasm") await import("@tensorflow/tfjs-backend-wasm");
  else registerPocketflowBackend();
  if (!(await tf.setBackend(backend))) throw new Error(`infer-profile: backend ${backend} did not initialise`);
  const predict = await warmedPredict(spec, batch);
  let plainMs = 0;
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    await predict();
    plainMs += performance.now() - t0;
  }
  const byName: KernelTimes = new Map();
  let wallMs = 0;
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    const info = await tf.profile(predict);
    wallMs += performance.now() - t0;
    addKernelTimes(byName, info.kernels);
  }
  const rows = [...byName.entries()].map(([name, v]) => ({ name, ms: v.ms / runs, calls: v.calls / runs }));
  const kernelMs = rows.reduce((sum, r) => sum + r.ms, 0);
  const stepMs = wallMs / runs;
  console.log(`${spec.label} batch ${batch} on ${backend}: ${(plainMs / runs).toFixed(1)} ms unprofiled (${(batch * 1000 * runs / plainMs).toFixed(0)} img/s); profiled ${stepMs.toFixed(1)} ms, kernels ${kernelMs.toFixed(1)} ms, outside ${(stepMs - kernelMs).toFixed(1)} ms`);
  for (const r of rows.sort((a, b) => b.ms - a.ms).slice(0, 20)) {
    console.log(`  ${r.name.padEnd(30)} ${r.ms.toFixed(2).padStart(8)} ms ${(100 * r.ms / stepMs).toFixed(1).padStart(5)}%  ${r.calls} calls`);
  }
}

// Our own program may turn on relaxed SIMD (the library never does), before any kernel loads.
enableRelaxedSimd();
main().catch((error) => {
  console.error(error instanceof Error ? error.stack : error);
  process.exitCode = 1;
});
