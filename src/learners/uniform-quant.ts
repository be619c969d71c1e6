// UniformQuantLearner: k-bit uniform quantization of the weights (and optionally the activations)
// with a straight-through gradient, as PocketFlow's uniform_quantization learner. PocketFlow's
// min-max quantizer is
//   Q(x) = α · round((2^k − 1)(x − β) / α) / (2^k − 1) + β,   α = max − min, β = min,
// per tensor, per output channel or per bucket of 256 weights; Round passes the gradient through
// unchanged (Bengio et al. 2013). Steps:
//   1. choose the layers and their bits (weightBits, a search's layerBits, an averageBits budget);
//   2. fine-tune with the forward pass on fake-quantized weights (and activations after every
//      ReLU, on the batch's range, when activationBits < 32), the gradient reaching the floats;
//   3. put the trained weights on their grid for good and record the scales and zero points
//      (and the activations' moving-average ranges).
// Choices of ours, and why:
// - The grid is the core's (kernels/quant-params.ts, Jacob et al. 2018): the range is widened to
//   hold 0 and the zero point is an integer, so 0 is exactly on it. PocketFlow's β = min puts 0
//   off the grid; ours keeps a pruned weight at 0 and lets the model run on integer kernels.
// - The forward pass quantizes on the core's kernels (computeQuantParams, fakeQuantize), the same
//   code that writes the final weights, so what was trained is exactly what is stored.
// - Per output channel by default (PocketFlow: per tensor): one scale per channel costs a few
//   bytes and removes most of the error a wide channel puts on the narrow ones.
// - The first conv and the last dense layer stay float unless asked (uql_quantize_all_layers).
// - Without an optimizer or schedule given: Adam at PocketFlow's 1e-4, cosine-decayed.
import * as tf from "@tensorflow/tfjs-core";
import { weightOf, withHistory, withQuantization, type CompressedModel, type NodeQuantization, type UniformWeightQuantization } from "../graph/compressed-model.js";
import type { Graph } from "../graph/ir.js";
import { computeQuantParams, fakeQuantize } from "../kernels/quantize.js";
import { ActivationFakeQuant, type ActivationRange } from "../tfjs/activation-quant-layer.js";
import type { NodeOverride } from "../tfjs/tfjs-from-graph.js";
import { evaluateQuantized } from "../train/evaluate-quantized.js";
import { straightThrough } from "../train/straight-through.js";
import type { TrainingPart } from "../train/training-parts.js";
import { LearnerOptionError, resolveOptions, type HyperParameter, type Learner, type LearnerData, type LearnerOptionSpec, type LearnerRecord, type SearchBaseline } from "./learner.js";
import {
  averageBitsOf, bitsSearchSpace, uniformBitsBaseline, checkQuantizationOptions, fineTuneQuantized, planQuantization, quantizerOptions, QUANTIZATION_TRAINING, refuseQuantized, type QuantizedLayer, type WeightQuantizationOptions,
} from "./quantization-plan.js";

export interface UniformQuantOptions extends WeightQuantizationOptions {
  /** Bits of the activations after each relu/relu6, 2..8; 32 (the default, as PocketFlow) leaves them float. */
  activationBits?: number;
  /** Symmetric weight grid (zero point 0, q in ±(2^(k−1) − 1)); default false: PocketFlow's asymmetric min-max. */
  symmetric?: boolean;
}

/** activationBits at which activations stay float. */
export const FLOAT_ACTIVATIONS = 32;

const OWN_OPTIONS: readonly LearnerOptionSpec[] = [
  { name: "activationBits", kind: "integer", min: 2, max: FLOAT_ACTIVATIONS, default: FLOAT_ACTIVATIONS, help: "bits of the activations after each relu, 2..8 (32: float)" },
  { name: "symmetric", kind: "flag", default: false, help: "symmetric weight grid (zero point 0)" },
];

const OPTIONS = quantizerOptions("channel", OWN_OPTIONS);

// --------------------------------------------------------------------- the weight quantizer

/** The weight on its k-bit grid (min-max per group, on the core's kernels) and the grid's parameters. */
export function quantizeUniform(values: Float32Array, layer: Pick<QuantizedLayer, "bits" | "grouping">, symmetric: boolean): { values: Float32Array; quantization: UniformWeightQuantization } {
  const params = computeQuantParams(values, { bits: layer.bits, symmetric }, layer.grouping);
  return {
    values: fakeQuantize(values, params),
    quantization: { scheme: "uniform", bits: layer.bits, symmetric, grouping: layer.grouping, scales: params.scales, zeroPoints: params.zeroPoints },
  };
}

// ------------------------------------------------------------------------- the fine-tune part

/** The part that trains through the quantizers; the activations' ranges are read from it after training. */
export interface UniformQuantPart extends TrainingPart {
  activationRanges(): Record<string, ActivationRange | undefined>;
}

/** The relu and relu6 nodes, after which PocketFlow quantizes activations. */
const activationNodes = (graph: Graph): string[] => graph.nodes.filter((node) => node.op === "relu" || node.op === "relu6").map((node) => node.id);

/**
 * Each layer's weight fake-quantized in the forward pass with a straight-through gradient;
 * with activationBits < 32, each relu's output fake-quantized on the batch's range.
 */
