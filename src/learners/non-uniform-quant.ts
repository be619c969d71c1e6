// NonUniformQuantLearner: codebook quantization (Han et al. 2016, "Deep Compression", §3), as
// PocketFlow's nonuniform_quantization learner. Each layer's weights (per tensor, channel or
// bucket) share 2^k centroids; a weight is stored as the k-bit index of its centroid. Steps:
//   1. choose the layers and their bits (as the uniform learner: weightBits, layerBits, budget);
//   2. initialise each group's codebook (k-means on the core's kernels, seeded by linspace,
//      quantiles or k-means++) and assign each weight to its nearest centroid;
//   3. fine-tune through the codebook: the forward pass uses c[idx(w)]; the weights get the
//      gradient straight through, and each centroid the sum of the gradients of the weights
//      assigned to it (Han et al., eq. 3: ∂L/∂c_k = Σ_{i: idx_i = k} ∂L/∂W_i);
//   4. assign the trained weights to the trained codebook for good and record it.
// Choices of ours, and why:
// - optimize 'both' by default (PocketFlow nuql_opt_mode: 'weights' by default, also 'centroids'
//   and 'both'): with 'centroids' (Han et al.) a weight can never change cluster, so 2-bit layers
//   barely recover; with 'weights' the codebook stays as initialised; 'both' moves the weights
//   across clusters and the centroids to the clusters' best values.
// - Linear seeding by default, followed by Lloyd iterations: Han et al. (§3.2) found the linear
//   init best, since it keeps centroids at the few large weights that matter most; the Lloyd
//   iterations then lower the error the init leaves (PocketFlow assigns to the seeds directly:
//   kmeansIterations 0).
// - Pruned weights (a chain after a pruner) are kept out of the clustering: a masked layer's
//   entry 0 of every group is pinned at exactly 0 (no gradient), the pruned weights are assigned
//   to it and the kept ones are clustered into the other 2^k − 1 entries.
// - Per tensor by default: a 2^k-entry f32 codebook per output channel would cost as much as
//   the indices of a small layer.
import * as tf from "@tensorflow/tfjs-core";
import { weightOf, withHistory, withQuantization, type CodebookWeightQuantization, type CompressedModel, type NodeQuantization } from "../graph/compressed-model.js";
import type { Graph } from "../graph/ir.js";
import { groupOf, type Grouping } from "../kernels/grouping.js";
import { assignNearest, centroidGradients, kmeans1d, type KMeansInit } from "../kernels/kmeans.js";
import type { NodeOverride } from "../tfjs/tfjs-from-graph.js";
import { evaluateGraph } from "../train/evaluate-graph.js";
import type { Parameter } from "../train/optimizers.js";
import type { TrainingPart } from "../train/training-parts.js";
import { resolveOptions, type HyperParameter, type Learner, type LearnerData, type LearnerOptionSpec, type LearnerRecord, type SearchBaseline } from "./learner.js";
import {
  averageBitsOf, bitsSearchSpace, uniformBitsBaseline, checkQuantizationOptions, fineTuneQuantized, planQuantization, quantizerOptions, QUANTIZATION_TRAINING, refuseQuantized, type QuantizedLayer, type WeightQuantizationOptions,
} from "./quantization-plan.js";

/** What the fine-tune trains: the weights through the codebook, the centroids, or both. */
export type CodebookTraining = "weights" | "centroids" | "both";

export interface NonUniformQuantOptions extends WeightQuantizationOptions {
  /** Seeding of each codebook (PocketFlow nuql_init_style; default 'linspace', Han et al.'s best). */
  init?: KMeansInit;
  /** Lloyd iterations after the seeding (default 20; 0: the seeds themselves, as PocketFlow). */
  kmeansIterations?: number;
  /** What the fine-tune trains (PocketFlow nuql_opt_mode; default 'both'). */
  optimize?: CodebookTraining;
}

const OWN_OPTIONS: readonly LearnerOptionSpec[] = [
  { name: "init", kind: "choice", choices: ["linspace", "quantile", "kmeans++"], default: "linspace", help: "codebook seeding: linspace, quantile or kmeans++" },
  { name: "kmeansIterations", kind: "integer", min: 0, default: 20, help: "Lloyd iterations after the seeding" },
  { name: "optimize", kind: "choice", choices: ["weights", "centroids", "both"], default: "both", help: "trained through the codebook: weights, centroids or both" },
];

const OPTIONS = quantizerOptions("tensor", OWN_OPTIONS);

// ------------------------------------------------------------------------------ 2. codebooks

/** Indices of each group's weights, in index order. */
export function groupMembers(length: number, grouping: Grouping): Int32Array[] {
  const counts = new Int32Array(grouping.groups);
  for (let i = 0; i < length; i++) counts[groupOf(i, grouping)]++;
  const members = Array.from(counts, (count) => new Int32Array(count));
  const filled = new Int32Array(grouping.groups);
  for (let i = 0; i < length; i++) {
    const g = groupOf(i, grouping);
    members[g][filled[g]++] = i;
  }
  return members;
}

