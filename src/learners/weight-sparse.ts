// WeightSparseLearner: gradual magnitude pruning (Zhu & Gupta 2017, "To prune, or not to prune"),
// as PocketFlow's weight_sparsification learner runs it. During a fine-tune, each prunable
// layer's sparsity follows
//   s_t = s_f · (1 − (1 − b)^3),  b = clip((t − t_beg) / (t_end − t_beg), 0, 1),
// and every N steps the layer's mask keeps its largest |w|; pruned weights and their gradients
// stay zero. Steps, in the paper's order:
//   1. choose the layers and their final sparsities (uniform, PocketFlow's log-size heuristic, or
//      an explicit per-layer map: what a search passes);
//   2. plan the schedule over the run's steps;
//   3. fine-tune, recomputing the masks on the schedule;
//   4. take the final masks (the target met exactly, even when the run stopped early).
// Choices of ours, and why:
// - A weight once pruned stays pruned (its value is 0, so it never ranks among the largest
//   again): the masks only grow, as withMasks combines them, and an input model's masks (a chain)
//   are kept the same way. PocketFlow re-ranks a backup of the unmasked weights instead.
// - The masked weights are re-zeroed after every update rather than the optimizer reset
//   (PocketFlow resets it): the trainer owns the optimizer, and a momentum or Adam slot filled
//   before a weight was masked would otherwise keep moving it.
// - The first conv and the last dense layer are left dense by default (PocketFlow's RL gives the
//   head and tail 0 on CIFAR): they hold few weights and the accuracy depends on them most.
// - Kept counts are apportioned over the layers by largest remainders, so the global target is met
//   to the weight: round(s · N) of the N weights of the pruned layers are pruned.
// A sparse model keeps its dense shapes, so it runs no faster on our backend (dense kernels); it is
// smaller only when stored sparse (graph/sparse-storage.ts).
import * as tf from "@tensorflow/tfjs-core";
import { sampleCount } from "../data/dataset.js";
import { applyMasks, withHistory, withMasks, weightOf, type CompressedModel, type WeightMask } from "../graph/compressed-model.js";
import type { Graph } from "../graph/ir.js";
import { applyMask, countKept, magnitudeMask, magnitudeThreshold } from "../kernels/mask.js";
import { copyWeightsToGraph } from "../tfjs/tfjs-from-graph.js";
import { evaluateGraph } from "../train/evaluate-graph.js";
import { train, type TrainOptions } from "../train/trainer.js";
import { composeTraining, maskTrainingPart, mergeHooks, type TrainingPart, type WeightVariable } from "../train/training-parts.js";
import { FullPrecLearner } from "./full-prec.js";
import { SAMPLING_OPTIONS } from "./pruning-options.js";
import { reconstructSparse, type SparseLayerReport } from "./sparse-reconstruction.js";
import { LearnerOptionError, LearnerRefusedError, resolveOptions, type HyperParameter, type Learner, type LearnerData, type LearnerMode, type LearnerOptionSpec, type LearnerRecord, type SearchBaseline } from "./learner.js";

export type SparsityAllocation = "uniform" | "heuristic";

