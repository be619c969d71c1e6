// Import a tfjs LayersModel into the model IR (src/graph/). The only bridge from tfjs-layers to
// the graph: layers become nodes named as the layers, weights are copied out as Float32Array in
// their tfjs layouts, and an activation fused into a Conv2D/Dense/DepthwiseConv2D becomes its
// own node ('<layer>/relu'), so the IR has one op per node.
import type * as tfl from "@tensorflow/tfjs-layers";
import type { Graph, GraphNode, WindowPadding, Weight } from "../graph/ir.js";
import { inferShapes } from "../graph/shapes.js";

type Layer = tfl.layers.Layer;
type Config = Record<string, unknown>;

const WHERE = "graphFromTfjs";
const SUPPORTED_LAYERS = [
  "InputLayer", "Conv2D", "DepthwiseConv2D", "Dense", "BatchNormalization", "ReLU", "Activation", "Add",
  "MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D", "Flatten", "Dropout", "ZeroPadding2D", "Concatenate",
];
const SUPPORTED_ACTIVATIONS = ["linear", "relu", "relu6", "softmax"];

function fail(layer: Layer, message: string): never {
  throw new RangeError(`${WHERE}: layer '${layer.name}' (${layer.getClassName()}) ${message}`);
}

const pair = (value: unknown): [number, number] =>
  (Array.isArray(value) ? [Number(value[0]), Number(value[value.length > 1 ? 1 : 0])] : [Number(value), Number(value)]);

function padding(layer: Layer, config: Config): WindowPadding {
  const value = config.padding;
  if (value !== "same" && value !== "valid") fail(layer, `has padding '${String(value)}'; supported: 'same', 'valid'`);
  return value;
}

function checkChannelsLast(layer: Layer, config: Config): void {
  if (config.dataFormat !== undefined && config.dataFormat !== "channelsLast") {
    fail(layer, `has dataFormat '${String(config.dataFormat)}'; the model IR is NHWC, so only 'channelsLast' is supported`);
  }
}

/**
 * A batch norm must normalize the last axis (the channels of NHWC). tfjs keeps the axis as a
 * number; Keras writes the list it normalized it to when building the layer ([3] for NHWC), and
 * tfjs passes that list through from a converted model.json.
 */
function checkLastAxis(layer: Layer, value: unknown): void {
  const axis = Array.isArray(value) && value.length === 1 ? value[0] : value;
  const last = (layer.input as tfl.SymbolicTensor).shape.length - 1;
  if (axis !== -1 && axis !== last) fail(layer, `normalizes axis ${JSON.stringify(value)}; only the last (channel) axis, -1 or ${last}, is supported`);
}

/** The layer's weights by their short name ('kernel', 'moving_mean', ...), copied out of tfjs. */
function weightsByName(layer: Layer): Map<string, Weight> {
  const found = new Map<string, Weight>();
  for (const variable of layer.weights) {
    const name = variable.originalName.slice(variable.originalName.lastIndexOf("/") + 1);
    found.set(name, { shape: variable.shape.map(Number), values: Float32Array.from(variable.read().dataSync() as Float32Array) });
  }
  return found;
}

function weight(layer: Layer, weights: Map<string, Weight>, name: string): Weight {
  const found = weights.get(name);
  if (found === undefined) fail(layer, `has no '${name}' weight (it has: ${[...weights.keys()].join(", ") || "none"})`);
  return found;
}

/** A node for an activation, or null for 'linear'. */
function activationNode(layer: Layer, activation: unknown, id: string, input: string): GraphNode | null {
  switch (activation) {
    case undefined:
    case null:
    case "linear":
      return null;
    case "relu":
    case "relu6":
    case "softmax":
      return { op: activation, id, inputs: [input] };
    default:
      return fail(layer, `has activation '${String(activation)}'; supported: ${SUPPORTED_ACTIVATIONS.join(", ")}`);
  }
}

