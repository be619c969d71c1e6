// UniformQuantTFLearner: 8-bit quantization-aware training (Jacob et al. 2018, "Quantization and
// training of neural networks for efficient integer-arithmetic-only inference"), as PocketFlow's
// uniform-tf learner runs tf.contrib.quantize, ending in a real integer model: the contract of
// src/deploy/int8-model.ts, which the int8 engine and the ONNX exporter run. Steps, in the
// paper's order:
//   1. fold the batch norms into the layers before them (§3.2);
//   2. choose the tensors to quantize: the input and every node's output, a relu's instead of
//      the conv, dense or add it is fused with; maxPool, zeroPad2d, flatten and dropout keep
//      their input's range; a softmax that ends the model stays float;
//   3. calibrate the activation ranges on a few training batches (the mean of the batches'
//      min and max), with float activations;
//   4. fine-tune through fake quantizers in tfjs ops only (so tfjs-node-gpu can run it):
//      symmetric per-output-channel int8 weights (narrow range ±127) and asymmetric uint8
//      activations, straight-through gradients clipped to the range (§3.1, eq. 12), the ranges
//      following an exponential moving average of the batch min/max, activations left float for
//      the first quantDelay steps (ranges still tracked);
//   5. snap the weights to their grid with the core's kernels, and record the weights' scales and
//      every activation range.
// Post-training quantization is the same learner with no step 4 (postTraining).
// Choices of ours, and why:
// - The batch norms fold with their moving statistics before training, and the folded layer
//   (weights and bias) is what trains. Jacob et al. fold with the batch statistics while
//   training (and correct to the moving ones), because a net trained from scratch has no settled
//   statistics. A trained model has them, and a short fine-tune at a small rate barely moves
//   them, so the folded layer is the function inference computes from the first step; training it
//   directly trains the integer model's own weights, with no batch-norm freeze to schedule.
// - EMA decay 0.99 (TensorFlow's 0.999 averages over ~1000 steps, longer than the fast
//   fine-tune of a search): the ranges follow the weights within ~100 steps. They start from the
//   calibrated ones, so the first steps already quantize on sensible ranges.
// - Adam at 1e-5, cosine-decayed to 1e-2 of it (PocketFlow: Adam, uqtf_lrn_rate_dcy = 1e-2).
//   Adam moves every weight by about the rate per step whatever its gradient, and a folded
//   ResNet-20 kernel's grid step max|w|/127 is ~1e-3..1e-2: PocketFlow's 1e-3 (its 0.1 times
//   1e-2) jumps a grid step in a few steps. Measured on the shipped ResNet-20 / Fashion-MNIST,
//   30 steps at 1e-4 lost 0.24 (test) and 0.54 (validation) point where 1e-5 lost 0.04 and 0.
// - Biases stay float: the integer model stores them as int32 at inputScale·weightScale (not
//   simulated: that rounding is 1/2^24 of the bias's own scale at most).
// - 8 bits only: the integer model's contract; `uniform` covers other bit widths.
import * as tf from "@tensorflow/tfjs-core";
import { sampleCount } from "../data/dataset.js";
import { batches } from "../data/batches.js";
import { applyMasks, withHistory, type ActivationQuantization, type CompressedModel, type NodeQuantization, type UniformWeightQuantization } from "../graph/compressed-model.js";
import { foldBatchNormsOf, unfoldableBatchNorms } from "../graph/fold-batch-norm.js";
import type { Graph } from "../graph/ir.js";
import { checkInt8Model, fusedActivations, INT8_BITS, INT8_OPS, isWeightedNode, kernelNameOf, outputChannelGrouping, RANGE_PRESERVING_OPS } from "../deploy/int8-model.js";
import { quantParamsFromRange } from "../kernels/quant-params.js";
import { fakeQuantize, minMax } from "../kernels/quantize.js";
import { copyWeightsToGraph } from "../tfjs/tfjs-from-graph.js";
import { RangeTracker } from "../train/activation-ranges.js";
import type { Forward } from "../train/evaluate.js";
import { evaluateQuantized } from "../train/evaluate-quantized.js";
import { asymmetricGrid, fakeQuantizeOnGrid, perChannelSymmetricFakeQuant } from "../train/fake-quant.js";
import type { TrainingOptimizerConfig } from "../train/optimizers.js";
import type { ScheduleOptions } from "../train/schedule.js";
import { train, type TrainOptions } from "../train/trainer.js";
import { composeTraining, maskTrainingPart, mergeHooks, type TrainingPart } from "../train/training-parts.js";
import { mapOutput } from "../tfjs/map-layer.js";
import { FullPrecLearner } from "./full-prec.js";
import { LearnerOptionError, LearnerRefusedError, resolveOptions, type HyperParameter, type Learner, type LearnerData, type LearnerMode, type LearnerOptionSpec, type LearnerRecord } from "./learner.js";

