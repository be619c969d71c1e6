// What the two weight-quantization learners (uniform, non-uniform) share, declared once: which
// layers are quantized at how many bits, how a weight is split into groups that share one set of
// parameters, the average-bits budget of PocketFlow's mixed-bit search, and the fine-tune through
// a quantizing training part (after the model's own masks, so a pruned model's zeros stay zero).
import { sampleCount } from "../data/dataset.js";
import { applyMasks, type CompressedModel } from "../graph/compressed-model.js";
import type { Graph, GraphNode } from "../graph/ir.js";
import { perBucket, perTensor, type Grouping } from "../kernels/grouping.js";
import { buildTfjsModel, copyWeightsToGraph } from "../tfjs/tfjs-from-graph.js";
import { train, type TrainOptions } from "../train/trainer.js";
import { composeTraining, maskTrainingPart, mergeHooks, type TrainingPart } from "../train/training-parts.js";
import { FullPrecLearner, type FullPrecOptions } from "./full-prec.js";
import { LearnerOptionError, LearnerRefusedError, type HyperParameter, type LearnerData, type LearnerOptionSpec, type SearchBaseline } from "./learner.js";
import { prunableLayers } from "./weight-sparse.js";

export type GroupingKind = "tensor" | "channel" | "bucket";

/** The options both quantizers take, beside the fine-tune's (FullPrecLearner's). */
export interface WeightQuantizationOptions extends Omit<FullPrecOptions, "distillation" | "teacherGraph" | "onEpochSnapshot"> {
  /** Bits of every quantized weight, 2..8 (PocketFlow uql_weight_bits / nuql_weight_bits, default 4). */
  weightBits?: number;
  /** Bits per node id (what a search passes); layers it does not name take weightBits. */
  layerBits?: Record<string, number>;
  /** Budget of the weighted average bits over the quantized layers: layer bits are clipped to it as PocketFlow's bit optimizer does. */
  averageBits?: number;
  /** Groups sharing one set of parameters: the whole tensor, each output channel, or buckets of bucketSize weights. */
  grouping?: GroupingKind;
  /** Weights per bucket (PocketFlow uql_bucket_size, default 256). */
  bucketSize?: number;
  /** Quantize the first conv and the last dense layer too (PocketFlow uql_quantize_all_layers, default false). */
  quantizeAllLayers?: boolean;
  /** Distil from the input (float) model while fine-tuning (PocketFlow enbl_dst, default true). */
  distill?: boolean;
}

export const MIN_BITS = 2;
export const MAX_BITS = 8;

export const quantizationOptions = (defaultGrouping: GroupingKind): LearnerOptionSpec[] => [
  { name: "weightBits", kind: "integer", min: MIN_BITS, max: MAX_BITS, default: 4, help: "bits of each quantized weight" },
  { name: "averageBits", kind: "number", min: MIN_BITS, max: MAX_BITS, help: "budget of the average bits over the quantized layers (layer bits are clipped to it)" },
  { name: "grouping", kind: "choice", choices: ["tensor", "channel", "bucket"], default: defaultGrouping, help: "weights sharing one set of parameters: tensor, output channel, or bucket" },
  { name: "bucketSize", kind: "integer", min: 1, default: 256, help: "weights per bucket (grouping bucket)" },
  { name: "quantizeAllLayers", kind: "flag", default: false, help: "also quantize the first conv and the last dense layer" },
  { name: "distill", kind: "flag", default: true, help: "distil from the input model while fine-tuning" },
];

/** The fine-tune's options, then the quantizer's shared ones, then its own. */
export const quantizerOptions = (defaultGrouping: GroupingKind, own: readonly LearnerOptionSpec[]): readonly LearnerOptionSpec[] =>
  [...new FullPrecLearner().options, ...quantizationOptions(defaultGrouping), ...own];

// ------------------------------------------------------------------------ layers and bits

/** A weight the learner quantizes, its bits and its groups. */
export interface QuantizedLayer {
  id: string;
  weight: "kernel" | "depthwiseKernel";
  shape: number[];
  size: number;
  bits: number;
  grouping: Grouping;
}

/**
 * Groups of a weight. Output channels are the last axis of a conv or dense kernel; a depthwise
 * kernel [kh, kw, channels, multiplier] has channels × multiplier outputs, its last two axes.
 */
export function weightGrouping(node: GraphNode, shape: readonly number[], kind: GroupingKind, bucketSize: number): Grouping {
  const size = shape.reduce((product, dim) => product * dim, 1);
  if (kind === "tensor") return perTensor();
  if (kind === "bucket") return perBucket(size, bucketSize);
  const outputs = node.op === "depthwiseConv2d" ? shape[2] * shape[3] : shape[shape.length - 1];
  return { inner: 1, groups: outputs };
}