export interface WeightSparseOptions extends Omit<TrainOptions, "normalization" | "augmentation" | "validation" | "forward" | "distillation" | "extraParameters" | "lossTerms" | "checkpoint"> {
  /** 'fast' stops after fastSteps steps (default 'full': every epoch). */
  mode?: LearnerMode;
  /** Steps of a fast fine-tune (default 100). */
  fastSteps?: number;
  /** Batch-norm moving-average momentum of the built model (default 0.9). */
  batchNormMomentum?: number;
  /** Final sparsity s_f over the pruned layers, in (0, 1) (PocketFlow ws_prune_ratio, default 0.75). */
  sparsity?: number;
  /** How s_f is split over the layers (default 'uniform'); see uniformSparsities, heuristicSparsities. */
  allocation?: SparsityAllocation;
  /** Final sparsity per node id, each in [0, 1): replaces sparsity and allocation (what a search passes). */
  layerSparsity?: Record<string, number>;
  /** The schedule's exponent (PocketFlow ws_prune_ratio_exp, default 3). */
  exponent?: number;
  /** t_beg as a fraction of the run's steps (default 0; PocketFlow's 0.1 is of a full training). */
  beginFraction?: number;
  /** t_end as a fraction of the run's steps (default 0.7, leaving 30% to recover at the final sparsity). */
  endFraction?: number;
  /** Steps between mask updates, lowered so that a short run still updates MIN_MASK_UPDATES times (default 100). */
  maskUpdateInterval?: number;
  /** Prune the first conv and the last dense layer too (default false). */
  pruneFirstAndLast?: boolean;
  /** Mask at the final sparsities at once and refit each conv's kept weights by least squares before the fine-tune (default false: the gradual schedule). */
  reconstruct?: boolean;
  /** Images sampled per layer by the reconstruction (default 400). */
  samples?: number;
  /** Output positions sampled per image by the reconstruction (default 10). */
  positionsPerImage?: number;
  /** Reports each reconstructed layer. */
  progress?(message: string): void;
}

/** A short run still prunes in this many steps at least, so no single step removes most of the weights. */
export const MIN_MASK_UPDATES = 4;
/** The largest sparsity the heuristic gives a layer and a search asks of one. */
export const MAX_LAYER_SPARSITY = 0.99;

/** The sparsities a search asks of one layer for a global target s (PocketFlow's action range). */
export const layerSparsityRange = (sparsity: number): { low: number; high: number } => ({
  low: Math.max(0, 1 - 3 * (1 - sparsity)),
  high: Math.min(MAX_LAYER_SPARSITY, 1 - (1 - sparsity) / 3),
});

const PRUNING_OPTIONS: readonly LearnerOptionSpec[] = [
  { name: "sparsity", kind: "number", min: 0, max: 1, default: 0.75, help: "final fraction of the pruned layers' weights set to zero, in (0, 1)" },
  { name: "allocation", kind: "choice", choices: ["uniform", "heuristic"], default: "uniform", help: "per-layer sparsities: uniform, or heuristic (proportional to log of the layer's size)" },
  { name: "exponent", kind: "number", min: 1, default: 3, help: "exponent of the schedule s_f(1 - (1 - b)^e)" },
  { name: "beginFraction", kind: "number", min: 0, max: 1, default: 0, help: "pruning begins at this fraction of the steps" },
  { name: "endFraction", kind: "number", min: 0, max: 1, default: 0.7, help: "the final sparsity is reached at this fraction of the steps" },
  { name: "maskUpdateInterval", kind: "integer", min: 1, default: 100, help: "steps between mask updates (fewer in short runs)" },
  { name: "pruneFirstAndLast", kind: "flag", default: false, help: "also prune the first conv and the last dense layer" },
  { name: "reconstruct", kind: "flag", default: false, help: "prune to the final sparsities at once and refit each conv's kept weights to the original's outputs by least squares, then fine-tune with the masks fixed" },
  ...SAMPLING_OPTIONS,
];

/** The fine-tune's options are FullPrecLearner's (mode, fastSteps, epochs, batchSize, ...). */
const OPTIONS: readonly LearnerOptionSpec[] = [...new FullPrecLearner().options, ...PRUNING_OPTIONS];

// ------------------------------------------------------------------ 1. layers and sparsities

/** A weight the learner prunes. */
export interface PrunableLayer {
  id: string;
  weight: "kernel" | "depthwiseKernel";
  shape: number[];
  size: number;
}

