// One-shot weight sparsity with layer-wise least squares (weight-sparse `reconstruct`), the
// regression PocketFlow's weight-sparsity roll-outs run before their short fine-tune, solved
// exactly instead of by 20 Adam steps: each pruned conv, in graph order, gets its final magnitude
// mask at once, and the weights it keeps are refit so that the conv reproduces the ORIGINAL
// model's outputs from the inputs of the model pruned so far (the rows channel pruning fits on,
// channel-samples.ts), so every layer repairs the error of the layers before it. Each output
// channel keeps its own set of input weights, so each is its own least-squares problem on the
// rows and columns of XᵀX it keeps (one Gram matrix per layer serves them all).
// Depthwise and dense layers get the magnitude mask alone.
import type { Conv2DNode, Graph } from "../graph/ir.js";
import { weightOf, withMasks, type CompressedModel } from "../graph/compressed-model.js";
import { gram, leastSquares, type GramSystem } from "../kernels/lasso.js";
import { countKept } from "../kernels/mask.js";
import { convSamples, type SampleOptions } from "./channel-samples.js";
import { sampleRidge, type ConvSamples } from "./channel-selection.js";
import type { LearnerData } from "./learner.js";

/** A pruned layer as the reconstruction left it. */
export interface SparseLayerReport {
  layer: string;
  kept: number;
  size: number;
  /** ‖Y − X·W‖² / ‖Y‖² on the samples with the magnitude mask alone, and after the refit (convs only). */
  relativeErrorMasked?: number;
  relativeError?: number;
}

/** Σ_o ‖Y_o − X·W_o‖² from the Gram system: yᵀy − 2 Σ wᵀ(XᵀY)_o + Σ wᵀ(XᵀX)w. */
function residual(system: GramSystem, weights: Float32Array): number {
  const { features: p, targets: m } = system;
  let error = system.yty;
  for (let o = 0; o < m; o++) {
    for (let i = 0; i < p; i++) {
      const wi = weights[i * m + o];
      if (wi === 0) continue;
      error -= 2 * wi * system.xty[i * m + o];
      let row = 0;
      for (let j = 0; j < p; j++) row += system.gram[i * p + j] * weights[j * m + o];
      error += wi * row;
    }
  }
  return Math.max(0, error);
}

/**
 * The kernel [taps·inChannels, outChannels] (HWIO flattened) whose kept weights (mask 1) are the
 * least-squares fit of the samples' targets, each output channel on its own kept inputs; pruned
 * weights are 0. Also the relative error of `kernel` masked as it is, and of the fit.
 */
export function maskedLeastSquares(s: ConvSamples, mask: Uint8Array, kernel: Float32Array): { weights: Float32Array; relativeErrorMasked: number; relativeError: number } {
  const p = s.taps * s.inChannels;
  const m = s.outChannels;
  if (mask.length !== p * m || kernel.length !== p * m) throw new RangeError(`maskedLeastSquares: mask and kernel need ${p}×${m} values, got ${mask.length} and ${kernel.length}`);
  const system = gram(s.patches, s.rows, p, s.targets, m);
  const weights = new Float32Array(p * m);
  for (let o = 0; o < m; o++) {
    const kept: number[] = [];
    for (let f = 0; f < p; f++) if (mask[f * m + o] !== 0) kept.push(f);
    const k = kept.length;
    if (k === 0) continue;
    const sub = new Float32Array(k * k);
    const xty = new Float32Array(k);
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++) sub[i * k + j] = system.gram[kept[i] * p + kept[j]];
      xty[i] = system.xty[kept[i] * m + o];
    }
    // each output channel's fit gets channel pruning's ridge rule, on its own kept inputs
    const fit = leastSquares({ gram: sub, xty, features: k, targets: 1 }, { ridge: sampleRidge(s.rows, sub, k) }).weights;
    for (let i = 0; i < k; i++) weights[kept[i] * m + o] = fit[i];
  }
  const masked = Float32Array.from(kernel, (value, i) => (mask[i] !== 0 ? value : 0));
  const norm = system.yty || 1;
  return { weights, relativeErrorMasked: residual(system, masked) / norm, relativeError: residual(system, weights) / norm };
}

/** A layer to prune: its node, its weight and the mask it ends with (from the learner's plan). */
export interface SparseLayerTarget {
  id: string;
  weight: "kernel" | "depthwiseKernel";
  shape: number[];
  /** The final mask (magnitude, at the layer's sparsity) from the layer's current weights. */
  maskOf(values: Float32Array): Uint8Array;
}

/** Every layer masked at once, convs refit by least squares in graph order; see the header. */
export function reconstructSparse(model: CompressedModel, layers: readonly SparseLayerTarget[], data: LearnerData, sampling: Omit<SampleOptions, "normalization">, progress?: (message: string) => void): { model: CompressedModel; layers: SparseLayerReport[] } {
  const original: Graph = model.graph;
  const order = new Map(original.nodes.map((node, i) => [node.id, i]));
  const sorted = [...layers].sort((a, b) => (order.get(a.id) ?? 0) - (order.get(b.id) ?? 0));
  let current = model;
  const reports: SparseLayerReport[] = [];
  for (const layer of sorted) {
    const node = current.graph.nodes.find((n) => n.id === layer.id);
    if (node === undefined) throw new Error(`weight-sparse reconstruction: no node '${layer.id}'`);
    const { values } = weightOf(current.graph, layer.id, layer.weight);
    const mask = layer.maskOf(values);
    const kept = countKept(mask);
    const report: SparseLayerReport = { layer: layer.id, kept, size: mask.length };
    // withMasks copies the graph, so the refit below writes into the copy; a conv's own mask
    // changes neither its input patches nor the original's targets
    const masked = withMasks(current, [[layer.id, layer.weight, { shape: [...layer.shape], kept: mask }]]);
    if (node.op === "conv2d" && kept < mask.length) {
      const samples = convSamples(original, masked.graph, layer.id, data.train, { ...sampling, normalization: data.normalization });
      const fit = maskedLeastSquares(samples, mask, values);
      (masked.graph.nodes.find((n) => n.id === layer.id) as Conv2DNode).weights.kernel.values = fit.weights;
      report.relativeErrorMasked = fit.relativeErrorMasked;
      report.relativeError = fit.relativeError;
      progress?.(`${layer.id}: kept ${kept} of ${mask.length} weights, reconstruction error ${(100 * fit.relativeErrorMasked).toFixed(2)}% masked -> ${(100 * fit.relativeError).toFixed(2)}% refit`);
    }
    current = masked;
    reports.push(report);
  }
  return { model: current, layers: reports };
}