/** One layer's codebooks: groups × k centroids, each weight's index in its group's codebook. */
export interface LayerCodebook {
  layer: QuantizedLayer;
  k: number;
  members: Int32Array[];
  /** The layer's mask (1 kept), when it has pruned weights: entry 0 of every codebook is then pinned at 0. */
  kept?: Uint8Array;
  centroids: Float32Array;
  assignments: Uint8Array;
}

/** Each weight's nearest centroid of its group (pruned weights: the pinned 0), into `assignments`. */
export function assignWeights(values: ArrayLike<number>, codebook: Omit<LayerCodebook, "assignments" | "layer">, assignments: Uint8Array): void {
  const { k, members, kept, centroids } = codebook;
  members.forEach((indices, g) => {
    const nearest = assignNearest(Float32Array.from(indices, (i) => values[i]), centroids.subarray(g * k, g * k + k));
    indices.forEach((i, j) => { assignments[i] = kept !== undefined && kept[i] === 0 ? 0 : nearest[j]; });
  });
}

/** k-means of each group's kept weights into its free entries (all k, or k − 1 beside the pinned 0). */
export function initialCodebook(values: Float32Array, layer: QuantizedLayer, kept: Uint8Array | undefined, options: { init: KMeansInit; iterations: number; seed: number }): LayerCodebook {
  const k = 2 ** layer.bits;
  const members = groupMembers(values.length, layer.grouping);
  const pinned = kept !== undefined ? 1 : 0;
  const centroids = new Float32Array(layer.grouping.groups * k);
  members.forEach((indices, g) => {
    const clustered = Float32Array.from(indices.filter((i) => pinned === 0 || kept?.[i] !== 0), (i) => values[i]);
    if (clustered.length === 0) return; // every weight pruned: the whole codebook is 0
    const result = kmeans1d(clustered, { k: k - pinned, init: options.init, maxIter: options.iterations, seed: options.seed });
    centroids.set(result.centroids, g * k + pinned);
  });
  const codebook = { layer, k, members, kept: pinned === 1 ? kept : undefined, centroids, assignments: new Uint8Array(values.length) };
  assignWeights(values, codebook, codebook.assignments);
  return codebook;
}

/** The weights as the codebook gives them: c[g][idx_i]. */
export function decodeLayer(codebook: Pick<LayerCodebook, "k" | "layer" | "centroids" | "assignments">, centroids = codebook.centroids): Float32Array {
  const { k, layer, assignments } = codebook;
  return Float32Array.from(assignments, (index, i) => centroids[groupOf(i, layer.grouping) * k + index]);
}

// ------------------------------------------------------------------------------ 3. fine-tune

/** ∂L/∂c of every group, from the gradient at the decoded weights: Σ over the weights assigned to each entry (core's centroidGradients); pinned entries get none. */
export function codebookGradient(codebook: Pick<LayerCodebook, "k" | "members" | "kept" | "assignments" | "layer">, gradient: Float32Array): Float32Array {
  const { k, members, kept, assignments } = codebook;
  const sums = new Float32Array(members.length * k);
  members.forEach((indices, g) => {
    const result = centroidGradients(Float32Array.from(indices, (i) => gradient[i]), Uint8Array.from(indices, (i) => assignments[i]), k);
    sums.set(result.sums, g * k);
    if (kept !== undefined) sums[g * k] = 0;
  });
  return sums;
}

/** The part that trains through the codebooks; the trained centroids are read from it before it is disposed. */
export interface CodebookPart extends TrainingPart {
  centroids(): Float32Array[];
}

/**
 * Each layer's weight replaced in the forward pass by its codebook value (re-assigned to the
 * nearest centroid each step unless only the centroids train); the backward pass gives the
 * weight the gradient unchanged and each centroid the sum of its weights' gradients.
 */
