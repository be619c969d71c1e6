// node dist/kernels-bench/batchnorm-ab.js [--batch 32] [--min-seconds 60] [--rounds 8] [--threads N]
// One ResNet-20 training step (forward in training mode, cross-entropy, backward, momentum SGD,
// as the trainer runs it) on our backend with batch norm as the fused kernels
// (PocketflowBatchNormTraining and its gradient) against tfjs-layers' own batch norm (moments and
// batchNorm op by op). The two models have the same weights and see the same batch; their steps
// alternate (A, B, A, B, ...) and each reports its median, so both see the same load on a
// shared machine. Prints the medians, their ratio and where the batch-norm time went (one
// profiled step of each); writes nothing.
import * as tf from "@tensorflow/tfjs-core";
import type * as tfl from "@tensorflow/tfjs-layers";
import { setBackendThreads } from "../src/backend/executor.js";
import { registerPocketflowBackend } from "../src/backend/register.js";
import { buildTfjsModel } from "../src/tfjs/tfjs-from-graph.js";
import type { Batch } from "../src/data/batches.js";
import { createNet } from "../src/nets/zoo.js";
import { modelForward } from "../src/train/evaluate.js";
import { TrainingOptimizer } from "../src/train/optimizers.js";
import { applyGradients, computeGradients, modelParameters } from "../src/train/trainer.js";
import { timeInterleaved } from "./harness.js";
import { enableRelaxedSimd } from "../src/kernels/wasm-module.js";

const LEARNING_RATE = 0.01;

interface Options {
  batch: number;
  minSeconds: number;
  rounds: number;
}

function parseArgs(argv: string[]): Options {
  const value = (flag: string, fallback: number): number => {
    const i = argv.indexOf(flag);
    if (i < 0) return fallback;
    const v = Number(argv[i + 1]);
    if (!(Number.isFinite(v) && v > 0)) throw new Error(`batchnorm-ab: ${flag} must be a positive number, but got "${argv[i + 1]}"`);
    return v;
  };
  if (argv.includes("--threads")) setBackendThreads(value("--threads", 1));
  return { batch: value("--batch", 32), minSeconds: value("--min-seconds", 60), rounds: value("--rounds", 8) };
}

/** A training step of a fresh ResNet-20 (seeded weights) over one fixed batch. */
function stepper(fusedBatchNorm: boolean, batch: Batch, imageShape: number[]): { step: () => number; model: tfl.LayersModel } {
  const model = buildTfjsModel(createNet("resnet20"), { withoutSoftmax: true, batchNormMomentum: 0.9, fusedBatchNorm });
  const run = { forward: modelForward(model), teacher: undefined, parameters: modelParameters(model), optimizer: new TrainingOptimizer({ kind: "sgd", momentum: 0.9 }), options: { epochs: 1, batchSize: batch.size } };
  let globalStep = 0;
  const step = (): number => {
    const { loss, gradients } = computeGradients(run, batch, imageShape);
    applyGradients(run, gradients, LEARNING_RATE, globalStep++);
    return loss;
  };
  return { step, model };
}

/** Milliseconds per kernel name over one profiled step, for the names `pick` accepts. */
async function kernelTimes(step: () => number, pick: (name: string) => boolean): Promise<Map<string, number>> {
  const info = await tf.profile(() => {
    step();
    return 0;
  });
  const times = new Map<string, number>();
  for (const k of info.kernels) {
    if (pick(k.name)) times.set(k.name, (times.get(k.name) ?? 0) + (typeof k.kernelTimeMs === "number" ? k.kernelTimeMs : 0));
  }
  return times;
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  await tf.setBackend(registerPocketflowBackend());
  const graph = createNet("resnet20");
  const input = graph.nodes.find((node) => node.op === "input");
  const imageShape = input && input.op === "input" ? input.shape : [32, 32, 3];
  const size = imageShape.reduce((p, d) => p * d, 1);
  const images = Float32Array.from({ length: options.batch * size }, (_, i) => Math.sin(i * 12.9898) * 0.5);
  const batch: Batch = { images, labels: Uint8Array.from({ length: options.batch }, (_, i) => (i * 7) % 10), size: options.batch };
  const fused = stepper(true, batch, imageShape);
  const standard = stepper(false, batch, imageShape);
  console.log(`first losses: fused ${fused.step().toFixed(6)}, standard ${standard.step().toFixed(6)}`);
  const medians = await timeInterleaved({ fused: fused.step, standard: standard.step }, options.minSeconds * 1000, options.rounds);
  console.log(`ResNet-20 training step, batch ${options.batch}, medians of alternating steps:`);
  console.log(`  fused batch norm     ${medians.fused.toFixed(1)} ms  (${((options.batch * 1000) / medians.fused).toFixed(1)} img/s)`);
  console.log(`  tfjs-layers batch norm ${medians.standard.toFixed(1)} ms  (${((options.batch * 1000) / medians.standard).toFixed(1)} img/s)`);
  console.log(`  standard / fused: ${(medians.standard / medians.fused).toFixed(3)}x`);
  const bnKernels = /BatchNorm|Moments|Mean|Sum|Sub|Mul|Square|Rsqrt|Tile|Reshape|Add|RealDiv|Neg|SquaredDifference|Sqrt/;
  for (const [name, s] of [["fused", fused], ["standard", standard]] as const) {
    const times = [...(await kernelTimes(s.step, (k) => bnKernels.test(k))).entries()].sort((a, b) => b[1] - a[1]);
    const total = times.reduce((sum, [, ms]) => sum + ms, 0);
    console.log(`  ${name}: batch-norm-like kernels ${total.toFixed(1)} ms in one profiled step: ${times.slice(0, 8).map(([k, ms]) => `${k} ${ms.toFixed(1)}`).join(", ")}`);
  }
  fused.model.dispose();
  standard.model.dispose();
}

// Our own program may turn on relaxed SIMD (the library never does), before any kernel loads.
enableRelaxedSimd();
main().catch((error) => {
  console.error(error instanceof Error ? error.stack : error);
  process.exitCode = 1;
});