export interface UniformQuantTFOptions extends Omit<TrainOptions, "epochs" | "normalization" | "augmentation" | "validation" | "forward" | "distillation" | "extraParameters" | "lossTerms" | "checkpoint"> {
  /** Epochs of a full run; not needed post-training. */
  epochs?: number;
  /** 'fast' stops after fastSteps steps (default 'full': every epoch). */
  mode?: LearnerMode;
  /** Steps of a fast fine-tune (default 100). */
  fastSteps?: number;
  /** Calibration only, no training: post-training quantization (default false). */
  postTraining?: boolean;
  /** Steps before activations are fake-quantized; their ranges are tracked from the start (PocketFlow uqtf_quant_delay, default 0). */
  quantDelay?: number;
  /** Decay of the activation ranges' exponential moving average while training (default 0.99). */
  emaDecay?: number;
  /** Training batches the activation ranges are calibrated on before training (default 10). */
  calibrationBatches?: number;
}

/** Adam at 1e-5, cosine-decayed to 1e-7 (see the header). */
export const UNIFORM_TF_TRAINING: { optimizer: TrainingOptimizerConfig; schedule: ScheduleOptions } = {
  optimizer: { kind: "adam" },
  schedule: { schedule: { kind: "cosine", learningRate: 1e-5, finalFactor: 1e-2 } },
};

const QUANTIZATION_OPTIONS: readonly LearnerOptionSpec[] = [
  { name: "postTraining", kind: "flag", default: false, help: "post-training quantization: calibrate the activation ranges, no training" },
  { name: "quantDelay", kind: "integer", min: 0, default: 0, help: "steps before activations are fake-quantized (ranges tracked from the start)" },
  { name: "emaDecay", kind: "number", min: 0, max: 0.9999, default: 0.99, help: "decay of the activation ranges' moving average" },
  { name: "calibrationBatches", kind: "integer", min: 1, default: 10, help: "training batches the activation ranges are calibrated on" },
];

/** The fine-tune's options are FullPrecLearner's (mode, fastSteps, epochs, batchSize, ...); batch norms are folded, so no momentum. */
const OPTIONS: readonly LearnerOptionSpec[] = [...new FullPrecLearner().options.filter((spec) => spec.name !== "batchNormMomentum"), ...QUANTIZATION_OPTIONS];

// ------------------------------------------------------------------ 0. what can be quantized

/** Why the model cannot become an integer model, naming the node, or undefined. */
function refusal(model: CompressedModel): string | undefined {
  const quantized = Object.keys(model.quantization);
  if (quantized.length > 0) return `${quantized.length} of its nodes are already quantized (first: '${quantized[0]}'); quantize the float model once`;
  const [unfoldable] = unfoldableBatchNorms(model.graph);
  if (unfoldable !== undefined) return `batch norm '${unfoldable}' does not follow a conv, depthwise or dense layer that only it reads, so it cannot fold and the integer model has no batch norm`;
  for (const node of model.graph.nodes) {
    if (node.op !== "batchNorm" && !INT8_OPS.has(node.op)) return `${node.op} '${node.id}' has no integer kernel (the integer model runs ${[...INT8_OPS].join(", ")})`;
    if (node.op === "softmax" && !model.graph.outputs.includes(node.id)) return `softmax '${node.id}' is not a model output, and the integer model runs a softmax in float only at its output`;
  }
  return undefined;
}

// --------------------------------------------------------------- 2. the tensors to quantize

