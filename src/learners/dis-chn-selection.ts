// Discrimination-aware channel selection for one convolution (Zhuang et al. 2018, Algorithm 2):
// start with no input channel kept; in each round add the channels whose kernel slices have the
// largest squared gradient Σ(∂L/∂W_c)² of L = L_rec + L_p, where
//   L_rec = ½·mean (Y_original − Y_pruned)²  the conv's output against the original model's, and
//   L_p                                      the stage's auxiliary loss (the network loss in the
//                                            last stage);
// then refine the kept channels' weights on L for a few Adam steps. Unselected channels are
// masked by a weight transform whose gradient passes straight through, so a masked channel's
// gradient is the one it would get as a weight at zero: the paper's criterion.
// Simplifications, said where they are made:
//  - L_rec is averaged over the output values (PocketFlow sums them, tf.nn.l2_loss), so neither
//    term swamps the other at any batch or feature-map size;
//  - a round may add several channels (selectionRounds bounds the rounds), where the paper adds
//    one per round; with selectionRounds >= kept channels it is the paper's one-at-a-time;
//  - a channel enters with its pretrained weights (PocketFlow zeroes it and relearns it over
//    500 steps per round, far more than a fine-tune here can spend).
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import type { Batch } from "../data/batches.js";
import type { Graph } from "../graph/ir.js";
import { buildTfjsModel, copyWeightsToGraph, type NodeOverride } from "../tfjs/tfjs-from-graph.js";
import { parameterName } from "../tfjs/weight-names.js";
import { crossEntropy } from "../train/losses.js";
import { TrainingOptimizer } from "../train/optimizers.js";
import { straightThrough } from "../train/straight-through.js";
import { seededRandom } from "../util/random.js";
import type { AuxiliaryHead } from "./dis-chn-heads.js";

export type DiscriminativeSelection = "gradient" | "random";

export interface LayerSelectionSetup {
  /** The uncompressed model: Y_original. */
  original: Graph;
  /** The model pruned so far; its weights are the starting point. */
  current: Graph;
  layerId: string;
  keep: number;
  /** The stage's head and the node it reads; absent in the last stage (the network's own loss). */
  head?: { nodeId: string; head: AuxiliaryHead };
  /** 'random' keeps a seeded random choice, refined alike: the baseline the criterion must beat. */
  selection: DiscriminativeSelection;
  rounds: number;
  layerSteps: number;
  learningRate: number;
  batchNormMomentum: number;
  /** The kernel's weight mask of an earlier learner, kept at zero while refining. */
  weightMask?: tf.Tensor;
  seed: number;
  nextBatch(): Batch;
  imageShape: readonly number[];
}

export interface LayerSelection {
  /** Kept input channels, ascending. */
  kept: number[];
  /** `current` with the refined kernel and the batch-norm statistics of the masked model. */
  graph: Graph;
  /** Steps taken: scoring passes and refinement updates. */
  steps: number;
}

/** The built models of one selection: the original's conv output, the masked model's conv output and classifier logits. */
interface SelectionModels {
  /** The masked model, every output: its weights go back into the graph. */
  full: tfl.LayersModel;
  target: tfl.LayersModel;
  pruned: tfl.LayersModel;
  kernel: tf.Variable;
  mask: tf.Variable;
  dispose(): void;
}

function buildModels(setup: LayerSelectionSetup, inChannels: number): SelectionModels {
  const { layerId, head } = setup;
  const original = buildTfjsModel(setup.original, { withoutSoftmax: true, extraOutputs: [layerId] });
  const mask = tf.tidy(() => tf.variable(tf.zeros([1, 1, inChannels, 1]), false));
  const overrides: Record<string, NodeOverride[]> = { [layerId]: [{ weightTransforms: { kernel: straightThrough((w) => tf.mul(w, mask)) } }] };
  if (head !== undefined) (overrides[head.nodeId] ??= []).push({ heads: (features) => [head.head.attach(features)] });
  const full = buildTfjsModel(setup.current, { withoutSoftmax: true, batchNormMomentum: setup.batchNormMomentum, extraOutputs: [layerId], overrides });
  // Only the ancestors of the outputs a loss reads run: up to the conv, and up to the head.
  const target = tfl.model({ inputs: original.inputs, outputs: original.outputs[1] });
  const pruned = head === undefined ? tfl.model({ inputs: full.inputs, outputs: [full.outputs[1], full.outputs[0]] }) : tfl.model({ inputs: full.inputs, outputs: [full.outputs[1], full.outputs[2]] });
  const kernelName = parameterName(layerId, "kernel");
  const kernel = full.weights.find((weight) => weight.originalName === kernelName)?.read() as tf.Variable;
  return { full, target, pruned, kernel, mask, dispose: () => { original.dispose(); full.dispose(); mask.dispose(); } };
}