/** Conv, depthwise and dense kernels in graph order; the first conv and last dense only when asked. */
export function prunableLayers(graph: Graph, pruneFirstAndLast = false): PrunableLayer[] {
  const layers = graph.nodes.flatMap((node): PrunableLayer[] => {
    if (node.op === "conv2d" || node.op === "dense") return [{ id: node.id, weight: "kernel", shape: [...node.weights.kernel.shape], size: node.weights.kernel.values.length }];
    if (node.op === "depthwiseConv2d") {
      return [{ id: node.id, weight: "depthwiseKernel", shape: [...node.weights.depthwiseKernel.shape], size: node.weights.depthwiseKernel.values.length }];
    }
    return [];
  });
  if (pruneFirstAndLast) return layers;
  const firstConv = graph.nodes.find((node) => node.op === "conv2d")?.id;
  const lastDense = [...graph.nodes].reverse().find((node) => node.op === "dense")?.id;
  return layers.filter((layer) => layer.id !== firstConv && layer.id !== lastDense);
}

/** Every layer at the global target (Zhu & Gupta's default). */
export const uniformSparsities = (layers: readonly PrunableLayer[], sparsity: number): number[] => layers.map(() => sparsity);

/**
 * PocketFlow's 'heurist' protocol: s_i = α · log n_i, α = s · Σn / Σ n log n, so that larger layers
 * lose a larger share and Σ s_i n_i = s · Σn. A layer the formula puts above MAX_LAYER_SPARSITY is
 * held there and α recomputed over the others.
 */
export function heuristicSparsities(layers: readonly PrunableLayer[], sparsity: number): number[] {
  const total = layers.reduce((sum, layer) => sum + layer.size, 0);
  const capped = new Set<number>();
  for (;;) {
    const cappedPruned = [...capped].reduce((sum, i) => sum + MAX_LAYER_SPARSITY * layers[i].size, 0);
    const weighted = layers.reduce((sum, layer, i) => sum + (capped.has(i) ? 0 : layer.size * Math.log(layer.size)), 0);
    if (!(weighted > 0)) {
      throw new RangeError(`weight-sparse: sparsity ${sparsity} cannot be split by the heuristic with no layer above ${MAX_LAYER_SPARSITY}; lower sparsity or use allocation 'uniform'`);
    }
    const alpha = (sparsity * total - cappedPruned) / weighted;
    const ratios = layers.map((layer, i) => (capped.has(i) ? MAX_LAYER_SPARSITY : alpha * Math.log(layer.size)));
    const over = ratios.flatMap((ratio, i) => (!capped.has(i) && ratio > MAX_LAYER_SPARSITY ? [i] : []));
    if (over.length === 0) return ratios;
    over.forEach((i) => capped.add(i));
  }
}

/** Integers within 1 of each target, summing to the rounded total (largest remainders get the rest). */
export function apportion(targets: readonly number[]): number[] {
  const counts = targets.map(Math.floor);
  const total = Math.round(targets.reduce((sum, target) => sum + target, 0));
  const byRemainder = targets.map((target, i) => i).sort((a, b) => (targets[b] - counts[b]) - (targets[a] - counts[a]) || a - b);
  for (let k = 0, left = total - counts.reduce((sum, count) => sum + count, 0); k < left; k++) counts[byRemainder[k]] += 1;
  return counts;
}

/** The layers to prune and how many weights each loses at the end. */
export interface PruningPlan {
  layers: PrunableLayer[];
  finalPruned: number[];
}

function planLayers(model: CompressedModel, options: WeightSparseOptions): PruningPlan {
  const { sparsity = 0.75, allocation = "uniform", layerSparsity, pruneFirstAndLast = false } = options;
  if (layerSparsity !== undefined) {
    const all = prunableLayers(model.graph, true);
    const layers = Object.keys(layerSparsity).map((id) => all.find((layer) => layer.id === id) as PrunableLayer);
    return { layers, finalPruned: layers.map((layer) => Math.round(layerSparsity[layer.id] * layer.size)) };
  }
  const layers = prunableLayers(model.graph, pruneFirstAndLast);
  const ratios = allocation === "heuristic" ? heuristicSparsities(layers, sparsity) : uniformSparsities(layers, sparsity);
  return { layers, finalPruned: apportion(layers.map((layer, i) => ratios[i] * layer.size)) };
}