/**
 * What happens to each node's output: 'quantize' (fake-quantized on its own range), 'observe'
 * (a conv, dense or add fused with its relu: range tracked, not applied), 'inherit' (a
 * range-preserving op: its input's range), 'float' (a softmax ending the model).
 */
export type ActivationRole = "quantize" | "observe" | "inherit" | "float";

export function activationRoles(graph: Graph): Map<string, ActivationRole> {
  const fused = fusedActivations(graph);
  return new Map(graph.nodes.map((node): [string, ActivationRole] => {
    if (node.op === "softmax" && graph.outputs.includes(node.id)) return [node.id, "float"];
    if (RANGE_PRESERVING_OPS.has(node.op)) return [node.id, "inherit"];
    return [node.id, fused.has(node.id) ? "observe" : "quantize"];
  }));
}

// ------------------------------------------------------- 3–4. the fake quantizers as a part

/** Calibrating (float activations, ranges averaged over batches) or training (EMA, fake-quantized after the delay). */
export type QuantizationPhase = "calibrate" | "train";

export interface QuantizationPart extends TrainingPart {
  phase: QuantizationPhase;
  /** Updates done so far (activations are fake-quantized once it reaches quantDelay). */
  readonly steps: number;
  /** The range of each tracked tensor, by node id (the input's included). */
  readonly trackers: ReadonlyMap<string, RangeTracker>;
  /** The forward pass with the input fake-quantized (the built model starts after the input node). */
  quantizeInput(forward: Forward): Forward;
}

/** Weight transforms on every conv, depthwise and dense kernel; range trackers and fake quantizers on the activations. */
export function quantizationPart(graph: Graph, options: Pick<UniformQuantTFOptions, "quantDelay" | "emaDecay">): QuantizationPart {
  const { quantDelay = 0, emaDecay = 0.99 } = options;
  const roles = activationRoles(graph);
  const trackers = new Map<string, RangeTracker>();
  let phase: QuantizationPhase = "calibrate";
  let steps = 0;
  const quantizer = (id: string, applies: boolean) => {
    const tracker = new RangeTracker(emaDecay);
    trackers.set(id, tracker);
    return (x: tf.Tensor, training: boolean): tf.Tensor => {
      if (phase === "calibrate" || training) tracker.observe(x, phase === "calibrate" ? "mean" : "ema");
      if (!applies || phase === "calibrate" || steps < quantDelay) return x;
      return fakeQuantizeOnGrid(x, asymmetricGrid(tracker.min, tracker.max, INT8_BITS));
    };
  };
  const overrides: NonNullable<TrainingPart["overrides"]> = {};
  let quantizeImages: ((x: tf.Tensor, training: boolean) => tf.Tensor) | undefined;
  for (const node of graph.nodes) {
    const role = roles.get(node.id) as ActivationRole;
    if (node.op === "input") quantizeImages = quantizer(node.id, true);
    else if (role === "quantize" || role === "observe") overrides[node.id] = { output: mapOutput(`${node.id}__activation_quantizer`, quantizer(node.id, role === "quantize")) };
    if (isWeightedNode(node)) {
      const transform = perChannelSymmetricFakeQuant(outputChannelGrouping(node).groups, INT8_BITS);
      overrides[node.id] = { ...overrides[node.id], weightTransforms: { [kernelNameOf(node)]: transform } };
    }
  }
  return {
    name: "uniform-tf",
    overrides,
    afterUpdate: (_weight, step) => { steps = step + 1; },
    get phase() { return phase; },
    set phase(next) { phase = next; },
    get steps() { return steps; },
    trackers,
    quantizeInput: (forward) => (images, training) => forward((quantizeImages?.(images, training) ?? images) as tf.Tensor4D, training),
    dispose: () => { for (const tracker of trackers.values()) tracker.dispose(); },
  };
}

/** Runs calibrationBatches training batches (no augmentation) through the model in inference mode while the part calibrates; returns how many ran. */
function calibrate(forward: Forward, data: LearnerData, options: { batchSize: number; seed: number; calibrationBatches: number }): number {
  const [height, width, channels] = data.train.imageShape;
  let seen = 0;
  for (const batch of batches(data.train, { batchSize: options.batchSize, shuffle: true, seed: options.seed, normalization: data.normalization })) {
    if (seen === options.calibrationBatches) break;
    tf.tidy(() => { forward(tf.tensor4d(batch.images, [batch.size, height, width, channels]), false); });
    seen++;
  }
  return seen;
}

