// Resuming a killed run: the checkpoint's fingerprint must match the options of the run that
// resumes it (a checkpoint of another model, dataset or schedule is refused, naming what differs),
// then weights, optimizer slots and the step counters are put back.
import { access } from "node:fs/promises";
import * as tf from "@tensorflow/tfjs-core";
import type * as tfl from "@tensorflow/tfjs-layers";
import { sampleCount, type Dataset } from "../data/dataset.js";
import { fingerprintDifferences, readCheckpoint } from "./checkpoint.js";
import type { TrainingOptimizer, Parameter } from "./optimizers.js";
import type { RunState, TrainOptions } from "./trainer.js";

/** What must stay the same for a checkpoint to continue a run. */
export function runFingerprint(model: tfl.LayersModel, train: Dataset, options: TrainOptions): Record<string, unknown> {
  const { distillation } = options;
  return {
    weights: model.weights.map((weight) => `${weight.originalName}[${weight.shape.join(",")}]`),
    trainSamples: sampleCount(train),
    imageShape: train.imageShape,
    epochs: options.epochs,
    batchSize: options.batchSize,
    seed: options.seed ?? 0,
    optimizer: options.optimizer ?? null,
    schedule: options.schedule ?? null,
    weightDecay: options.weightDecay ?? 0,
    normalization: options.normalization ?? null,
    augmentation: options.augmentation ?? null,
    maxSteps: options.maxSteps ?? null,
    distillation: distillation === undefined ? null : { weight: distillation.weight ?? null, temperature: distillation.temperature ?? null },
  };
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(() => true, () => false);
}

/** Loads the checkpoint into the model and optimizer; undefined when there is none yet (a fresh start). */
export async function restoreRun(
  model: tfl.LayersModel, parameters: Parameter[], optimizer: TrainingOptimizer, file: string, fingerprint: Record<string, unknown>,
): Promise<RunState | undefined> {
  if (!(await exists(file))) return undefined;
  const checkpoint = await readCheckpoint(file);
  const differences = fingerprintDifferences(checkpoint.fingerprint, fingerprint);
  if (differences.length > 0) {
    throw new Error(
      `${file}: this checkpoint was written by a run with different ${differences.join(", ")}; resume with the same options, or delete the checkpoint to start over`,
    );
  }
  const saved = new Map(checkpoint.weights.map((weight) => [weight.name, weight]));
  for (const weight of model.weights) {
    const values = saved.get(weight.originalName)?.values;
    if (values === undefined) throw new Error(`${file}: no values for weight '${weight.originalName}'`);
    tf.tidy(() => {
      weight.write(tf.tensor(values, weight.shape.map(Number)));
    });
  }
  const own = new Set(model.weights.map((weight) => weight.originalName));
  for (const { name, variable } of parameters.filter((parameter) => !own.has(parameter.name))) {
    const values = saved.get(name)?.values;
    if (values === undefined) throw new Error(`${file}: no values for the learner's variable '${name}'`);
    tf.tidy(() => variable.assign(tf.tensor(values, variable.shape)));
  }
  optimizer.setState(checkpoint.optimizer, parameters);
  // checkpoints written before trainingSeconds existed count the earlier processes as 0 s
  const earlierSeconds = checkpoint.trainingSeconds ?? 0;
  return { globalStep: checkpoint.globalStep, history: checkpoint.history, epochProgress: checkpoint.epochProgress, earlierSeconds };
}