// ------------------------------------------------------------------------- 2. the schedule

export interface PruningSchedule {
  /** t_beg and t_end, in steps. */
  beginStep: number;
  endStep: number;
  exponent: number;
  /** Steps after which the masks are recomputed, ascending; the last is endStep. */
  updateSteps: number[];
}

/** The fraction of the final sparsity reached after `step` steps: 1 − (1 − b)^e. */
export function scheduledFraction(step: number, schedule: Pick<PruningSchedule, "beginStep" | "endStep" | "exponent">): number {
  const progress = Math.min(1, Math.max(0, (step - schedule.beginStep) / (schedule.endStep - schedule.beginStep)));
  return 1 - (1 - progress) ** schedule.exponent;
}

/** s_t = s_f · (1 − (1 − b)^e) (Zhu & Gupta 2017, eq. 1). */
export const scheduledSparsity = (step: number, finalSparsity: number, schedule: Pick<PruningSchedule, "beginStep" | "endStep" | "exponent">): number =>
  finalSparsity * scheduledFraction(step, schedule);

/** The schedule over a run of totalSteps steps: every interval steps from t_beg, and at t_end. */
export function pruningSchedule(totalSteps: number, options: Pick<WeightSparseOptions, "beginFraction" | "endFraction" | "maskUpdateInterval" | "exponent">): PruningSchedule {
  const { beginFraction = 0, endFraction = 0.7, maskUpdateInterval = 100, exponent = 3 } = options;
  const endStep = Math.max(1, Math.round(endFraction * totalSteps));
  const beginStep = Math.min(Math.round(beginFraction * totalSteps), endStep - 1);
  const interval = Math.max(1, Math.min(maskUpdateInterval, Math.floor((endStep - beginStep) / MIN_MASK_UPDATES)));
  const updateSteps: number[] = [];
  for (let step = beginStep + interval; step < endStep; step += interval) updateSteps.push(step);
  updateSteps.push(endStep);
  return { beginStep, endStep, exponent, updateSteps };
}

// -------------------------------------------------------------------------- 3. the fine-tune

/**
 * The mask keeping exactly `keep` of the weights `current` keeps: the largest |w|, ties at the
 * threshold taken in index order. Never keeps what `current` pruned, so the masks only grow.
 */
export function keepLargest(values: Float32Array, current: Uint8Array, keep: number): Uint8Array {
  if (keep >= countKept(current)) return Uint8Array.from(current);
  const candidates = applyMask(values, current);
  const threshold = magnitudeThreshold(candidates, keep);
  const { mask, kept } = magnitudeMask(candidates, threshold, { strict: true });
  for (let i = 0, missing = keep - kept; i < candidates.length && missing > 0; i++) {
    if (current[i] !== 0 && mask[i] === 0 && Math.abs(candidates[i]) === threshold) {
      mask[i] = 1;
      missing--;
    }
  }
  return mask;
}

/** The part that prunes during training; `masks` are the current ones, by layer index. */
export interface GradualPruningPart extends TrainingPart {
  readonly masks: Uint8Array[];
  /** Mask updates done so far. */
  readonly updates: number;
}

/**
 * Masks the layers' gradients with their current masks, recomputes the masks from |w| after
 * each scheduled step, and re-zeroes the masked weights after every update (see the header).
 */