export function codebookPart(codebooks: readonly LayerCodebook[], optimize: CodebookTraining): CodebookPart {
  const variables = codebooks.map((codebook) => tf.variable(tf.tensor1d(codebook.centroids), true));
  const overrides: Record<string, NodeOverride> = {};
  codebooks.forEach((codebook, index) => {
    const forward = tf.customGrad(((weight: tf.Tensor, centroids: tf.Tensor, save: tf.GradSaveFunc) => {
      const current = centroids.dataSync() as Float32Array;
      if (optimize !== "centroids") assignWeights(weight.dataSync() as Float32Array, { ...codebook, centroids: current }, codebook.assignments);
      const assignments = Uint8Array.from(codebook.assignments);
      save([]);
      return {
        value: tf.tensor(decodeLayer(codebook, current), weight.shape, "float32"),
        gradFunc: (dy: tf.Tensor) => [
          optimize === "centroids" ? tf.zerosLike(dy) : dy,
          optimize === "weights" ? tf.zerosLike(centroids) : tf.tensor1d(codebookGradient({ ...codebook, assignments }, dy.dataSync() as Float32Array)),
        ],
      };
    }) as unknown as Parameters<typeof tf.customGrad>[0]) as (weight: tf.Tensor, centroids: tf.Tensor) => tf.Tensor;
    overrides[codebook.layer.id] = { weightTransforms: { [codebook.layer.weight]: (weight) => forward(weight, variables[index]) } };
  });
  const parameters: Parameter[] = optimize === "weights" ? [] : codebooks.map((codebook, i) => ({ name: `${codebook.layer.id}/${codebook.layer.weight}_centroids`, variable: variables[i] }));
  return {
    name: "non-uniform",
    overrides,
    parameters,
    centroids: () => variables.map((variable) => Float32Array.from(variable.dataSync() as Float32Array)),
    dispose: () => tf.dispose(variables),
  };
}

// -------------------------------------------------------------------------- 4. the codebooks

/** Every layer's trained weights assigned to its trained codebook for good, and the codebooks recorded. */
function quantizedModel(model: CompressedModel, trained: Graph, codebooks: readonly LayerCodebook[], centroids: readonly Float32Array[], optimize: CodebookTraining): CompressedModel {
  const graph = structuredClone(trained);
  const quantization: Record<string, NodeQuantization> = {};
  codebooks.forEach((codebook, i) => {
    const { layer } = codebook;
    const weight = weightOf(graph, layer.id, layer.weight);
    const final = { ...codebook, centroids: centroids[i], assignments: Uint8Array.from(codebook.assignments) };
    if (optimize !== "centroids") assignWeights(weight.values, final, final.assignments);
    weight.values.set(decodeLayer(final));
    const entry: CodebookWeightQuantization = { scheme: "codebook", bits: layer.bits, grouping: layer.grouping, centroids: final.centroids };
    quantization[layer.id] = { weights: { ...quantization[layer.id]?.weights, [layer.weight]: entry } };
  });
  return withQuantization({ ...model, graph }, quantization);
}

// ------------------------------------------------------------------------------ the learner

export class NonUniformQuantLearner implements Learner<NonUniformQuantOptions> {
  readonly name = "non-uniform";
  readonly description = "k-bit codebook quantization with trainable centroids (Han et al. 2016); stored as packed indices plus the codebook";
  readonly options = OPTIONS;
  readonly trainingDefaults = QUANTIZATION_TRAINING;

  /** Integer bits 2..8 per quantized layer, as layerBits takes them. */
  searchSpace(model: CompressedModel): HyperParameter[] {
    return bitsSearchSpace(model.graph);
  }

  searchBaselines(model: CompressedModel, options: NonUniformQuantOptions): SearchBaseline[] {
    return [uniformBitsBaseline(model.graph, options)];
  }

  async compress(model: CompressedModel, data: LearnerData, given: NonUniformQuantOptions): Promise<CompressedModel> {
    refuseQuantized(this.name, model);
    const options = resolveOptions(this, given);
    checkQuantizationOptions(this.name, model.graph, options);
    const { init = "linspace", kmeansIterations = 20, optimize = "both", seed = 0 } = options;
    const started = performance.now();
    const layers = planQuantization(model.graph, options);
    const codebooks = layers.map((layer) => {
      const kept = model.masks[layer.id]?.[layer.weight]?.kept;
      return initialCodebook(weightOf(model.graph, layer.id, layer.weight).values, layer, kept?.includes(0) ? kept : undefined, { init, iterations: kmeansIterations, seed });
    });
    const part = codebookPart(codebooks, optimize);
    const { graph, steps, collected: centroids } = await fineTuneQuantized(model, data, options, OPTIONS, part, () => part.centroids());
    const quantized = quantizedModel(model, graph, codebooks, centroids, optimize);
    const validationAccuracy = data.validation === undefined ? undefined : evaluateGraph(quantized.graph, data.validation, { normalization: data.normalization }).accuracy;
    const { mode = "full", weightBits, layerBits, averageBits, grouping, bucketSize, quantizeAllLayers, distill, epochs, batchSize, optimizer, schedule, weightDecay } = options;
    const record: LearnerRecord = {
      learner: this.name, mode, validationAccuracy, steps, seconds: (performance.now() - started) / 1000,
      options: { weightBits, layerBits, averageBits, grouping, bucketSize, quantizeAllLayers, init, kmeansIterations, optimize, distill, epochs, batchSize, seed, optimizer, schedule, weightDecay },
    };
    const appliedBits = Object.fromEntries(layers.map((layer) => [layer.id, layer.bits]));
    return withHistory(quantized, "quantize", { ...record, layerBits: appliedBits, averageBits: averageBitsOf(layers) });
  }
}
