// node dist/kernels-bench/infer-vs-wasm.js [--model mobilenetv2-0.5|resnet20|lenet5] [--batch 32] [--rounds 30]
// One bench model's inference (model.predict, as bench:train times it) on our backend and on
// tfjs-wasm, the two alternating in one process (ours, wasm, wasm, ours, ...) so that both see
// the same machine moment; prints each median and the ratio. Unlike bench:train there are no
// warm-up probes at smaller batches: two predicts each, then the rounds. Writes nothing.
import * as tf from "@tensorflow/tfjs-core";
import { registerPocketflowBackend } from "../src/backend/register.js";
import { BENCH_MODELS, warmedPredict, type BenchModelName } from "./train.js";
import { enableRelaxedSimd } from "../src/kernels/wasm-module.js";

function option(argv: string[], name: string, fallback: string): string {
  const i = argv.indexOf(name);
  return i < 0 ? fallback : argv[i + 1];
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const spec = BENCH_MODELS[option(argv, "--model", "mobilenetv2-0.5") as BenchModelName];
  if (spec === undefined) throw new Error(`infer-vs-wasm: --model must be one of ${Object.keys(BENCH_MODELS).join(", ")}`);
  const batch = Number(option(argv, "--batch", "32"));
  const rounds = Number(option(argv, "--rounds", "30"));
  if (!(Number.isInteger(batch) && batch > 0 && Number.isInteger(rounds) && rounds > 0)) {
    throw new Error("infer-vs-wasm: --batch and --rounds must be positive integers");
  }
  await import("@tensorflow/tfjs-backend-wasm");
  const backends = [registerPocketflowBackend(), "wasm"];
  const runs = new Map<string, { predict: () => Promise<void>; ms: number[] }>();
  for (const name of backends) {
    if (!(await tf.setBackend(name))) throw new Error(`infer-vs-wasm: backend ${name} did not initialise`);
    runs.set(name, { predict: await warmedPredict(spec, batch), ms: [] });
  }
  for (let round = 0; round < rounds; round++) {
    for (const name of round % 2 === 0 ? backends : [...backends].reverse()) {
      await tf.setBackend(name);
      const run = runs.get(name)!;
      const t0 = performance.now();
      await run.predict();
      run.ms.push(performance.now() - t0);
    }
  }
  const [ours, wasm] = backends.map((name) => median(runs.get(name)!.ms));
  console.log(`${spec.label} inference, batch ${batch}, ${rounds} alternating rounds: ours ${ours.toFixed(1)} ms, tfjs-wasm ${wasm.toFixed(1)} ms, ${(wasm / ours).toFixed(2)}x`);
}

// Our own program may turn on relaxed SIMD (the library never does), before any kernel loads.
enableRelaxedSimd();
main().catch((error) => {
  console.error(error instanceof Error ? error.stack : error);
  process.exitCode = 1;
});
