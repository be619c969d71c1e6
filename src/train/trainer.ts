// The training loop every learner fine-tunes with. One step is two separate halves, as data
// parallelism needs (workers compute gradients, one place averages and applies them):
//   computeGradients  forward in training mode, cross-entropy (+ distillation), backward
//   applyGradients    weight decay, the learners' gradient transform (masks), the optimizer
//                     update at the scheduled rate, the learners' after-update hook
// Everything random is derived from the seed and the epoch, so a run resumed from a checkpoint
// continues exactly as the uninterrupted run would have (dropout layers excepted: tfjs draws
// their masks from an unseeded generator).
import * as tf from "@tensorflow/tfjs-core";
import type * as tfl from "@tensorflow/tfjs-layers";
import { batches, type Augmentation, type Batch, type Normalization } from "../data/batches.js";
import { sampleCount, type Dataset } from "../data/dataset.js";
import { CHECKPOINT_FORMAT, removeStaleCheckpointTemps, writeCheckpoint, type Checkpoint, type EpochMetrics } from "./checkpoint.js";
import { evaluate, modelForward, type Forward } from "./evaluate.js";
import { checkDistillation, countCorrect, crossEntropy, distillationLoss, type DistillationOptions } from "./losses.js";
import { TrainingOptimizer, type TrainingOptimizerConfig, type Parameter } from "./optimizers.js";
import { checkSchedule, learningRateAt, type ScheduleOptions } from "./schedule.js";
import { restoreRun, runFingerprint } from "./resume.js";

export interface StepProgress {
  /** 0-based epoch. */
  epoch: number;
  epochs: number;
  /** 1-based step within the epoch. */
  step: number;
  stepsPerEpoch: number;
  globalStep: number;
  totalSteps: number;
  /** Running means over the epoch so far. */
  loss: number;
  accuracy: number;
  learningRate: number;
  imagesPerSecond: number;
  etaSeconds: number;
}

/** Where a resumed run picks up. */
export interface ResumePoint {
  /** Steps the checkpoint had completed. */
  globalStep: number;
  /** Steps the run takes in all (epochs × steps per epoch, or maxSteps when smaller). */
  totalSteps: number;
  /** Training seconds the processes before this one spent, as the checkpoint recorded them. */
  trainingSeconds: number;
}

export interface TrainHooks {
  /** Once, before the first step, when the run continues from a checkpoint. */
  onResume?(resumed: ResumePoint): void;
  /** After every step. Returning "stop" ends the run there (a checkpoint is written first). */
  onStep?(progress: StepProgress): void | "stop";
  /** Rewrites gradients (by parameter name) before the update, e.g. masks pruned weights. */
  transformGradients?(gradients: tf.NamedTensorMap, globalStep: number): tf.NamedTensorMap;
  /** After every update, e.g. re-applies masks to the weights. */
  afterUpdate?(globalStep: number): void;
  /** After every epoch's validation; awaited (e.g. to write a snapshot of the model). */
  onEpochEnd?(metrics: EpochMetrics): void | Promise<void>;
}

/** A learner's extra loss, given the step's logits and labels. */
export type LossTerm = (logits: tf.Tensor2D, labels: tf.Tensor1D) => tf.Scalar;

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  seed?: number;
  /** Default: momentum SGD, momentum 0.9. */
  optimizer?: TrainingOptimizerConfig;
  /** Default: constant 0.01. */
  schedule?: ScheduleOptions;
  /** L2 weight decay on convolution and dense kernels (PocketFlow's loss_w_dcy), as gradient += decay·w. */
  weightDecay?: number;
  normalization?: Normalization;
  augmentation?: Augmentation;
  /** Evaluated at the end of every epoch. */
  validation?: Dataset;
  /** Knowledge distillation from a teacher's logits (PocketFlow: teacher = the uncompressed model). */
  distillation?: DistillationOptions & { teacher: tfl.LayersModel | Forward };
  /** Stop after this many steps in total (the learners' fast fine-tune mode). */
  maxSteps?: number;
  /**
   * Checkpoint file: written at each epoch end and every `everySteps` steps; `resume` continues from it.
   * The last one, written when the run ends, is kept on purpose: resuming a finished run then checks
   * its options against the checkpoint and returns the finished result at once instead of training
   * again. It costs one copy of the weights and optimizer slots; delete it once the run is final.
   */
  checkpoint?: { file: string; everySteps?: number; resume?: boolean };
  hooks?: TrainHooks;
  /** A forward pass other than the model's own (learners with custom layers); must use the model's variables. */
  forward?: Forward;
  /** Trainable variables beyond the model's (a learner's codebook centroids), updated by the optimizer too. */
  extraParameters?: Parameter[];
  /** Terms added to the loss (auxiliary classifiers, reconstruction errors), computed inside the gradient tape. */
  lossTerms?: LossTerm[];
}