type Range = { min: number; max: number };

/** The options train() takes: all but the learner's own. */
function trainingOptionsOf(options: UniformQuantTFOptions): TrainOptions {
  const own = new Set(["mode", "fastSteps", ...QUANTIZATION_OPTIONS.map((spec) => spec.name)]);
  const trainOptions = Object.fromEntries(Object.entries(options).filter(([name]) => !own.has(name))) as unknown as TrainOptions;
  return { ...trainOptions, optimizer: options.optimizer ?? UNIFORM_TF_TRAINING.optimizer, schedule: options.schedule ?? UNIFORM_TF_TRAINING.schedule };
}

/** Calibrates, then (unless post-training) fine-tunes the folded model through the part; the trained float graph, masks re-applied. */
async function quantizationAwareRun(folded: CompressedModel, data: LearnerData, options: UniformQuantTFOptions, part: QuantizationPart): Promise<{ graph: Graph; steps: number; calibrated: number; ranges: Map<string, Range> }> {
  const { mode = "full", fastSteps = 100, postTraining = false, calibrationBatches = 10, seed = 0, batchSize } = options;
  const trainOptions = trainingOptionsOf(options);
  const composed = composeTraining(folded.graph, [maskTrainingPart(folded), part]);
  const forward = part.quantizeInput(composed.trainOptions.forward);
  try {
    const calibrated = calibrate(forward, data, { batchSize, seed, calibrationBatches });
    part.phase = "train";
    let steps = 0;
    if (!postTraining) {
      const result = await train(composed.model, data.train, {
        ...trainOptions,
        ...composed.trainOptions,
        forward,
        normalization: data.normalization,
        augmentation: data.augmentation,
        validation: data.validation,
        maxSteps: mode === "fast" ? Math.min(fastSteps, trainOptions.maxSteps ?? Infinity) : trainOptions.maxSteps,
        hooks: mergeHooks(trainOptions.hooks, composed.trainOptions.hooks),
      });
      steps = result.globalStep;
    }
    const graph = applyMasks({ ...folded, graph: copyWeightsToGraph(composed.model, structuredClone(folded.graph)) }).graph;
    const ranges = new Map([...part.trackers].map(([id, tracker]) => [id, tracker.range()]));
    return { graph, steps, calibrated, ranges };
  } finally {
    composed.dispose();
  }
}

// ------------------------------------------------------------------------------ 5. finish

/**
 * Puts every conv, depthwise and dense kernel of the graph (in place) on its symmetric int8
 * grid, one scale per output channel from the channel's max |w| (the core's kernels), and
 * returns the weights' quantization by node id.
 */
export function snapWeights(graph: Graph): Record<string, NodeQuantization> {
  const quantization: Record<string, NodeQuantization> = {};
  for (const node of graph.nodes) {
    if (!isWeightedNode(node)) continue;
    const name = kernelNameOf(node);
    const kernel = node.op === "depthwiseConv2d" ? node.weights.depthwiseKernel : node.weights.kernel;
    const grouping = outputChannelGrouping(node);
    const { min, max } = minMax(kernel.values, grouping);
    const params = quantParamsFromRange(min, max, { bits: INT8_BITS, symmetric: true }, grouping);
    kernel.values = fakeQuantize(kernel.values, params);
    const weights: UniformWeightQuantization = { scheme: "uniform", bits: INT8_BITS, symmetric: true, grouping, scales: params.scales, zeroPoints: params.zeroPoints };
    quantization[node.id] = { weights: { [name]: weights } };
  }
  return quantization;
}

/** Every node's activation range as the contract has it: tracked, or (range-preserving ops) the input's. */
function activationRanges(graph: Graph, tracked: ReadonlyMap<string, Range>): Record<string, ActivationQuantization> {
  const roles = activationRoles(graph);
  const ranges: Record<string, ActivationQuantization> = {};
  for (const node of graph.nodes) {
    const role = roles.get(node.id);
    if (role === "float") continue;
    if (role === "inherit") {
      ranges[node.id] = { ...ranges[node.inputs[0]] };
      continue;
    }
    const { min, max } = tracked.get(node.id) as Range;
    if (!(Number.isFinite(min) && Number.isFinite(max))) throw new Error(`uniform-tf: the activation range of node '${node.id}' is [${min}, ${max}]; training diverged, lower the learning rate`);
    ranges[node.id] = { bits: INT8_BITS, min, max, symmetric: false };
  }
  return ranges;
}

