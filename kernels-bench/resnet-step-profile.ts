// node dist/kernels-bench/resnet-step-profile.js [--batch 128] [--steps 3] [--threads 1]
// Where one ResNet-20 training step (28x28x1 input, 10 classes, as the trainer runs it: forward
// in training mode, cross-entropy, backward, momentum SGD) spends its time on our backend, one
// thread: per tfjs kernel, summed over `steps` profiled steps and averaged, and the time outside
// every kernel (tfjs's tape and bookkeeping, the layers' own JS). Writes nothing.
import * as tf from "@tensorflow/tfjs-core";
import { addKernelTimes, type KernelTimes } from "./harness.js";
import { setBackendThreads } from "../src/backend/executor.js";
import { registerPocketflowBackend } from "../src/backend/register.js";
import { buildTfjsModel } from "../src/tfjs/tfjs-from-graph.js";
import type { Batch } from "../src/data/batches.js";
import { createNet } from "../src/nets/zoo.js";
import { modelForward } from "../src/train/evaluate.js";
import { TrainingOptimizer } from "../src/train/optimizers.js";
import { applyGradients, computeGradients, modelParameters } from "../src/train/trainer.js";
import { enableRelaxedSimd } from "../src/kernels/wasm-module.js";

const IMAGE_SHAPE = [28, 28, 1];

function flag(argv: string[], name: string, fallback: number): number {
  const i = argv.indexOf(name);
  const v = i < 0 ? fallback : Number(argv[i + 1]);
  if (!(Number.isInteger(v) && v > 0)) throw new Error(`resnet-step-profile: ${name} must be a positive integer, but got "${argv[i + 1]}"`);
  return v;
}

/** A fixed batch of `size` 28x28x1 images with labels, from a seedless formula. */
export function fixedBatch(size: number): Batch {
  const n = IMAGE_SHAPE.reduce((p, d) => p * d, 1);
  const images = Float32Array.from({ length: size * n }, (_, i) => Math.sin(i * 12.9898) * 0.5);
  return { images, labels: Uint8Array.from({ length: size }, (_, i) => (i * 7) % 10), size };
}

/** One training step of a fresh seeded ResNet-20 over `batch`, as the trainer runs it; returns the loss. */
export function resnetStepper(batch: Batch): { step: () => number; dispose: () => void } {
  const model = buildTfjsModel(createNet("resnet20", { inputShape: IMAGE_SHAPE, classes: 10 }), { withoutSoftmax: true, batchNormMomentum: 0.9 });
  const run = { forward: modelForward(model), teacher: undefined, parameters: modelParameters(model), optimizer: new TrainingOptimizer({ kind: "sgd", momentum: 0.9 }), options: { epochs: 1, batchSize: batch.size } };
  let globalStep = 0;
  const step = (): number => {
    const { loss, gradients } = computeGradients(run, batch, IMAGE_SHAPE);
    applyGradients(run, gradients, 0.01, globalStep++);
    return loss;
  };
  return { step, dispose: () => { run.optimizer.dispose(); model.dispose(); } };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const batchSize = flag(argv, "--batch", 128);
  const steps = flag(argv, "--steps", 3);
  const threads = flag(argv, "--threads", 1);
  await tf.setBackend(registerPocketflowBackend());
  setBackendThreads(threads);
  tf.env().set("CHECK_COMPUTATION_FOR_ERRORS", false);
  const stepper = resnetStepper(fixedBatch(batchSize));
  stepper.step();
  const byName: KernelTimes = new Map();
  let wallMs = 0;
  for (let s = 0; s < steps; s++) {
    const t0 = performance.now();
    const info = await tf.profile(() => { stepper.step(); return 0; });
    wallMs += performance.now() - t0;
    addKernelTimes(byName, info.kernels);
  }
  const rows = [...byName.entries()].map(([name, v]) => ({ name, ms: v.ms / steps, calls: v.calls / steps, composite: tf.getKernel(name, "pocketflow") === undefined }));
  const kernelMs = rows.filter((r) => !r.composite).reduce((sum, r) => sum + r.ms, 0);
  const stepMs = wallMs / steps;
  console.log(`ResNet-20 28x28x1 batch ${batchSize}, ${threads} thread(s): profiled step ${stepMs.toFixed(1)} ms, kernels ${kernelMs.toFixed(1)} ms, outside kernels ${(stepMs - kernelMs).toFixed(1)} ms`);
  for (const r of rows.sort((a, b) => b.ms - a.ms).slice(0, 25)) {
    console.log(`  ${r.name.padEnd(34)} ${r.ms.toFixed(1).padStart(8)} ms ${(100 * r.ms / stepMs).toFixed(1).padStart(5)}%  ${r.calls} calls${r.composite ? "  (op scope, includes its kernels)" : ""}`);
  }
  stepper.dispose();
}

if (process.argv[1]?.endsWith("resnet-step-profile.js")) {
  // Our own program may turn on relaxed SIMD (the library never does), before any kernel loads.
  enableRelaxedSimd();
  main().catch((error) => {
    console.error(error instanceof Error ? error.stack : error);
    process.exitCode = 1;
  });
}