/**
 * PocketFlow's bit budget (uniform_quantization/bit_optimizer.py): with B = averageBits · N over
 * the N weights of the quantized layers, each layer in order gets
 *   bits_i = min(asked_i, 2 + floor(duty_i / n_i), 8),  duty_i = B − used − 2 · (weights left after it),
 * so the layers after it can always take 2 bits, and the average never exceeds the budget.
 */
export function bitsWithinBudget(sizes: readonly number[], asked: readonly number[], averageBits: number): number[] {
  let used = 0;
  let left = sizes.reduce((sum, size) => sum + size, 0);
  const budget = averageBits * left;
  return sizes.map((size, i) => {
    left -= size;
    const duty = budget - used - MIN_BITS * left;
    const bits = Math.max(MIN_BITS, Math.min(asked[i], Math.floor(duty / size), MAX_BITS));
    used += bits * size;
    return bits;
  });
}

/** Weighted average bits of the layers (by weight count). */
export const averageBitsOf = (layers: ReadonlyArray<Pick<QuantizedLayer, "size" | "bits">>): number =>
  layers.reduce((sum, layer) => sum + layer.bits * layer.size, 0) / layers.reduce((sum, layer) => sum + layer.size, 0);

/** The layers to quantize: the default set (first and last aside unless quantizeAllLayers) and any layerBits names, with their bits. */
export function planQuantization(graph: Graph, options: Pick<WeightQuantizationOptions, "weightBits" | "layerBits" | "averageBits" | "grouping" | "bucketSize" | "quantizeAllLayers">): QuantizedLayer[] {
  const { weightBits = 4, layerBits = {}, averageBits, grouping = "tensor", bucketSize = 256, quantizeAllLayers = false } = options;
  const defaults = new Set(prunableLayers(graph, quantizeAllLayers).map((layer) => layer.id));
  const chosen = prunableLayers(graph, true).filter((layer) => defaults.has(layer.id) || layerBits[layer.id] !== undefined);
  const asked = chosen.map((layer) => layerBits[layer.id] ?? weightBits);
  const bits = averageBits === undefined ? asked : bitsWithinBudget(chosen.map((layer) => layer.size), asked, averageBits);
  return chosen.map((layer, i) => {
    const node = graph.nodes.find((candidate) => candidate.id === layer.id) as GraphNode;
    return { ...layer, bits: bits[i], grouping: weightGrouping(node, layer.shape, grouping, bucketSize) };
  });
}

/** The search's space: integer bits per layer of the default set. */
export function bitsSearchSpace(graph: Graph): HyperParameter[] {
  return [{ option: "layerBits", kind: "integer", low: MIN_BITS, high: MAX_BITS, perLayer: prunableLayers(graph).map((layer) => layer.id) }];
}

/** The search's baseline: every layer at the budget's bits (⌊averageBits⌋, else weightBits). */
export function uniformBitsBaseline(graph: Graph, options: Pick<WeightQuantizationOptions, "averageBits" | "weightBits">): SearchBaseline {
  const bits = Math.min(MAX_BITS, Math.max(MIN_BITS, Math.floor(options.averageBits ?? options.weightBits ?? 4)));
  return { name: "uniform", options: { layerBits: Object.fromEntries(prunableLayers(graph).map((layer) => [layer.id, bits])) } };
}

// ------------------------------------------------------------------------------- checks

/** A model already quantized would be quantized twice (its grid lost): refused. */
export function refuseQuantized(learner: string, model: CompressedModel): void {
  const quantized = Object.keys(model.quantization);
  if (quantized.length > 0) {
    throw new LearnerRefusedError(learner, `${quantized.length} of its nodes are already quantized (first: '${quantized[0]}'); quantize the model before it was quantized, once`);
  }
}