export function gradualPruningPart(plan: PruningPlan, initial: Uint8Array[], schedule: PruningSchedule): GradualPruningPart {
  const masks: Uint8Array[] = initial.map((mask) => Uint8Array.from(mask));
  let tensors = masks.map((mask, i) => tf.tensor(Float32Array.from(mask), plan.layers[i].shape, "float32"));
  const scheduled = new Set(schedule.updateSteps);
  let updates = 0;
  const gradients: NonNullable<TrainingPart["gradients"]> = {};
  plan.layers.forEach((layer, i) => {
    gradients[layer.id] = { ...gradients[layer.id], [layer.weight]: (gradient) => tf.mul(gradient, tensors[i]) };
  });
  const update = (weight: WeightVariable, step: number): void => {
    const pruned = apportion(plan.finalPruned.map((count) => count * scheduledFraction(step, schedule)));
    plan.layers.forEach((layer, i) => {
      masks[i] = keepLargest(weight(layer.id, layer.weight).dataSync() as Float32Array, masks[i], layer.size - pruned[i]);
    });
    tf.dispose(tensors);
    tensors = masks.map((mask, i) => tf.tensor(Float32Array.from(mask), plan.layers[i].shape, "float32"));
    updates++;
  };
  return {
    name: "weight-sparse",
    gradients,
    afterUpdate(weight, step) {
      if (scheduled.has(step + 1)) update(weight, step + 1);
      plan.layers.forEach((layer, i) => {
        if (masks[i].includes(0)) tf.tidy(() => { const variable = weight(layer.id, layer.weight); variable.assign(tf.mul(variable, tensors[i])); });
      });
    },
    get masks() { return masks; },
    get updates() { return updates; },
    dispose: () => tf.dispose(tensors),
  };
}


/** The run's step count as train() will take it. */
function totalStepsOf(data: LearnerData, options: WeightSparseOptions): number {
  const { mode = "full", fastSteps = 100, epochs, batchSize, maxSteps = Infinity } = options;
  const steps = epochs * Math.floor(sampleCount(data.train) / batchSize);
  return Math.max(1, Math.min(steps, maxSteps, mode === "fast" ? fastSteps : Infinity));
}

/** The options train() takes: all but the learner's own. */
function trainingOptionsOf(options: WeightSparseOptions): TrainOptions {
  const own = new Set(["mode", "fastSteps", "batchNormMomentum", "layerSparsity", "progress", ...PRUNING_OPTIONS.map((spec) => spec.name)]);
  return Object.fromEntries(Object.entries(options).filter(([name]) => !own.has(name))) as unknown as TrainOptions;
}

/** Trains a copy of the graph with the pruning part (and the input's own masks); the weights come back re-zeroed. */
async function fineTune(model: CompressedModel, data: LearnerData, options: WeightSparseOptions, part: GradualPruningPart, totalSteps: number): Promise<{ graph: Graph; steps: number }> {
  const trainOptions = trainingOptionsOf(options);
  const composed = composeTraining(model.graph, [maskTrainingPart(model), part], { batchNormMomentum: options.batchNormMomentum ?? 0.9 });
  try {
    const result = await train(composed.model, data.train, {
      ...trainOptions,
      ...composed.trainOptions,
      normalization: data.normalization,
      augmentation: data.augmentation,
      validation: data.validation,
      maxSteps: totalSteps,
      hooks: mergeHooks(trainOptions.hooks, composed.trainOptions.hooks),
    });
    return { graph: applyMasks({ ...model, graph: copyWeightsToGraph(composed.model, structuredClone(model.graph)) }).graph, steps: result.globalStep };
  } finally {
    composed.dispose();
  }
}

/** A layer's mask in the model (an input's, or the reconstruction's), all kept when it has none. */
const keptOf = (model: CompressedModel, layer: PrunableLayer): Uint8Array => model.masks[layer.id]?.[layer.weight]?.kept ?? new Uint8Array(layer.size).fill(1);

/** `reconstruct`: every layer masked at its final sparsity at once, convs refit by least squares (sparse-reconstruction.ts). */
function reconstructLayers(model: CompressedModel, plan: PruningPlan, data: LearnerData, options: WeightSparseOptions): { model: CompressedModel; layers: SparseLayerReport[] } {
  const targets = plan.layers.map((layer, i) => ({
    id: layer.id, weight: layer.weight, shape: layer.shape,
    maskOf: (values: Float32Array) => keepLargest(values, keptOf(model, layer), layer.size - plan.finalPruned[i]),
  }));
  const sampling = { samples: options.samples ?? 400, positionsPerImage: options.positionsPerImage ?? 10, seed: options.seed ?? 0 };
  return reconstructSparse(model, targets, data, sampling, options.progress);
}