/** The layer itself as one node (activations fused into it are split off by the caller). */
function layerNode(layer: Layer, config: Config, inputs: string[]): GraphNode | null {
  const id = layer.name;
  const window = () => ({ kernelSize: pair(config.kernelSize), strides: pair(config.strides), padding: padding(layer, config), dilation: pair(config.dilationRate ?? 1) });
  switch (layer.getClassName()) {
    case "InputLayer": {
      const shape = (config.batchInputShape as Array<number | null>).slice(1);
      if (shape.some((dim) => dim === null)) fail(layer, `has an unknown dimension in its shape [${shape.join(",")}]; give the input a fixed size`);
      return { op: "input", id, inputs: [], shape: shape as number[] };
    }
    case "Conv2D": {
      checkChannelsLast(layer, config);
      const weights = weightsByName(layer);
      const useBias = Boolean(config.useBias);
      return { op: "conv2d", id, inputs, ...window(), filters: Number(config.filters), useBias, weights: { kernel: weight(layer, weights, "kernel"), ...(useBias ? { bias: weight(layer, weights, "bias") } : {}) } };
    }
    case "DepthwiseConv2D": {
      checkChannelsLast(layer, config);
      const weights = weightsByName(layer);
      const useBias = Boolean(config.useBias);
      return { op: "depthwiseConv2d", id, inputs, ...window(), depthMultiplier: Number(config.depthMultiplier ?? 1), useBias, weights: { depthwiseKernel: weight(layer, weights, "depthwise_kernel"), ...(useBias ? { bias: weight(layer, weights, "bias") } : {}) } };
    }
    case "Dense": {
      const weights = weightsByName(layer);
      const useBias = Boolean(config.useBias);
      return { op: "dense", id, inputs, units: Number(config.units), useBias, weights: { kernel: weight(layer, weights, "kernel"), ...(useBias ? { bias: weight(layer, weights, "bias") } : {}) } };
    }
    case "BatchNormalization": {
      checkLastAxis(layer, config.axis);
      const weights = weightsByName(layer);
      return {
        op: "batchNorm", id, inputs, epsilon: Number(config.epsilon),
        weights: {
          ...(config.scale === false ? {} : { gamma: weight(layer, weights, "gamma") }),
          ...(config.center === false ? {} : { beta: weight(layer, weights, "beta") }),
          movingMean: weight(layer, weights, "moving_mean"),
          movingVariance: weight(layer, weights, "moving_variance"),
        },
      };
    }
    case "ReLU": {
      const maxValue = config.maxValue;
      if (maxValue === undefined || maxValue === null) return { op: "relu", id, inputs };
      if (maxValue === 6) return { op: "relu6", id, inputs };
      return fail(layer, `has maxValue ${String(maxValue)}; supported: none (relu) or 6 (relu6)`);
    }
    case "Activation":
      return activationNode(layer, config.activation, id, inputs[0]);
    case "Add":
      return { op: "add", id, inputs };
    case "Concatenate": {
      // The IR joins on the channel axis only; Keras stores the axis as -1 or as the last index.
      const last = (layer.output as tfl.SymbolicTensor).shape.length - 1;
      if (config.axis !== -1 && config.axis !== last) fail(layer, `concatenates on axis ${String(config.axis)}; only the last (channel) axis, -1 or ${last}, is supported`);
      return { op: "concatenate", id, inputs };
    }
    case "MaxPooling2D":
    case "AveragePooling2D": {
      checkChannelsLast(layer, config);
      const poolSize = pair(config.poolSize);
      const op = layer.getClassName() === "MaxPooling2D" ? "maxPool" : "avgPool";
      return { op, id, inputs, poolSize, strides: pair(config.strides ?? poolSize), padding: padding(layer, config) };
    }
    case "GlobalAveragePooling2D":
      checkChannelsLast(layer, config);
      return { op: "globalAvgPool", id, inputs };
    case "Flatten":
      return { op: "flatten", id, inputs };
    case "Dropout":
      return { op: "dropout", id, inputs, rate: Number(config.rate) };
    case "ZeroPadding2D": {
      checkChannelsLast(layer, config);
      const [[top, bottom], [left, right]] = config.padding as [[number, number], [number, number]];
      return { op: "zeroPad2d", id, inputs, padding: [top, bottom, left, right] };
    }
    default:
      return fail(layer, `is not supported by the model IR; supported layers: ${SUPPORTED_LAYERS.join(", ")}`);
  }
}

/** Names of the layers feeding `layer`, checked to be a single, simple call of it. */
function inboundLayerNames(layer: Layer): string[] {
  if (layer.inboundNodes.length !== 1) {
    fail(layer, `is called ${layer.inboundNodes.length} times; shared layers are not supported, give each call its own layer`);
  }
  const inbound = layer.inboundNodes[0];
  if (inbound.tensorIndices.some((index) => index !== 0)) fail(layer, "reads a second output of a multi-output layer, which is not supported");
  return inbound.inboundLayers.map((source) => source.name);
}

/**
 * The model as an IR graph: one node per layer (plus one per fused activation), weights copied,
 * shapes inferred and checked. An unsupported layer or setting is an error naming the layer,
 * its class and what is supported.
 */
export function graphFromTfjs(model: tfl.LayersModel): Graph {
  const nodes: GraphNode[] = [];
  // The node that carries each layer's output: the layer's own node, its split-off activation,
  // or (for a linear Activation layer) the node feeding it.
  const outputOf = new Map<string, string>();
  for (const layer of model.layers) {
    const config = layer.getConfig() as Config;
    const inputs = inboundLayerNames(layer).map((name) => outputOf.get(name) as string);
    const node = layerNode(layer, config, inputs);
    if (node === null) {
      outputOf.set(layer.name, inputs[0]);
      continue;
    }
    nodes.push(node);
    const fused = layer.getClassName() === "Activation" ? null : activationNode(layer, config.activation, `${layer.name}/${String(config.activation)}`, node.id);
    if (fused !== null) nodes.push(fused);
    outputOf.set(layer.name, (fused ?? node).id);
  }
  const outputs = model.outputs.map((tensor) => outputOf.get(tensor.sourceLayer.name) as string);
  const graph: Graph = { name: model.name, nodes, outputs };
  inferShapes(graph);
  return graph;
}
