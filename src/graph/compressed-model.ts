// The value learners pass along a chain: the model IR plus what compression did to it that the
// graph alone cannot say. Masks say which weights were pruned (and must stay zero); quantization
// says how each node's weights and output activations are represented; the history says who did
// what. A learner takes one and returns a new one, so "prune, then quantize" keeps the pruner's
// masks when the quantizer trains. No tfjs here: saving is io/model-dir.ts's job.
import type { Grouping } from "../kernels/grouping.js";
import { sizeOf, weightsOf, type Graph, type GraphNode } from "./ir.js";

/** Which weights are kept (1) and which are pruned (0), one byte per weight in the weight's layout. */
export interface WeightMask {
  shape: number[];
  kept: Uint8Array;
}

/** k-bit uniform quantization of a weight: the core's QuantParams (per tensor, channel or bucket). */
export interface UniformWeightQuantization {
  scheme: "uniform";
  bits: number;
  symmetric: boolean;
  grouping: Grouping;
  scales: Float32Array;
  zeroPoints: Int32Array;
}

/** Codebook quantization (Han et al. 2016): 2^bits centroids per group of weights. */
export interface CodebookWeightQuantization {
  scheme: "codebook";
  bits: number;
  grouping: Grouping;
  /** groups × 2^bits centroids, group after group. */
  centroids: Float32Array;
}

export type WeightQuantization = UniformWeightQuantization | CodebookWeightQuantization;

/** Quantization of a node's output activations: a k-bit grid over [min, max]. */
export interface ActivationQuantization {
  bits: number;
  min: number;
  max: number;
  symmetric: boolean;
}

/** How one node is quantized: its weights by IR weight name, its output activations. */
export interface NodeQuantization {
  weights?: Record<string, WeightQuantization>;
  activation?: ActivationQuantization;
}

/** One thing done to the model (trained, pruned, quantized), with free-form details. */
export interface HistoryEntry {
  /** What was done, e.g. "train", "prune", "quantize". */
  step: string;
  /** When it finished, ISO 8601. */
  at: string;
  [detail: string]: unknown;
}

export interface CompressedModel {
  graph: Graph;
  /** By node id, then IR weight name ("kernel", "depthwiseKernel", ...). */
  masks: Record<string, Record<string, WeightMask>>;
  /** By node id. */
  quantization: Record<string, NodeQuantization>;
  history: HistoryEntry[];
}

/** A model nothing has been done to yet. */
export function uncompressed(graph: Graph, history: HistoryEntry[] = []): CompressedModel {
  return { graph, masks: {}, quantization: {}, history };
}

/** A copy of the model with one more history entry, stamped with the current time. */
export function withHistory(model: CompressedModel, step: string, details: Record<string, unknown> = {}): CompressedModel {
  return { ...model, history: [...model.history, { ...details, step, at: new Date().toISOString() }] };
}

/**
 * The seed of the model's last training run (0 when none recorded): splitValidation with it holds
 * out the samples that run held out, so a validation split stays unseen.
 */
export function trainingSeedOf(model: CompressedModel): number {
  const trained = [...model.history].reverse().find((entry) => entry.step === "train" && typeof (entry.options as { seed?: unknown } | undefined)?.seed === "number");
  return (trained?.options as { seed?: number } | undefined)?.seed ?? 0;
}

/** The weight of a node by IR weight name, or an error naming what the node has. */
export function weightOf(graph: Graph, nodeId: string, weightName: string): { node: GraphNode; values: Float32Array; shape: number[] } {
  const node = graph.nodes.find((candidate) => candidate.id === nodeId);
  if (node === undefined) throw new Error(`graph '${graph.name}' has no node '${nodeId}'`);
  const weight = weightsOf(node).find(([name]) => name === weightName)?.[1];
  if (weight === undefined) {
    throw new Error(`${node.op} '${nodeId}' has no '${weightName}' weight (it has: ${weightsOf(node).map(([name]) => name).join(", ") || "none"})`);
  }
  return { node, values: weight.values, shape: weight.shape };
}

/** Every mask as [node id, weight name, mask]. */
export function listMasks(model: CompressedModel): Array<[string, string, WeightMask]> {
  return Object.entries(model.masks).flatMap(([id, byWeight]) => Object.entries(byWeight).map(([name, mask]): [string, string, WeightMask] => [id, name, mask]));
}

/**
 * A copy of the model with these masks added (a later mask of the same weight is combined with
 * an earlier one: a weight stays pruned once pruned) and the masked weights set to zero.
 */
export function withMasks(model: CompressedModel, masks: Array<[string, string, WeightMask]>): CompressedModel {
  const graph = structuredClone(model.graph);
  const combined: CompressedModel["masks"] = structuredClone(model.masks);
  for (const [id, name, mask] of masks) {
    const { shape } = weightOf(graph, id, name);
    if (mask.shape.join(",") !== shape.join(",") || mask.kept.length !== sizeOf(shape)) {
      throw new Error(`mask of '${id}'.${name} has shape [${mask.shape.join(",")}], but the weight has [${shape.join(",")}]`);
    }
    const earlier = combined[id]?.[name]?.kept;
    const kept = earlier === undefined ? Uint8Array.from(mask.kept) : Uint8Array.from(mask.kept, (bit, i) => bit & earlier[i]);
    combined[id] = { ...combined[id], [name]: { shape: [...shape], kept } };
  }
  return applyMasks({ ...model, graph, masks: combined });
}

/** The model with every masked weight set to zero, in place; returns it. */
export function applyMasks(model: CompressedModel): CompressedModel {
  for (const [id, name, mask] of listMasks(model)) {
    const { values } = weightOf(model.graph, id, name);
    for (let i = 0; i < values.length; i++) if (mask.kept[i] === 0) values[i] = 0;
  }
  return model;
}

/** A copy of the model with these nodes' quantization set (replacing what a node had). */
export function withQuantization(model: CompressedModel, quantization: Record<string, NodeQuantization>): CompressedModel {
  for (const id of Object.keys(quantization)) {
    if (!model.graph.nodes.some((node) => node.id === id)) throw new Error(`quantization names node '${id}', which graph '${model.graph.name}' lacks`);
  }
  return { ...model, quantization: { ...model.quantization, ...quantization } };
}

/** Fraction of the masked weights' entries that are pruned, over all masked weights (0 without masks). */
export function maskedSparsity(model: CompressedModel): number {
  let pruned = 0;
  let total = 0;
  for (const [, , mask] of listMasks(model)) {
    total += mask.kept.length;
    for (const bit of mask.kept) pruned += 1 - bit;
  }
  return total === 0 ? 0 : pruned / total;
}
