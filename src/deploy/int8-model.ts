// The integer model: what `uniform-tf` produces and what the int8 engine and the ONNX exporter
// run. It is a CompressedModel that keeps to this contract (Jacob et al. 2018, as TFLite and
// ONNX's QLinear ops define integer inference):
// - no batch norm: folded into the conv, depthwise or dense layer before it (graph/fold-batch-norm.ts);
// - every conv2d, depthwiseConv2d and dense layer has 8-bit symmetric weights per output channel
//   (zero point 0, narrow range ±127), and its float weights in the graph are exactly q·scale;
//   its bias stays float and becomes int32 round(bias / (inputScale·weightScale[c])) at load;
// - every node has an 8-bit asymmetric activation range (uint8, scale and zero point from
//   quantParamsFromRange, so real 0 is exact), except a softmax that ends the model (run in float
//   on the dequantized logits);
// - a conv, dense or add whose only reader is a relu or relu6 is fused with it: the fused op
//   writes on the activation's range, clamped by it; the layer's own range is then unused;
// - maxPool, zeroPad2d, flatten and dropout only move values, so their range is their input's.
// checkInt8Model says which rule a model breaks, naming the node.
import type { CompressedModel, UniformWeightQuantization } from "../graph/compressed-model.js";
import type { Graph, GraphNode } from "../graph/ir.js";
import { readersOf, soleReader } from "../graph/readers.js";
import type { Grouping } from "../kernels/grouping.js";
import { perTensor } from "../kernels/grouping.js";
import { quantParamsFromRange } from "../kernels/quant-params.js";

export const INT8_BITS = 8;

/** Ops an integer model may hold. */
export const INT8_OPS: ReadonlySet<GraphNode["op"]> = new Set([
  "input", "conv2d", "depthwiseConv2d", "dense", "relu", "relu6", "add", "concatenate",
  "maxPool", "avgPool", "globalAvgPool", "zeroPad2d", "flatten", "dropout", "softmax",
]);

/** Ops whose output is their input's values moved around: they share their input's range. */
export const RANGE_PRESERVING_OPS: ReadonlySet<GraphNode["op"]> = new Set(["maxPool", "zeroPad2d", "flatten", "dropout"]);

export type WeightedNode = Extract<GraphNode, { op: "conv2d" | "depthwiseConv2d" | "dense" }>;

export const isWeightedNode = (node: GraphNode): node is WeightedNode =>
  node.op === "conv2d" || node.op === "depthwiseConv2d" || node.op === "dense";

/** The IR name of the layer's quantized weight. */
export const kernelNameOf = (node: WeightedNode): "kernel" | "depthwiseKernel" =>
  node.op === "depthwiseConv2d" ? "depthwiseKernel" : "kernel";

/**
 * One group per output channel of the layer's kernel. The output channel is the flat index
 * modulo the channel count for every layout here (HWIO conv, [in, units] dense, and depthwise
 * [kh, kw, C, M], whose output channel c·M + m is its last two axes together).
 */
export function outputChannelGrouping(node: WeightedNode): Grouping {
  const shape = node.op === "depthwiseConv2d" ? node.weights.depthwiseKernel.shape : node.weights.kernel.shape;
  const channels = node.op === "depthwiseConv2d" ? shape[2] * shape[3] : shape[shape.length - 1];
  return { inner: 1, groups: channels };
}

/** Scale and zero point of an 8-bit asymmetric (uint8) activation. */
export interface ActivationParams {
  scale: number;
  zeroPoint: number;
}

/** uint8 parameters of a real range, as quantParamsFromRange gives them (0 exact). */
export function uint8Params(min: number, max: number): ActivationParams {
  const params = quantParamsFromRange(Float32Array.of(min), Float32Array.of(max), { bits: INT8_BITS, symmetric: false }, perTensor());
  return { scale: params.scales[0], zeroPoint: params.zeroPoints[0] };
}

/** The relu or relu6 a conv, dense or add is fused with, by the producer's id. */
export function fusedActivations(graph: Graph): Map<string, GraphNode> {
  const readers = readersOf(graph);
  const fused = new Map<string, GraphNode>();
  for (const node of graph.nodes) {
    if (!(isWeightedNode(node) || node.op === "add")) continue;
    const reader = soleReader(graph, node.id, readers);
    if (reader !== undefined && (reader.op === "relu" || reader.op === "relu6")) fused.set(node.id, reader);
  }
  return fused;
}

