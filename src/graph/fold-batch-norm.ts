// Batch norm folded into the convolution (or dense layer) before it, as every inference engine
// and Jacob et al. 2018 (§3.2) do before quantizing: with factor = gamma / sqrt(variance + eps),
//   W'[..., o] = W[..., o] · factor[o],   b'[o] = (b[o] − mean[o]) · factor[o] + beta[o],
// the layer alone computes what layer → batch norm computed. The integer model has no batch-norm
// op, so its weights are quantized after the fold, not before. A batch norm that does not follow
// a conv, depthwise or dense layer read by it alone (pre-activation nets) stays as it is.
import type { CompressedModel, WeightMask } from "./compressed-model.js";
import type { BatchNormNode, Conv2DNode, DenseNode, DepthwiseConv2DNode, Graph, GraphNode } from "./ir.js";
import { readersOf, soleReader } from "./readers.js";

type FoldableLayer = Conv2DNode | DepthwiseConv2DNode | DenseNode;

const isFoldableLayer = (node: GraphNode | undefined): node is FoldableLayer =>
  node !== undefined && (node.op === "conv2d" || node.op === "depthwiseConv2d" || node.op === "dense");

/** The layer's kernel, whose last axis runs over output channels once flattened (depthwise: channels·multiplier). */
const kernelOf = (layer: FoldableLayer) => (layer.op === "depthwiseConv2d" ? layer.weights.depthwiseKernel : layer.weights.kernel);

/** The batch norm's per-channel factor gamma/sqrt(var + eps) and shift beta − mean·factor. */
function affineOf(batchNorm: BatchNormNode): { factor: Float32Array; shift: Float32Array } {
  const { gamma, beta, movingMean, movingVariance } = batchNorm.weights;
  const channels = movingMean.values.length;
  const factor = new Float32Array(channels);
  const shift = new Float32Array(channels);
  for (let c = 0; c < channels; c++) {
    factor[c] = (gamma?.values[c] ?? 1) / Math.sqrt(movingVariance.values[c] + batchNorm.epsilon);
    shift[c] = (beta?.values[c] ?? 0) - movingMean.values[c] * factor[c];
  }
  return { factor, shift };
}

/** A copy of `layer` with the batch norm's affine map applied to its outputs. */
function foldInto(layer: FoldableLayer, batchNorm: BatchNormNode): FoldableLayer {
  const { factor, shift } = affineOf(batchNorm);
  const kernel = kernelOf(layer);
  const channels = factor.length;
  const values = Float32Array.from(kernel.values, (w, i) => w * factor[i % channels]);
  const oldBias = layer.weights.bias?.values;
  const bias = Float32Array.from(factor, (f, c) => (oldBias?.[c] ?? 0) * f + shift[c]);
  const weights = layer.op === "depthwiseConv2d"
    ? { depthwiseKernel: { shape: [...kernel.shape], values }, bias: { shape: [channels], values: bias } }
    : { kernel: { shape: [...kernel.shape], values }, bias: { shape: [channels], values: bias } };
  return { ...layer, useBias: true, weights } as FoldableLayer;
}

/** The batch norms that can fold, keyed by their id, with the layer each folds into. */
function foldablePairs(graph: Graph): Map<string, FoldableLayer> {
  const readers = readersOf(graph);
  const byId = new Map(graph.nodes.map((node) => [node.id, node]));
  const pairs = new Map<string, FoldableLayer>();
  for (const node of graph.nodes) {
    if (node.op !== "batchNorm") continue;
    const layer = byId.get(node.inputs[0]);
    if (isFoldableLayer(layer) && soleReader(graph, layer.id, readers) === node) pairs.set(node.id, layer);
  }
  return pairs;
}

/**
 * The graph with every batch norm that follows a conv, depthwise or dense layer (its only
 * reader) folded into that layer; readers of the batch norm read the layer instead. Node ids of
 * the layers are kept, so masks and quantization keyed by them still apply.
 */
export function foldBatchNorms(graph: Graph): Graph {
  const pairs = foldablePairs(graph);
  if (pairs.size === 0) return structuredClone(graph);
  const renamed = new Map([...pairs].map(([bnId, layer]) => [bnId, layer.id]));
  const rename = (id: string): string => renamed.get(id) ?? id;
  const folded = new Map([...pairs].map(([bnId, layer]) => [layer.id, foldInto(layer, graph.nodes.find((n) => n.id === bnId) as BatchNormNode)]));
  const nodes = graph.nodes
    .filter((node) => !pairs.has(node.id))
    .map((node) => structuredClone({ ...(folded.get(node.id) ?? node), inputs: node.inputs.map(rename) }) as GraphNode);
  return { ...graph, nodes, outputs: graph.outputs.map(rename) };
}

/** Batch norms left after folding (those no conv, depthwise or dense layer precedes alone). */
export const unfoldableBatchNorms = (graph: Graph): string[] => {
  const pairs = foldablePairs(graph);
  return graph.nodes.filter((node) => node.op === "batchNorm" && !pairs.has(node.id)).map((node) => node.id);
};

/**
 * The compressed model with its batch norms folded. Masks stay valid (a pruned weight times a
 * factor is still zero); quantization is refused, since folding moves weights off their grid.
 */
export function foldBatchNormsOf(model: CompressedModel): CompressedModel {
  const quantized = Object.keys(model.quantization);
  if (quantized.length > 0) {
    throw new Error(`foldBatchNorms: node '${quantized[0]}' is already quantized, and folding would move its weights off the grid; fold before quantizing`);
  }
  const graph = foldBatchNorms(model.graph);
  const ids = new Set(graph.nodes.map((node) => node.id));
  const masks: Record<string, Record<string, WeightMask>> = Object.fromEntries(Object.entries(model.masks).filter(([id]) => ids.has(id)));
  return { ...model, graph, masks };
}