export function uniformQuantPart(graph: Graph, layers: readonly QuantizedLayer[], options: { symmetric?: boolean; activationBits?: number; momentum?: number } = {}): UniformQuantPart {
  const { symmetric = false, activationBits = FLOAT_ACTIVATIONS, momentum = 0.9 } = options;
  const overrides: Record<string, NodeOverride> = {};
  for (const layer of layers) {
    const quantizer = straightThrough((weight) => tf.tensor(quantizeUniform(weight.dataSync() as Float32Array, layer, symmetric).values, weight.shape, "float32"));
    overrides[layer.id] = { weightTransforms: { [layer.weight]: quantizer } };
  }
  const quantizers = new Map<string, ActivationFakeQuant>();
  if (activationBits < FLOAT_ACTIVATIONS) {
    for (const id of activationNodes(graph)) {
      const quantizer = new ActivationFakeQuant({ name: `${id}/activation_quant`, bits: activationBits, momentum });
      quantizers.set(id, quantizer);
      overrides[id] = { ...overrides[id], output: (output) => quantizer.apply(output) as typeof output };
    }
  }
  return {
    name: "uniform",
    overrides,
    activationRanges: () => Object.fromEntries([...quantizers].map(([id, quantizer]) => [id, quantizer.range])),
  };
}

// ------------------------------------------------------------------------ the final model

/** Every layer's trained weight put on its grid, and the quantization of its node and of the activations. */
function quantizedModel(model: CompressedModel, trained: Graph, layers: readonly QuantizedLayer[], symmetric: boolean, ranges: Record<string, ActivationRange | undefined>, activationBits: number): CompressedModel {
  const graph = structuredClone(trained);
  const quantization: Record<string, NodeQuantization> = {};
  for (const layer of layers) {
    const weight = weightOf(graph, layer.id, layer.weight);
    const result = quantizeUniform(weight.values, layer, symmetric);
    weight.values.set(result.values);
    quantization[layer.id] = { weights: { ...quantization[layer.id]?.weights, [layer.weight]: result.quantization } };
  }
  for (const [id, range] of Object.entries(ranges)) {
    if (range === undefined) continue;
    quantization[id] = { ...quantization[id], activation: { bits: activationBits, min: Math.min(range.min, 0), max: Math.max(range.max, 0), symmetric: false } };
  }
  return withQuantization({ ...model, graph }, quantization);
}

// ------------------------------------------------------------------------------ the learner

function checkActivationBits(learner: string, activationBits: number): void {
  if (activationBits > 8 && activationBits !== FLOAT_ACTIVATIONS) {
    throw new LearnerOptionError(learner, "activationBits", `an integer in 2..8, or ${FLOAT_ACTIVATIONS} for float activations`, activationBits);
  }
}

export class UniformQuantLearner implements Learner<UniformQuantOptions> {
  readonly name = "uniform";
  readonly description = "k-bit uniform (min-max) quantization of weights and optionally activations with a straight-through fine-tune; stored packed";
  readonly options = OPTIONS;
  readonly trainingDefaults = QUANTIZATION_TRAINING;

  /** Integer bits 2..8 per quantized layer, as layerBits takes them. */
  searchSpace(model: CompressedModel): HyperParameter[] {
    return bitsSearchSpace(model.graph);
  }

  searchBaselines(model: CompressedModel, options: UniformQuantOptions): SearchBaseline[] {
    return [uniformBitsBaseline(model.graph, options)];
  }

  async compress(model: CompressedModel, data: LearnerData, given: UniformQuantOptions): Promise<CompressedModel> {
    refuseQuantized(this.name, model);
    const options = resolveOptions(this, given);
    const { activationBits = FLOAT_ACTIVATIONS, symmetric = false, batchNormMomentum = 0.9 } = options;
    checkActivationBits(this.name, activationBits);
    checkQuantizationOptions(this.name, model.graph, options);
    const started = performance.now();
    const layers = planQuantization(model.graph, options);
    const part = uniformQuantPart(model.graph, layers, { symmetric, activationBits, momentum: batchNormMomentum });
    const { graph, steps, collected: ranges } = await fineTuneQuantized(model, data, options, OPTIONS, part, () => part.activationRanges());
    const quantized = quantizedModel(model, graph, layers, symmetric, ranges, activationBits);
    const validationAccuracy = data.validation === undefined ? undefined : evaluateQuantized(quantized, data.validation, { normalization: data.normalization }).accuracy;
    const { mode = "full", weightBits, layerBits, averageBits, grouping, bucketSize, quantizeAllLayers, distill, epochs, batchSize, seed, optimizer, schedule, weightDecay } = options;
    const record: LearnerRecord = {
      learner: this.name, mode, validationAccuracy, steps, seconds: (performance.now() - started) / 1000,
      options: { weightBits, activationBits, symmetric, layerBits, averageBits, grouping, bucketSize, quantizeAllLayers, distill, epochs, batchSize, seed, optimizer, schedule, weightDecay },
    };
    const appliedBits = Object.fromEntries(layers.map((layer) => [layer.id, layer.bits]));
    return withHistory(quantized, "quantize", { ...record, layerBits: appliedBits, averageBits: averageBitsOf(layers) });
  }
}