export interface TrainResult {
  history: EpochMetrics[];
  globalStep: number;
  /** True when a hook or maxSteps ended the run before its last epoch. */
  stoppedEarly: boolean;
  /** Whether this run continued from a checkpoint. */
  resumed: boolean;
  /** The step the checkpoint had reached, when the run continued from one. */
  resumedFromStep?: number;
  /** Seconds in train() over every process of the run (this one and those a checkpoint continues). */
  trainingSeconds: number;
}

/** What one run carries from step to step. */
export interface RunState {
  globalStep: number;
  history: EpochMetrics[];
  epochProgress: Checkpoint["epochProgress"];
  /** Training seconds of the processes before this one (0 for a fresh run). */
  earlierSeconds: number;
}

interface Run {
  model: tfl.LayersModel;
  forward: Forward;
  teacher?: Forward;
  parameters: Parameter[];
  optimizer: TrainingOptimizer;
  options: TrainOptions;
  schedule: ScheduleOptions;
  stepsPerEpoch: number;
  totalSteps: number;
  fingerprint: Record<string, unknown>;
  /** performance.now() when this process started the run. */
  startedAt: number;
}

/** The trainable variables under their layer weight names ('conv1/kernel'), stable across processes. */
export function modelParameters(model: tfl.LayersModel): Parameter[] {
  return model.trainableWeights.map((weight) => ({ name: weight.originalName, variable: weight.read() as tf.Variable }));
}

/** Per-epoch shuffle and augmentation seed: a fixed function of the run seed and the epoch. */
export const epochSeed = (seed: number, epoch: number): number => (Math.imul(seed, 0x9e3779b1) + epoch * 7919 + 1) >>> 0;

function checkOptions(model: tfl.LayersModel, train: Dataset, options: TrainOptions): void {
  const { epochs, batchSize, weightDecay = 0, maxSteps } = options;
  if (!Number.isInteger(epochs) || epochs < 1) throw new RangeError(`train: epochs must be an integer >= 1, but got ${epochs}`);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`train: batchSize must be an integer >= 1, but got ${batchSize}`);
  if (sampleCount(train) < batchSize) {
    throw new RangeError(`train: ${train.name} has ${sampleCount(train)} samples, fewer than one batch of ${batchSize}; use a smaller batchSize`);
  }
  if (!(weightDecay >= 0)) throw new RangeError(`train: weightDecay must be >= 0, but got ${weightDecay}`);
  if (maxSteps !== undefined && !(Number.isInteger(maxSteps) && maxSteps >= 1)) throw new RangeError(`train: maxSteps must be an integer >= 1, but got ${maxSteps}`);
  if (options.distillation) checkDistillation(options.distillation);
  if (options.forward === undefined) checkOutputsLogits(model);
}

/** A model that ends in softmax would train cross-entropy on probabilities: refuse it. */
function checkOutputsLogits(model: tfl.LayersModel): void {
  const last = model.layers[model.layers.length - 1];
  const config = last.getConfig() as { activation?: unknown };
  if (last.getClassName() === "Softmax" || config.activation === "softmax") {
    throw new Error(
      `train: the model outputs probabilities (softmax in layer '${last.name}'); train a model that outputs logits, e.g. buildTfjsModel(graph, { withoutSoftmax: true })`,
    );
  }
}

function prepareRun(model: tfl.LayersModel, train: Dataset, options: TrainOptions): Run {
  checkOptions(model, train, options);
  const schedule = options.schedule ?? { schedule: { kind: "constant", learningRate: 0.01 } };
  checkSchedule(schedule);
  const teacher = options.distillation?.teacher;
  const stepsPerEpoch = Math.floor(sampleCount(train) / options.batchSize);
  return {
    model,
    forward: options.forward ?? modelForward(model),
    teacher: teacher === undefined ? undefined : typeof teacher === "function" ? teacher : modelForward(teacher),
    parameters: [...modelParameters(model), ...(options.extraParameters ?? [])],
    optimizer: new TrainingOptimizer(options.optimizer ?? { kind: "sgd", momentum: 0.9 }),
    options,
    schedule,
    stepsPerEpoch,
    totalSteps: Math.min(options.epochs * stepsPerEpoch, options.maxSteps ?? Infinity),
    fingerprint: runFingerprint(model, train, options),
    startedAt: performance.now(),
  };
}