/** The weights' and activations' quantization of every node, merged. */
function merged(weights: Record<string, NodeQuantization>, activations: Record<string, ActivationQuantization>): Record<string, NodeQuantization> {
  const quantization: Record<string, NodeQuantization> = { ...weights };
  for (const [id, activation] of Object.entries(activations)) quantization[id] = { ...quantization[id], activation };
  return quantization;
}

// ------------------------------------------------------------------------------ the learner

/** Checks what resolveOptions cannot: a training length unless post-training, a batch size. */
function checkQuantizationOptions(learner: string, options: UniformQuantTFOptions): void {
  const fail = (option: string, rule: string, value: unknown): never => { throw new LearnerOptionError(learner, option, rule, value); };
  const { epochs, batchSize, postTraining = false } = options;
  if (!(Number.isInteger(batchSize) && batchSize >= 1)) fail("batchSize", "an integer >= 1 (training and calibration batches)", batchSize);
  if (!postTraining && !(Number.isInteger(epochs) && (epochs as number) >= 1)) fail("epochs", "an integer >= 1 (or pass postTraining for calibration only, no training)", epochs);
}

export class UniformQuantTFLearner implements Learner<UniformQuantTFOptions> {
  readonly name = "uniform-tf";
  readonly description = "8-bit quantization-aware training (Jacob et al. 2018): batch norms folded, int8 weights per channel, uint8 activations on EMA ranges; an integer model. --post-training: calibration only";
  readonly options = OPTIONS;
  readonly trainingDefaults = UNIFORM_TF_TRAINING;

  /** PocketFlow runs UQ-TF without a search: 8 bits everywhere. */
  searchSpace(): HyperParameter[] {
    return [];
  }

  async compress(model: CompressedModel, data: LearnerData, given: UniformQuantTFOptions): Promise<CompressedModel> {
    const reason = refusal(model);
    if (reason !== undefined) throw new LearnerRefusedError(this.name, reason);
    const options = resolveOptions(this, given);
    checkQuantizationOptions(this.name, options);
    if (sampleCount(data.train) < options.batchSize) throw new LearnerOptionError(this.name, "batchSize", `at most the ${sampleCount(data.train)} training samples`, options.batchSize);
    const started = performance.now();
    const folded = foldBatchNormsOf(model);
    const part = quantizationPart(folded.graph, options);
    const { graph, steps, calibrated, ranges } = await quantizationAwareRun(folded, data, options, part);
    const quantization = merged(snapWeights(graph), activationRanges(graph, ranges));
    const quantized: CompressedModel = { ...folded, graph, quantization };
    checkInt8Model(quantized);
    return withHistory(quantized, "quantize", { ...this.record(options, quantized, data, steps, started), calibrationBatches: calibrated, foldedBatchNorms: model.graph.nodes.length - graph.nodes.length });
  }

  private record(options: UniformQuantTFOptions, model: CompressedModel, data: LearnerData, steps: number, started: number): LearnerRecord & Record<string, unknown> {
    const validationAccuracy = data.validation === undefined ? undefined : evaluateQuantized(model, data.validation, { normalization: data.normalization }).accuracy;
    const { mode = "full", postTraining, quantDelay = 0, emaDecay, epochs, batchSize, seed, weightDecay } = options;
    const { optimizer, schedule } = trainingOptionsOf(options);
    return {
      learner: this.name, mode, validationAccuracy, steps, seconds: (performance.now() - started) / 1000,
      options: { postTraining, quantDelay, emaDecay, epochs: postTraining === true ? undefined : epochs, batchSize, seed, optimizer, schedule, weightDecay },
      weightBits: INT8_BITS, activationBits: INT8_BITS, activationQuantizedSteps: Math.max(0, steps - quantDelay),
    };
  }
}