// ---------------------------------------------------------------------- 4. the final masks

/** The masks at the final sparsities, from the trained weights: the part's own when the schedule ran to t_end. */
function finalMasks(graph: Graph, plan: PruningPlan, current: readonly Uint8Array[]): Array<[string, string, WeightMask]> {
  return plan.layers.map((layer, i): [string, string, WeightMask] => {
    const { values } = weightOf(graph, layer.id, layer.weight);
    return [layer.id, layer.weight, { shape: [...layer.shape], kept: keepLargest(values, current[i], layer.size - plan.finalPruned[i]) }];
  });
}

/** Sparsity of each pruned layer, and over all of them, as the masks have it. */
function achievedSparsity(model: CompressedModel, plan: PruningPlan): { layers: Record<string, number>; overall: number } {
  const layers: Record<string, number> = {};
  let pruned = 0;
  for (const layer of plan.layers) {
    const zeros = layer.size - countKept(model.masks[layer.id][layer.weight].kept);
    layers[layer.id] = zeros / layer.size;
    pruned += zeros;
  }
  return { layers, overall: pruned / plan.layers.reduce((sum, layer) => sum + layer.size, 0) };
}

// ------------------------------------------------------------------------------ the learner

/** Checks what resolveOptions cannot: open bounds, order of fractions, the per-layer map, a training length. */
function checkPruningOptions(learner: string, graph: Graph, options: WeightSparseOptions): void {
  const fail = (option: string, rule: string, value: unknown): never => { throw new LearnerOptionError(learner, option, rule, value); };
  const { sparsity, beginFraction = 0, endFraction = 0.7, layerSparsity, epochs, batchSize } = options;
  if (layerSparsity === undefined && !(typeof sparsity === "number" && sparsity > 0 && sparsity < 1)) {
    fail("sparsity", "a number > 0 and < 1 (0 prunes nothing, 1 every weight)", sparsity);
  }
  if (!(endFraction > beginFraction)) fail("endFraction", `above beginFraction (${beginFraction}), the fraction of the steps where pruning begins`, endFraction);
  if (!(Number.isInteger(epochs) && epochs >= 1)) fail("epochs", "an integer >= 1 (the pruning schedule spans the run's steps)", epochs);
  if (!(Number.isInteger(batchSize) && batchSize >= 1)) fail("batchSize", "an integer >= 1", batchSize);
  if (layerSparsity !== undefined) checkLayerSparsity(learner, graph, layerSparsity);
  else if (prunableLayers(graph, options.pruneFirstAndLast).length === 0) {
    throw new LearnerRefusedError(learner, `graph '${graph.name}' has no conv or dense layer to prune besides the first conv and the last dense layer; pass pruneFirstAndLast to prune those`);
  }
}

/** A per-layer map names conv, depthwise or dense nodes, each with a sparsity in [0, 1). */
function checkLayerSparsity(learner: string, graph: Graph, layerSparsity: Record<string, number>): void {
  const fail = (rule: string, value: unknown): never => { throw new LearnerOptionError(learner, "layerSparsity", rule, value); };
  if (typeof layerSparsity !== "object" || layerSparsity === null || Object.keys(layerSparsity).length === 0) fail("a map from node id to sparsity naming at least one layer", layerSparsity);
  const ids = prunableLayers(graph, true).map((layer) => layer.id);
  for (const [id, value] of Object.entries(layerSparsity)) {
    if (!ids.includes(id)) fail(`a map over the conv, depthwise and dense nodes (${ids.join(", ")}); '${id}' is not one`, layerSparsity);
    if (!(typeof value === "number" && value >= 0 && value < 1)) fail(`a map of sparsities >= 0 and < 1; '${id}' has ${JSON.stringify(value)}`, layerSparsity);
  }
}

