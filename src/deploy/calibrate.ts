// An integer model for the engine's benchmarks and tests when no trained one is at hand: batch
// norms folded, weights rounded to 8-bit symmetric per output channel (scale = max|w| / 127),
// and every node's activation range the min and max it takes on seeded uniform [0, 1) inputs,
// computed by the fp32 engine with every node made an output. It keeps the contract of
// deploy/int8-model.ts (checked), so the int8 engine runs it; it is post-training calibration
// only, what uniform-tf starts from before it fine-tunes.
import { foldBatchNormsOf } from "../graph/fold-batch-norm.js";
import { withQuantization, type CompressedModel, type NodeQuantization } from "../graph/compressed-model.js";
import { sizeOf, type InputNode } from "../graph/ir.js";
import { loadEngine } from "./engine.js";
import { checkInt8Model, isWeightedNode, kernelNameOf, outputChannelGrouping, RANGE_PRESERVING_OPS, type WeightedNode } from "./int8-model.js";
import { seededRandom } from "../util/random.js";

/** The layer's kernel moved onto the 8-bit per-channel grid, in place; returns its quantization. */
function quantizeKernel(node: WeightedNode): NodeQuantization["weights"] {
  const weight = node.op === "depthwiseConv2d" ? node.weights.depthwiseKernel : node.weights.kernel;
  const grouping = outputChannelGrouping(node);
  const scales = new Float32Array(grouping.groups);
  weight.values.forEach((w, i) => { scales[i % grouping.groups] = Math.max(scales[i % grouping.groups], Math.abs(w)); });
  scales.forEach((max, c) => { scales[c] = max > 0 ? Math.fround(max / 127) : 1; });
  weight.values = Float32Array.from(weight.values, (w, i) => Math.fround(Math.round(w / scales[i % grouping.groups]) * scales[i % grouping.groups]));
  return { [kernelNameOf(node)]: { scheme: "uniform", bits: 8, symmetric: true, grouping, scales, zeroPoints: new Int32Array(grouping.groups) } };
}

/** Seeded uniform [0, 1) examples for the graph's input. */
export function calibrationBatch(inputShape: readonly number[], batch: number, seed: number): Float32Array {
  const random = seededRandom(seed);
  return Float32Array.from({ length: batch * sizeOf(inputShape) }, () => random());
}

/** The float model as an integer model (see the header); undefined when it holds an op integer models cannot. */
export function calibratedInt8Model(model: CompressedModel, options: { batch?: number; seed?: number } = {}): CompressedModel | undefined {
  const { batch = 16, seed = 7 } = options;
  const folded = foldBatchNormsOf({ ...model, quantization: {} });
  const graph = structuredClone(folded.graph);
  const quantization: Record<string, NodeQuantization> = {};
  for (const node of graph.nodes) if (isWeightedNode(node)) quantization[node.id] = { weights: quantizeKernel(node) };
  const input = graph.nodes.find((node): node is InputNode => node.op === "input") as InputNode;
  const x = calibrationBatch(input.shape, batch, seed);
  const inner = graph.nodes.filter((node) => node.op !== "input" && node.op !== "softmax");
  const values = loadEngine({ ...graph, outputs: inner.map((node) => node.id) }).runOutputs(x, batch);
  const ranges = new Map<string, { min: number; max: number }>([[input.id, rangeOf(x)]]);
  inner.forEach((node, i) => ranges.set(node.id, RANGE_PRESERVING_OPS.has(node.op) ? (ranges.get(node.inputs[0]) as { min: number; max: number }) : rangeOf(values[i])));
  for (const node of graph.nodes) {
    const range = ranges.get(node.id);
    if (range !== undefined) quantization[node.id] = { ...quantization[node.id], activation: { bits: 8, symmetric: false, ...range } };
  }
  const int8 = withQuantization({ ...folded, graph }, quantization);
  try {
    checkInt8Model(int8);
  } catch {
    return undefined;
  }
  return int8;
}

function rangeOf(values: Float32Array): { min: number; max: number } {
  let [min, max] = [Infinity, -Infinity];
  for (const v of values) {
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  return { min, max };
}