/** What resolveOptions cannot check: the per-layer map, a training length, that there is a layer to quantize. */
export function checkQuantizationOptions(learner: string, graph: Graph, options: WeightQuantizationOptions): void {
  const fail = (option: string, rule: string, value: unknown): never => { throw new LearnerOptionError(learner, option, rule, value); };
  const { layerBits, epochs, batchSize } = options;
  if (!(Number.isInteger(epochs) && (epochs as number) >= 1)) fail("epochs", "an integer >= 1 (the fine-tune needs a length)", epochs);
  if (!(Number.isInteger(batchSize) && (batchSize as number) >= 1)) fail("batchSize", "an integer >= 1", batchSize);
  if (layerBits !== undefined) {
    if (typeof layerBits !== "object" || layerBits === null) fail("layerBits", "a map from node id to bits", layerBits);
    const ids = prunableLayers(graph, true).map((layer) => layer.id);
    for (const [id, bits] of Object.entries(layerBits)) {
      if (!ids.includes(id)) fail("layerBits", `a map over the conv, depthwise and dense nodes (${ids.join(", ")}); '${id}' is not one`, layerBits);
      if (!(Number.isInteger(bits) && bits >= MIN_BITS && bits <= MAX_BITS)) fail("layerBits", `a map of integer bits in ${MIN_BITS}..${MAX_BITS}; '${id}' has ${JSON.stringify(bits)}`, layerBits);
    }
  }
  if (planQuantization(graph, options).length === 0) {
    throw new LearnerRefusedError(learner, `graph '${graph.name}' has no conv or dense layer to quantize besides the first conv and the last dense layer; pass quantizeAllLayers or name them in layerBits`);
  }
}

// ----------------------------------------------------------------------------- fine-tune

/**
 * The optimizer and schedule of a quantization fine-tune when the caller names none (and the
 * CLI's in place of the net's recipe): Adam at PocketFlow's UQ rate 1e-4, cosine-decayed so a
 * short run ends low. Small Adam steps keep the weights near the grid they were put on, where
 * SGD at a trained net's fine-tune rate flips many of them between grid points each step.
 */
export const QUANTIZATION_TRAINING: Required<Pick<TrainOptions, "optimizer" | "schedule">> = {
  optimizer: { kind: "adam" },
  schedule: { schedule: { kind: "cosine", learningRate: 1e-4 } },
};

/** The options train() takes: the fine-tune's, not the quantizer's own (`specs` declares them). */
function trainingOptionsOf(options: WeightQuantizationOptions, specs: readonly LearnerOptionSpec[]): TrainOptions {
  const fineTune = new Set(new FullPrecLearner().options.map((spec) => spec.name));
  const own = new Set([...specs.map((spec) => spec.name).filter((name) => !fineTune.has(name)), "mode", "fastSteps", "batchNormMomentum", "layerBits", "progress"]);
  const training = Object.fromEntries(Object.entries(options).filter(([name]) => !own.has(name))) as unknown as TrainOptions;
  return { ...QUANTIZATION_TRAINING, ...Object.fromEntries(Object.entries(training).filter(([, value]) => value !== undefined)) } as TrainOptions;
}

/** Steps the run takes. */
function stepsOf(data: LearnerData, options: WeightQuantizationOptions): number {
  const { mode = "full", fastSteps = 100, epochs = 1, batchSize = 1, maxSteps = Infinity } = options;
  return Math.max(1, Math.min(epochs * Math.floor(sampleCount(data.train) / batchSize), maxSteps, mode === "fast" ? fastSteps : Infinity));
}

/**
 * Trains a copy of the graph through the quantizing part (after the model's masks, so pruned
 * weights get no gradient), the input model as the teacher unless distill is off; returns the
 * trained float weights (masked entries zero) and the steps. The part's state (ranges,
 * centroids) is read by `collect` before the part is disposed with the model.
 */
export async function fineTuneQuantized<T>(model: CompressedModel, data: LearnerData, options: WeightQuantizationOptions, specs: readonly LearnerOptionSpec[], part: TrainingPart, collect: () => T): Promise<{ graph: Graph; steps: number; collected: T }> {
  const trainOptions = trainingOptionsOf(options, specs);
  const composed = composeTraining(model.graph, [maskTrainingPart(model), part], { batchNormMomentum: options.batchNormMomentum ?? 0.9 });
  const teacher = options.distill === false ? undefined : buildTfjsModel(model.graph, { withoutSoftmax: true });
  try {
    const result = await train(composed.model, data.train, {
      ...trainOptions,
      ...composed.trainOptions,
      normalization: data.normalization,
      augmentation: data.augmentation,
      validation: undefined,
      maxSteps: stepsOf(data, options),
      distillation: teacher === undefined ? undefined : { teacher },
      hooks: mergeHooks(trainOptions.hooks, composed.trainOptions.hooks),
    });
    const graph = applyMasks({ ...model, graph: copyWeightsToGraph(composed.model, structuredClone(model.graph)) }).graph;
    return { graph, steps: result.globalStep, collected: collect() };
  } finally {
    composed.dispose();
    teacher?.dispose();
  }
}