/** The uint8 parameters a node's output is written with (its own range, or its fused activation's). */
export function activationParams(model: CompressedModel, nodeId: string, fused: Map<string, GraphNode> = fusedActivations(model.graph)): ActivationParams {
  const carrier = fused.get(nodeId)?.id ?? nodeId;
  const range = model.quantization[carrier]?.activation;
  if (range === undefined) throw new Error(`int8 model: node '${carrier}' has no activation range; quantize the model with the uniform-tf learner`);
  return uint8Params(range.min, range.max);
}

/** The layer's weight quantization, as the contract has it. */
export function weightQuantizationOf(model: CompressedModel, node: WeightedNode): UniformWeightQuantization {
  const quantization = model.quantization[node.id]?.weights?.[kernelNameOf(node)];
  if (quantization === undefined || quantization.scheme !== "uniform") {
    throw new Error(`int8 model: ${node.op} '${node.id}' has no uniform weight quantization; quantize the model with the uniform-tf learner`);
  }
  return quantization;
}

/** Whether the model claims to be an integer model (some activation range, every one 8-bit); checkInt8Model says if it is one. */
export function looksInt8(model: CompressedModel): boolean {
  const ranges = Object.values(model.quantization).flatMap((entry) => (entry.activation === undefined ? [] : [entry.activation]));
  return ranges.length > 0 && ranges.every((range) => range.bits === INT8_BITS && !range.symmetric);
}

/** Why the layer's weights break the contract, or undefined. */
function weightProblem(model: CompressedModel, node: WeightedNode): string | undefined {
  const name = kernelNameOf(node);
  const quantization = model.quantization[node.id]?.weights?.[name];
  if (quantization === undefined || quantization.scheme !== "uniform") return `its ${name} is not uniformly quantized`;
  const { bits, symmetric, grouping, scales, zeroPoints } = quantization;
  const expected = outputChannelGrouping(node);
  if (bits !== INT8_BITS || !symmetric) return `its ${name} is ${bits}-bit ${symmetric ? "symmetric" : "asymmetric"}, not 8-bit symmetric`;
  if (grouping.inner !== expected.inner || grouping.groups !== expected.groups) return `its ${name} is not quantized per output channel (${expected.groups} groups)`;
  if (zeroPoints.some((zp) => zp !== 0)) return `its ${name} has a non-zero zero point`;
  const values = node.op === "depthwiseConv2d" ? node.weights.depthwiseKernel.values : node.weights.kernel.values;
  for (let i = 0; i < values.length; i++) {
    const scale = scales[i % expected.groups];
    const q = Math.round(values[i] / scale);
    if (Math.abs(q) > 127 || Math.fround(q * scale) !== values[i]) return `its ${name}[${i}] = ${values[i]} is not on the grid q·${scale} with |q| <= 127`;
  }
  return undefined;
}

/** Why the node's activation range breaks the contract, or undefined. */
function activationProblem(model: CompressedModel, node: GraphNode): string | undefined {
  const range = model.quantization[node.id]?.activation;
  if (node.op === "softmax" && model.graph.outputs.includes(node.id)) return undefined;
  if (range === undefined) return "it has no activation range";
  if (range.bits !== INT8_BITS || range.symmetric) return `its activation range is ${range.bits}-bit ${range.symmetric ? "symmetric" : "asymmetric"}, not 8-bit asymmetric`;
  if (!(Number.isFinite(range.min) && Number.isFinite(range.max) && range.min <= range.max)) return `its activation range [${range.min}, ${range.max}] is not a finite interval`;
  if (RANGE_PRESERVING_OPS.has(node.op)) {
    const input = model.quantization[node.inputs[0]]?.activation;
    if (input === undefined || input.min !== range.min || input.max !== range.max) return `a ${node.op} must keep its input's range, but [${range.min}, ${range.max}] differs from '${node.inputs[0]}''s`;
  }
  return undefined;
}

/** Throws an error naming the first node that breaks the integer-model contract (see the header). */
export function checkInt8Model(model: CompressedModel): void {
  for (const node of model.graph.nodes) {
    const fail = (problem: string): never => {
      throw new Error(`int8 model '${model.graph.name}': ${node.op} '${node.id}' breaks the integer-model contract: ${problem}; quantize the model with the uniform-tf learner`);
    };
    if (!INT8_OPS.has(node.op)) fail(node.op === "batchNorm" ? "a batch norm that no conv, depthwise or dense layer precedes alone cannot be folded" : `op '${node.op}' has no integer kernel`);
    if (node.op === "softmax" && !model.graph.outputs.includes(node.id)) fail("a softmax runs in float, so only at the model's output");
    const problem = (isWeightedNode(node) ? weightProblem(model, node) : undefined) ?? activationProblem(model, node);
    if (problem !== undefined) fail(problem);
  }
}
