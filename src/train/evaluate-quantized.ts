// Accuracy of a quantized model as integer inference computes it, simulated in tfjs: the float
// graph alone no longer says it once activations are quantized (Jacob et al. 2018). Weights with a
// uniform quantization are put on their grid (the core's fakeQuantize; a no-op for an int8
// model, whose weights are stored on it), and every tensor with an activation range is
// fake-quantized on that range's grid in inference mode: the input, and each node's output,
// except a conv, dense or add fused with the relu after it, whose output is written on the relu's
// range (src/deploy/int8-model.ts). The int8 engine is checked against this evaluation.
import * as tf from "@tensorflow/tfjs-core";
import type { Dataset } from "../data/dataset.js";
import type { ActivationQuantization, CompressedModel } from "../graph/compressed-model.js";
import { weightsOf, type Graph } from "../graph/ir.js";
import { fusedActivations } from "../deploy/int8-model.js";
import { perTensor } from "../kernels/grouping.js";
import { quantParamsFromRange, quantRange } from "../kernels/quant-params.js";
import { fakeQuantize } from "../kernels/quantize.js";
import { mapOutput } from "../tfjs/map-layer.js";
import { buildTfjsModel, type NodeOverride } from "../tfjs/tfjs-from-graph.js";
import { evaluate, type EvaluateOptions, type Evaluation, type Forward } from "./evaluate.js";
import { roundToGrid, type TensorGrid } from "./fake-quant.js";

/** Whether the model has activation ranges, so that its accuracy is evaluateQuantized's, not the float graph's. */
export const quantizesActivations = (model: CompressedModel): boolean =>
  Object.values(model.quantization).some((entry) => entry.activation !== undefined);

/** The grid of a recorded activation range, with the scale and zero point quantParamsFromRange gives. */
export function activationGrid(range: ActivationQuantization): TensorGrid {
  const params = quantParamsFromRange(Float32Array.of(range.min), Float32Array.of(range.max), { bits: range.bits, symmetric: range.symmetric }, perTensor());
  return { scale: params.scales[0], zeroPoint: params.zeroPoints[0], qmin: params.qmin, qmax: params.qmax };
}

/** A copy of the graph with every uniformly quantized weight on its grid. */
export function weightsOnGrid(model: CompressedModel): Graph {
  const graph = structuredClone(model.graph);
  for (const node of graph.nodes) {
    const byName = model.quantization[node.id]?.weights ?? {};
    for (const [name, weight] of weightsOf(node)) {
      const quantization = byName[name];
      if (quantization?.scheme !== "uniform") continue;
      const { bits, symmetric, grouping, scales, zeroPoints } = quantization;
      weight.values = fakeQuantize(weight.values, { bits, symmetric, ...quantRange(bits, symmetric), grouping, scales, zeroPoints });
    }
  }
  return graph;
}

/** The grid each node's output is fake-quantized on, by node id (the input's included). */
export function activationGrids(model: CompressedModel): Map<string, TensorGrid> {
  const fused = fusedActivations(model.graph);
  const grids = new Map<string, TensorGrid>();
  for (const node of model.graph.nodes) {
    const range = model.quantization[node.id]?.activation;
    const carrier = fused.get(node.id);
    if (range === undefined || (carrier !== undefined && model.quantization[carrier.id]?.activation !== undefined)) continue;
    if (node.op === "softmax" && model.graph.outputs.includes(node.id)) continue; // run in float on the dequantized logits
    grids.set(node.id, activationGrid(range));
  }
  return grids;
}

/** The simulated integer model: its forward pass (logits) and what frees it. */
export interface QuantizedForward {
  forward: Forward;
  dispose(): void;
}

/** The model's forward pass with weights and activations quantized as recorded (the int8 engine's reference). */
export function quantizedForward(model: CompressedModel): QuantizedForward {
  const grids = activationGrids(model);
  const input = model.graph.nodes.find((node) => node.op === "input");
  const inputGrid = input === undefined ? undefined : grids.get(input.id);
  const overrides: Record<string, NodeOverride[]> = {};
  for (const [id, grid] of grids) {
    if (id !== input?.id) overrides[id] = [{ output: mapOutput(`${id}__quantized`, (x) => roundToGrid(x, grid)) }];
  }
  const built = buildTfjsModel(weightsOnGrid(model), { withoutSoftmax: true, overrides });
  const forward: Forward = (images, training) => built.apply(inputGrid === undefined ? images : roundToGrid(images, inputGrid), { training }) as tf.Tensor2D;
  return { forward, dispose: () => built.dispose() };
}

/** Loss and top-1 accuracy of the model with weights and activations quantized as recorded (inference mode). */
export function evaluateQuantized(model: CompressedModel, dataset: Dataset, options: EvaluateOptions = {}): Evaluation {
  const simulated = quantizedForward(model);
  try {
    return evaluate(simulated.forward, dataset, options);
  } finally {
    simulated.dispose();
  }
}