/** L = L_rec + L_p on one batch, and its gradient with respect to the layer's kernel. */
function lossGradient(models: SelectionModels, batch: Batch, imageShape: readonly number[]): tf.Tensor {
  return tf.tidy(() => {
    const images = tf.tensor4d(batch.images, [batch.size, imageShape[0], imageShape[1], imageShape[2]]);
    const labels = tf.tensor1d(batch.labels, "int32");
    const target = models.target.apply(images, { training: true }) as tf.Tensor;
    const { grads } = tf.variableGrads(() => {
      const [features, logits] = models.pruned.apply(images, { training: true }) as tf.Tensor[];
      const reconstruction = tf.mul(0.5, tf.mean(tf.squaredDifference(target, features)));
      return tf.add(reconstruction, crossEntropy(labels, logits as tf.Tensor2D)) as tf.Scalar;
    }, [models.kernel]);
    return grads[models.kernel.name];
  });
}

/** Σ over taps and outputs of the squared gradient, per input channel. */
function channelScores(gradient: tf.Tensor): Float32Array {
  return tf.tidy(() => tf.sum(tf.square(gradient), [0, 1, 3]).dataSync() as Float32Array);
}

/** The `count` best unselected channels by score (ties to the lower index). */
function bestUnselected(scores: ArrayLike<number>, selected: ReadonlySet<number>, count: number): number[] {
  const order = Array.from({ length: scores.length }, (_, c) => c).filter((c) => !selected.has(c));
  return order.sort((a, b) => scores[b] - scores[a] || a - b).slice(0, count);
}

/** Adam steps on the kept channels' weights alone (the masked gradient, PocketFlow's layer_train_op). */
function refine(models: SelectionModels, setup: LayerSelectionSetup, optimizer: TrainingOptimizer): void {
  for (let step = 0; step < setup.layerSteps; step++) {
    const gradient = lossGradient(models, setup.nextBatch(), setup.imageShape);
    const masked = tf.tidy(() => (setup.weightMask === undefined ? tf.mul(gradient, models.mask) : tf.mul(tf.mul(gradient, models.mask), setup.weightMask)));
    optimizer.apply([{ name: "kernel", variable: models.kernel }], { kernel: masked }, setup.learningRate);
    tf.dispose([gradient, masked]);
  }
}

/** Greedy selection of `keep` input channels of one conv, refining between rounds. */
export function selectDiscriminativeChannels(setup: LayerSelectionSetup): LayerSelection {
  const inChannels = (setup.current.nodes.find((node) => node.id === setup.layerId) as { weights: { kernel: { shape: number[] } } }).weights.kernel.shape[2];
  const rounds = Math.min(setup.rounds, setup.keep);
  const models = buildModels(setup, inChannels);
  const optimizer = new TrainingOptimizer({ kind: "adam" });
  const random = seededRandom(setup.seed);
  const selected = new Set<number>();
  let steps = 0;
  try {
    for (let round = 0; selected.size < setup.keep; round++) {
      const count = Math.ceil((setup.keep - selected.size) / (rounds - round));
      const scores = setup.selection === "random" ? Array.from({ length: inChannels }, () => random()) : scoresOf(models, setup);
      for (const channel of bestUnselected(scores, selected, count)) selected.add(channel);
      tf.tidy(() => models.mask.assign(tf.tensor4d(Array.from({ length: inChannels }, (_, c) => (selected.has(c) ? 1 : 0)), [1, 1, inChannels, 1])));
      refine(models, setup, optimizer);
      steps += (setup.selection === "random" ? 0 : 1) + setup.layerSteps;
    }
    const graph = copyWeightsToGraph(models.full, structuredClone(setup.current));
    return { kept: [...selected].sort((a, b) => a - b), graph, steps };
  } finally {
    optimizer.dispose();
    models.dispose();
  }
}

function scoresOf(models: SelectionModels, setup: LayerSelectionSetup): Float32Array {
  const gradient = lossGradient(models, setup.nextBatch(), setup.imageShape);
  const scores = channelScores(gradient);
  gradient.dispose();
  return scores;
}