/** Forward and backward on one batch: the loss, the correct count and gradients by parameter name. */
export function computeGradients(run: Pick<Run, "forward" | "teacher" | "parameters" | "options">, batch: Batch, imageShape: readonly number[]) {
  const [height, width, channels] = imageShape;
  return tf.tidy(() => {
    const images = tf.tensor4d(batch.images, [batch.size, height, width, channels]);
    const labels = tf.tensor1d(batch.labels, "int32");
    const teacherLogits = run.teacher === undefined ? undefined : run.teacher(images, false);
    let logits: tf.Tensor2D | undefined;
    const { value, grads } = tf.variableGrads(() => {
      logits = tf.keep(run.forward(images, true));
      if (logits.rank !== 2) throw new Error(`train: the forward pass must give logits [batch, classes], but gave shape [${logits.shape.join(", ")}]`);
      let loss = crossEntropy(labels, logits);
      for (const term of run.options.lossTerms ?? []) loss = tf.add(loss, term(logits, labels));
      return teacherLogits === undefined ? loss : tf.add(loss, distillationLoss(logits, teacherLogits, run.options.distillation));
    }, run.parameters.map((parameter) => parameter.variable));
    const gradients: tf.NamedTensorMap = {};
    for (const { name, variable } of run.parameters) if (grads[variable.name] !== undefined) gradients[name] = grads[variable.name];
    const correct = countCorrect(labels, logits as tf.Tensor2D);
    (logits as tf.Tensor2D).dispose(); // kept out of the gradient scope's cleanup, so freed by hand
    return { loss: value.dataSync()[0], correct, gradients };
  });
}

/** Weight decay, the gradient transform hook, the optimizer update and the after-update hook. */
export function applyGradients(run: Pick<Run, "parameters" | "optimizer" | "options">, gradients: tf.NamedTensorMap, learningRate: number, globalStep: number): void {
  const decay = run.options.weightDecay ?? 0;
  let final = gradients;
  if (decay > 0) {
    final = { ...gradients };
    for (const { name, variable } of run.parameters) {
      if (/kernel$/.test(name) && final[name] !== undefined) final[name] = tf.tidy(() => tf.add(final[name], tf.mul(variable, decay)));
    }
  }
  const hook = run.options.hooks?.transformGradients;
  const transformed = hook === undefined ? final : hook(final, globalStep);
  run.optimizer.apply(run.parameters, transformed, learningRate);
  const owned = new Set([...Object.values(gradients), ...Object.values(final), ...Object.values(transformed)]);
  for (const tensor of owned) tensor.dispose();
  run.options.hooks?.afterUpdate?.(globalStep);
}

function progressOf(run: Run, state: RunState, epoch: number, step: number, learningRate: number): StepProgress {
  const { lossSum, correct, seen, seconds } = state.epochProgress;
  const imagesPerSecond = seconds > 0 ? seen / seconds : 0;
  const remainingImages = (run.totalSteps - state.globalStep) * run.options.batchSize;
  return {
    epoch,
    epochs: run.options.epochs,
    step,
    stepsPerEpoch: run.stepsPerEpoch,
    globalStep: state.globalStep,
    totalSteps: run.totalSteps,
    loss: lossSum / seen,
    accuracy: correct / seen,
    learningRate,
    imagesPerSecond,
    etaSeconds: imagesPerSecond > 0 ? remainingImages / imagesPerSecond : Number.NaN,
  };
}

const trainingSecondsSoFar = (run: Run, state: RunState): number => state.earlierSeconds + (performance.now() - run.startedAt) / 1000;

async function saveCheckpoint(run: Run, state: RunState): Promise<void> {
  const file = run.options.checkpoint?.file;
  if (file === undefined) return;
  const modelWeights = run.model.weights.map((weight) => ({ name: weight.originalName, tensor: weight.read() }));
  // a learner's own variables (codebook centroids) resume with the model's
  const own = new Set(modelWeights.map((weight) => weight.name));
  const extra = run.parameters.filter((parameter) => !own.has(parameter.name)).map((parameter) => ({ name: parameter.name, tensor: parameter.variable as tf.Tensor }));
  const weights = [...modelWeights, ...extra].map(({ name, tensor }) => ({
    name, shape: tensor.shape.map(Number), values: Float32Array.from(tensor.dataSync() as Float32Array),
  }));
  await writeCheckpoint(file, {
    format: CHECKPOINT_FORMAT,
    fingerprint: run.fingerprint,
    globalStep: state.globalStep,
    weights,
    optimizer: run.optimizer.getState(),
    history: state.history,
    epochProgress: state.epochProgress,
    trainingSeconds: trainingSecondsSoFar(run, state),
  });
}

