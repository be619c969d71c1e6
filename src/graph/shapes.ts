// Shape inference over the IR, computed as Keras/tfjs compute output shapes, with checks that
// name the node, the rule and the value. Shapes leave out the batch dimension.
//   effective window  ek = (k - 1)·d + 1
//   'valid'           out = ceil((in - ek + 1) / s), an error when in < ek
//   'same'            out = ceil(in / s)
import { sizeOf, weightsOf, type Graph, type GraphNode, type WindowPadding, type Weight } from "./ir.js";

/** Output shape of every node, by id. */
export type ShapeMap = Map<string, number[]>;

const label = (node: GraphNode): string => `${node.op} '${node.id}'`;
const show = (shape: readonly number[]): string => `[${shape.join(",")}]`;

function fail(node: GraphNode, message: string): never {
  throw new RangeError(`${label(node)}: ${message}`);
}

function checkPositive(node: GraphNode, name: string, values: readonly number[]): void {
  for (const value of values) {
    if (!Number.isInteger(value) || value < 1) fail(node, `${name} must be positive integers, but got ${show(values)}`);
  }
}

/** Output length of one spatial axis of a window op (conv or pooling). */
export function windowOutputSize(inSize: number, kernel: number, stride: number, dilation: number, padding: WindowPadding): number {
  if (padding === "same") return Math.ceil(inSize / stride);
  return Math.ceil((inSize - ((kernel - 1) * dilation + 1) + 1) / stride);
}

function checkWeight(node: GraphNode, name: string, weight: Weight | undefined, expected: readonly number[], why: string): void {
  if (weight === undefined) fail(node, `has no ${name} weight; it needs one of shape ${show(expected)} (${why})`);
  const same = weight.shape.length === expected.length && weight.shape.every((dim, axis) => dim === expected[axis]);
  if (!same) fail(node, `${name} must have shape ${show(expected)} (${why}), but has ${show(weight.shape)}`);
}

function checkWeightLengths(node: GraphNode): void {
  for (const [name, weight] of weightsOf(node)) {
    if (weight.values.length !== sizeOf(weight.shape)) {
      fail(node, `${name} of shape ${show(weight.shape)} needs ${sizeOf(weight.shape)} values, but has ${weight.values.length}`);
    }
  }
}

/** The single input's shape, checked to have `rank` dimensions (any rank >= 1 when omitted). */
function featureMap(node: GraphNode, inputs: number[][], from: string[], rank?: number): number[] {
  const shape = inputs[0];
  if (rank !== undefined && shape.length !== rank) {
    const what = rank === 3 ? "a [height,width,channels] feature map" : `rank ${rank}`;
    fail(node, `expects ${what}, but its input '${from[0]}' has shape ${show(shape)}`);
  }
  if (shape.length === 0) fail(node, `expects an input with at least one dimension, but '${from[0]}' is a scalar`);
  return shape;
}

function windowOutput(node: GraphNode, input: number[], inputShape: number[], kernel: [number, number], strides: [number, number], dilation: [number, number], padding: WindowPadding, from: string): [number, number] {
  checkPositive(node, "kernel size", kernel);
  checkPositive(node, "strides", strides);
  checkPositive(node, "dilation", dilation);
  if (padding !== "same" && padding !== "valid") fail(node, `padding must be 'same' or 'valid', but got '${String(padding)}'`);
  const out: [number, number] = [0, 0];
  for (const axis of [0, 1]) {
    out[axis] = windowOutputSize(input[axis], kernel[axis], strides[axis], dilation[axis], padding);
    if (out[axis] < 1) {
      const extent = (kernel[axis] - 1) * dilation[axis] + 1;
      fail(node, `its ${extent}-pixel window with 'valid' padding does not fit the ${input[axis]}-pixel ${axis === 0 ? "height" : "width"} of '${from}' ${show(inputShape)}`);
    }
  }
  return out;
}