export class WeightSparseLearner implements Learner<WeightSparseOptions> {
  readonly name = "weight-sparse";
  readonly description = "gradual magnitude pruning to a target sparsity (Zhu & Gupta 2017); keeps shapes, so smaller only when stored sparse";
  readonly options = OPTIONS;

  /**
   * One sparsity per prunable layer, as layerSparsity takes them, within PocketFlow's range around
   * the target s: [1 − 3(1 − s), 1 − (1 − s)/3] (s = 0.9: [0.7, 0.967]), so that a random point
   * is a plausible allocation rather than one that empties some layers to spare others.
   */
  searchSpace(model: CompressedModel, options: Partial<WeightSparseOptions> = {}): HyperParameter[] {
    const layers = prunableLayers(model.graph, options.pruneFirstAndLast).map((layer) => layer.id);
    const { low, high } = layerSparsityRange(options.sparsity ?? 0.75);
    return [{ option: "layerSparsity", kind: "continuous", low, high, perLayer: layers }];
  }

  /** Every layer at the target, and PocketFlow's log-size heuristic (the repair holds it within the searched range). */
  searchBaselines(model: CompressedModel, options: Partial<WeightSparseOptions>): SearchBaseline[] {
    const layers = prunableLayers(model.graph, options.pruneFirstAndLast);
    const sparsity = options.sparsity ?? 0.75;
    const of = (ratios: number[]) => ({ layerSparsity: Object.fromEntries(layers.map((layer, i) => [layer.id, ratios[i]])) });
    return [{ name: "uniform", options: of(uniformSparsities(layers, sparsity)) }, { name: "heuristic", options: of(heuristicSparsities(layers, sparsity)) }];
  }

  async compress(model: CompressedModel, data: LearnerData, given: WeightSparseOptions): Promise<CompressedModel> {
    const quantized = Object.keys(model.quantization);
    if (quantized.length > 0) {
      throw new LearnerRefusedError(this.name, `${quantized.length} of its nodes are quantized (first: '${quantized[0]}'); pruning would move weights off the quantization grid, so prune before quantizing`);
    }
    const options = resolveOptions(this, given);
    checkPruningOptions(this.name, model.graph, options);
    const started = performance.now();
    const plan = planLayers(model, options);
    const totalSteps = totalStepsOf(data, options);
    const schedule = pruningSchedule(totalSteps, options);
    // with reconstruct the masks start final, so the schedule's updates leave them as they are
    const reconstructed = options.reconstruct === true ? reconstructLayers(model, plan, data, options) : undefined;
    const start = reconstructed?.model ?? model;
    const initial = plan.layers.map((layer) => keptOf(start, layer));
    const part = gradualPruningPart(plan, initial, schedule);
    const { graph, steps } = await fineTune(start, data, options, part, totalSteps);
    const pruned = withMasks({ ...start, graph }, finalMasks(graph, plan, part.masks));
    const achieved = achievedSparsity(pruned, plan);
    const validationAccuracy = data.validation === undefined ? undefined : evaluateGraph(pruned.graph, data.validation, { normalization: data.normalization }).accuracy;
    const { mode = "full", sparsity, allocation, layerSparsity, exponent, beginFraction, endFraction, maskUpdateInterval, pruneFirstAndLast, reconstruct = false, epochs, batchSize, seed, optimizer, schedule: learningRate, weightDecay } = options;
    const record: LearnerRecord = {
      learner: this.name, mode, validationAccuracy, steps, seconds: (performance.now() - started) / 1000,
      options: { sparsity, allocation, layerSparsity, exponent, beginFraction, endFraction, maskUpdateInterval, pruneFirstAndLast, reconstruct, epochs, batchSize, seed, optimizer, schedule: learningRate, weightDecay },
    };
    return withHistory(pruned, "prune", {
      ...record, sparsity: achieved.overall, layerSparsity: achieved.layers, maskUpdates: part.updates, pruningSteps: schedule.updateSteps,
      ...(reconstructed === undefined ? {} : { reconstruction: reconstructed.layers }),
    });
  }
}