async function endEpoch(run: Run, state: RunState, epoch: number, learningRate: number): Promise<EpochMetrics> {
  const { lossSum, correct, seen, seconds } = state.epochProgress;
  const metrics: EpochMetrics = { epoch: epoch + 1, loss: lossSum / seen, accuracy: correct / seen, learningRate, seconds };
  const { validation, normalization } = run.options;
  if (validation !== undefined && sampleCount(validation) > 0) {
    const result = evaluate(run.forward, validation, { normalization });
    metrics.validationLoss = result.loss;
    metrics.validationAccuracy = result.accuracy;
  }
  state.history.push(metrics);
  state.epochProgress = { lossSum: 0, correct: 0, seen: 0, seconds: 0 };
  await run.options.hooks?.onEpochEnd?.(metrics);
  return metrics;
}

/** Runs one epoch from where `state` stands; returns whether the run must stop early. */
async function runEpoch(run: Run, train: Dataset, state: RunState, epoch: number): Promise<boolean> {
  const { options, stepsPerEpoch } = run;
  const startBatch = state.globalStep - epoch * stepsPerEpoch;
  const seed = epochSeed(options.seed ?? 0, epoch);
  const epochBatches = batches(train, {
    batchSize: options.batchSize, shuffle: true, seed, normalization: options.normalization,
    augmentation: options.augmentation, keepPartial: false, startBatch,
  });
  for (const batch of epochBatches) {
    const started = performance.now();
    const learningRate = learningRateAt(run.schedule, state.globalStep / stepsPerEpoch, options.epochs);
    const { loss, correct, gradients } = computeGradients(run, batch, train.imageShape);
    applyGradients(run, gradients, learningRate, state.globalStep);
    state.globalStep += 1;
    const progress = state.epochProgress;
    progress.lossSum += loss * batch.size;
    progress.correct += correct;
    progress.seen += batch.size;
    progress.seconds += (performance.now() - started) / 1000;
    const step = state.globalStep - epoch * stepsPerEpoch;
    const stop = options.hooks?.onStep?.(progressOf(run, state, epoch, step, learningRate)) === "stop" || state.globalStep >= run.totalSteps;
    const every = options.checkpoint?.everySteps;
    if (step === stepsPerEpoch) await endEpoch(run, state, epoch, learningRate);
    if (stop || step === stepsPerEpoch || (every !== undefined && state.globalStep % every === 0)) await saveCheckpoint(run, state);
    if (stop) return step < stepsPerEpoch || epoch + 1 < options.epochs;
  }
  return false;
}

/**
 * The state the run starts from: the checkpoint's when resuming one, else step 0. Stale temp
 * files of the checkpoint (left by a process killed while writing it) are removed first: only
 * the renamed checkpoint is ever read, so a temp file is garbage the moment its writer is gone.
 */
async function startState(run: Run): Promise<{ state: RunState; resumedFromStep?: number }> {
  const checkpoint = run.options.checkpoint;
  if (checkpoint !== undefined) await removeStaleCheckpointTemps(checkpoint.file);
  const restored = checkpoint?.resume === true ? await restoreRun(run.model, run.parameters, run.optimizer, checkpoint.file, run.fingerprint) : undefined;
  if (restored === undefined) {
    return { state: { globalStep: 0, history: [], epochProgress: { lossSum: 0, correct: 0, seen: 0, seconds: 0 }, earlierSeconds: 0 } };
  }
  run.options.hooks?.onResume?.({ globalStep: restored.globalStep, totalSteps: run.totalSteps, trainingSeconds: restored.earlierSeconds });
  return { state: restored, resumedFromStep: restored.globalStep };
}

/** Trains `model` (which outputs logits) on `train`; see TrainOptions. */
export async function train(model: tfl.LayersModel, trainSet: Dataset, options: TrainOptions): Promise<TrainResult> {
  const run = prepareRun(model, trainSet, options);
  try {
    const { state, resumedFromStep } = await startState(run);
    let stoppedEarly = false;
    for (let epoch = Math.floor(state.globalStep / run.stepsPerEpoch); epoch < options.epochs && state.globalStep < run.totalSteps; epoch++) {
      stoppedEarly = await runEpoch(run, trainSet, state, epoch);
      if (stoppedEarly) break;
    }
    return {
      history: state.history, globalStep: state.globalStep, stoppedEarly, resumed: resumedFromStep !== undefined, resumedFromStep,
      trainingSeconds: trainingSecondsSoFar(run, state),
    };
  } finally {
    run.optimizer.dispose();
  }
}