function inferNode(node: GraphNode, inputs: number[][]): number[] {
  const from = node.inputs;
  switch (node.op) {
    case "input":
      checkPositive(node, "shape", node.shape);
      return [...node.shape];
    case "conv2d": {
      const [h, w, c] = featureMap(node, inputs, from, 3);
      checkPositive(node, "filters", [node.filters]);
      const kernel = node.weights.kernel;
      checkWeight(node, "kernel", kernel, [...node.kernelSize, kernel?.shape[2] ?? c, node.filters], "HWIO: kernelSize, input channels, filters");
      if (kernel.shape[2] !== c) fail(node, `expects ${kernel.shape[2]} input channels from its kernel ${show(kernel.shape)}, but its input '${from[0]}' has ${c}`);
      if (node.useBias) checkWeight(node, "bias", node.weights.bias, [node.filters], "one per filter");
      const [outH, outW] = windowOutput(node, [h, w], inputs[0], node.kernelSize, node.strides, node.dilation, node.padding, from[0]);
      return [outH, outW, node.filters];
    }
    case "depthwiseConv2d": {
      const [h, w, c] = featureMap(node, inputs, from, 3);
      checkPositive(node, "depth multiplier", [node.depthMultiplier]);
      const kernel = node.weights.depthwiseKernel;
      checkWeight(node, "depthwiseKernel", kernel, [...node.kernelSize, kernel?.shape[2] ?? c, node.depthMultiplier], "kernelSize, channels, depth multiplier");
      if (kernel.shape[2] !== c) fail(node, `expects ${kernel.shape[2]} input channels from its kernel ${show(kernel.shape)}, but its input '${from[0]}' has ${c}`);
      if (node.useBias) checkWeight(node, "bias", node.weights.bias, [c * node.depthMultiplier], "one per output channel");
      const [outH, outW] = windowOutput(node, [h, w], inputs[0], node.kernelSize, node.strides, node.dilation, node.padding, from[0]);
      return [outH, outW, c * node.depthMultiplier];
    }
    case "dense": {
      const shape = featureMap(node, inputs, from);
      const features = shape[shape.length - 1];
      checkPositive(node, "units", [node.units]);
      const kernel = node.weights.kernel;
      checkWeight(node, "kernel", kernel, [kernel?.shape[0] ?? features, node.units], "[inFeatures, units]");
      if (kernel.shape[0] !== features) fail(node, `expects ${kernel.shape[0]} input features from its kernel ${show(kernel.shape)}, but its input '${from[0]}' has ${features} (shape ${show(shape)})`);
      if (node.useBias) checkWeight(node, "bias", node.weights.bias, [node.units], "one per unit");
      return [...shape.slice(0, -1), node.units];
    }
    case "batchNorm": {
      const shape = featureMap(node, inputs, from);
      const channels = shape[shape.length - 1];
      if (!(node.epsilon > 0)) fail(node, `epsilon must be positive, but got ${node.epsilon}`);
      for (const [name, weight] of weightsOf(node)) {
        checkWeight(node, name, weight, [channels], `one per channel of '${from[0]}' ${show(shape)}`);
      }
      checkWeight(node, "movingMean", node.weights.movingMean, [channels], "one per channel");
      checkWeight(node, "movingVariance", node.weights.movingVariance, [channels], "one per channel");
      return [...shape];
    }
    case "maxPool":
    case "avgPool": {
      const [h, w, c] = featureMap(node, inputs, from, 3);
      const [outH, outW] = windowOutput(node, [h, w], inputs[0], node.poolSize, node.strides, [1, 1], node.padding, from[0]);
      return [outH, outW, c];
    }
    case "zeroPad2d": {
      const [h, w, c] = featureMap(node, inputs, from, 3);
      const [top, bottom, left, right] = node.padding;
      if (node.padding.some((p) => !Number.isInteger(p) || p < 0)) fail(node, `padding must be non-negative integers, but got ${show(node.padding)}`);
      return [h + top + bottom, w + left + right, c];
    }
    case "globalAvgPool":
      return [featureMap(node, inputs, from, 3)[2]];
    case "flatten":
      return [sizeOf(featureMap(node, inputs, from))];
    case "dropout":
      if (!(node.rate >= 0 && node.rate < 1)) fail(node, `rate must be in [0, 1), but got ${node.rate}`);
      return [...featureMap(node, inputs, from)];
    case "relu":
    case "relu6":
    case "softmax":
      return [...featureMap(node, inputs, from)];
    case "add": {
      const first = inputs[0];
      inputs.forEach((shape, i) => {
        if (show(shape) !== show(first)) {
          fail(node, `all inputs must have the same shape, but '${from[0]}' has ${show(first)} and '${from[i]}' has ${show(shape)}`);
        }
      });
      return [...first];
    }
    case "concatenate":
      return concatenated(node, inputs);
  }
}

/** Inputs joined on the last (channel) axis: every other axis must agree. */
function concatenated(node: GraphNode, inputs: number[][]): number[] {
  const [first] = inputs;
  inputs.forEach((shape, i) => {
    if (shape.length === 0) fail(node, `expects inputs with a channel axis, but '${node.inputs[i]}' is a scalar`);
    if (show(shape.slice(0, -1)) !== show(first.slice(0, -1))) {
      fail(node, `inputs must agree on all but the channel (last) axis, but '${node.inputs[0]}' has ${show(first)} and '${node.inputs[i]}' has ${show(shape)}; resize or pool them to the same height and width`);
    }
  });
  return [...first.slice(0, -1), inputs.reduce((sum, shape) => sum + shape[shape.length - 1], 0)];
}

function checkArity(node: GraphNode): void {
  const count = node.inputs.length;
  if (node.op === "input" && count !== 0) fail(node, `an input node takes no inputs, but lists ${count}`);
  const joins = node.op === "add" || node.op === "concatenate";
  if (joins && count < 2) fail(node, `needs at least 2 inputs, but has ${count}`);
  if (node.op !== "input" && !joins && count !== 1) fail(node, `needs exactly 1 input, but has ${count}`);
}

/**
 * Output shape of every node, checked: ids unique, inputs earlier in the list, input counts,
 * attribute ranges, weight shapes against the inputs they multiply, outputs that exist.
 */
export function inferShapes(graph: Graph): ShapeMap {
  const shapes: ShapeMap = new Map();
  for (const node of graph.nodes) {
    if (shapes.has(node.id)) fail(node, `id '${node.id}' is used by more than one node; ids must be unique`);
    checkArity(node);
    const inputs = node.inputs.map((id) => {
      const shape = shapes.get(id);
      if (shape === undefined) {
        const later = graph.nodes.some((other) => other.id === id);
        fail(node, later ? `input '${id}' comes after it; list nodes in topological order` : `input '${id}' is not a node of graph '${graph.name}'`);
      }
      return shape;
    });
    checkWeightLengths(node);
    shapes.set(node.id, inferNode(node, inputs));
  }
  if (graph.outputs.length === 0) throw new RangeError(`graph '${graph.name}': has no outputs; list at least one node id in outputs`);
  for (const id of graph.outputs) {
    if (!shapes.has(id)) throw new RangeError(`graph '${graph.name}': output '${id}' is not a node of the graph`);
  }
  return shapes;
}
