// Build a trainable tfjs LayersModel from the model IR, and copy trained weights back into it:
// the IR stays the source of truth, tfjs is the training engine. One tfjs layer per IR node,
// named as the node, so that graphFromTfjs(buildTfjsModel(graph)) gives the graph back and
// a trained model's weights find their nodes by layer name.
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { weightsOf, type Graph, type GraphNode, type Weight } from "../graph/ir.js";
import { readersOf } from "../graph/readers.js";
import { inferShapes } from "../graph/shapes.js";
import type { FusedActivation } from "../kernels/batchnorm.js";
import { PocketflowBatchNormalization, pocketflowBatchNormalization } from "./batch-norm-layer.js";
import { PocketflowConv2D, PocketflowDepthwiseConv2D } from "./folded-conv-layers.js";
import { pocketflowReLU, pocketflowReLU6 } from "./relu-layers.js";
import { irWeightName } from "./weight-names.js";

type Layer = tfl.layers.Layer;
type Tensor = tfl.SymbolicTensor;

export interface BuildTfjsOptions {
  /**
   * Leave out a softmax node that is a model output, so the model outputs its input (the
   * logits): cross-entropy from logits and distillation at a temperature need them. Outputs
   * that are not a softmax are kept as they are.
   */
  withoutSoftmax?: boolean;
  /**
   * Momentum of the batch-norm moving statistics while training (the IR does not store it, as
   * it is a training setting): moving = momentum·moving + (1 - momentum)·batch. Default 0.99,
   * as Keras.
   */
  batchNormMomentum?: number;
  /**
   * Batch norm in training mode as one fused kernel forward and one backward when the
   * pocketflow backend is active (default true), with the relu or relu6 that alone reads it
   * fused in (in inference too), and, in inference, folded into the convolution it alone
   * reads. The layers stay standard 'Conv2D', 'BatchNormalization', 'ReLU' (...) layers in
   * saved models either way; false gives tfjs-layers' own implementation.
   */
  fusedBatchNorm?: boolean;
  /**
   * What learners change in the built model, by node id, applied in order (several learners may
   * change one node: a mask, then a fake quantizer). See NodeOverride.
   */
  overrides?: Readonly<Record<string, readonly NodeOverride[]>>;
  /**
   * Node ids whose outputs (after their overrides) the model also outputs, after the graph's
   * outputs. Such a node fuses with nothing, so its output is the tensor the IR defines.
   */
  extraOutputs?: readonly string[];
}

/**
 * A learner's change to one node when the IR is built into tfjs, instead of a forward pass of
 * its own. Model outputs come in this order: the graph's, extraOutputs, then every head, in node
 * order.
 */
export interface NodeOverride {
  /**
   * The layer computes with transform(weight) in place of the weight, by IR weight name (kernel,
   * depthwiseKernel, bias of conv2d, depthwiseConv2d and dense nodes); gradients flow through
   * the transform to the weight (a mask, a fake quantizer with a straight-through gradient).
   */
  weightTransforms?: Readonly<Record<string, (weight: tf.Tensor) => tf.Tensor>>;
  /** Replaces the node's output for its readers and the model (fake-quantized activations). */
  output?: (output: Tensor) => Tensor;
  /** Extra model outputs computed from the node's output (auxiliary classifiers); their layers are marked auxiliary. */
  heads?: (output: Tensor) => Tensor[];
}

const label = (node: GraphNode): string => `node '${node.id}' (${node.op})`;
const show = (shape: readonly number[]): string => `[${shape.join(",")}]`;
const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error));

function irNameOf(variable: tfl.LayerVariable): string {
  const short = variable.originalName.slice(variable.originalName.lastIndexOf("/") + 1);
  return irWeightName(short);
}

/**
 * The node that alone reads each node's output, for nodes that are no model output: where a
 * convolution is read by a batch norm alone, the convolution folds it in at inference
 * (folded-conv-layers.ts); where a batch norm is read by a relu or relu6 alone, it applies that
 * activation itself (fused-activation.ts).
 */
function soleReaders(graph: Graph, outputs: readonly string[]): Map<string, GraphNode> {
  const sole = new Map<string, GraphNode>();
  for (const [id, [reader, ...others]] of readersOf(graph)) if (others.length === 0 && !outputs.includes(id)) sole.set(id, reader);
  return sole;
}

/** What a layer fuses with the layer that alone reads it. */
interface Fusion {
  /** A convolution: fold the batch norm after it at inference. */
  foldsBatchNorm: boolean;
  /** A batch norm: the activation after it. */
  activation?: FusedActivation;
}

function fusionOf(node: GraphNode, reader: GraphNode | undefined, fused: boolean): Fusion {
  if (!fused || reader === undefined) return { foldsBatchNorm: false };
  const isConv = node.op === "conv2d" || node.op === "depthwiseConv2d";
  const activation = node.op === "batchNorm" && (reader.op === "relu" || reader.op === "relu6") ? reader.op : undefined;
  return { foldsBatchNorm: isConv && reader.op === "batchNorm", activation };
}

/** A tfjs layer doing what the node does (the caller handles input nodes). */
function layerFor(node: GraphNode, batchNormMomentum: number, fusedBatchNorm: boolean, fusion: Fusion): Layer {
  const name = node.id;
  // Weights are overwritten from the IR right after building, so skip random initialization.
  const init = { kernelInitializer: "zeros", biasInitializer: "zeros" } as const;
  switch (node.op) {
    case "conv2d": {
      const args = {
        name, filters: node.filters, kernelSize: node.kernelSize, strides: node.strides, padding: node.padding,
        dilationRate: node.dilation, useBias: node.useBias, dataFormat: "channelsLast", activation: "linear", ...init,
      } as const;
      return fusion.foldsBatchNorm ? new PocketflowConv2D(args) : tfl.layers.conv2d(args);
    }
    case "depthwiseConv2d": {
      const args = {
        name, kernelSize: node.kernelSize, depthMultiplier: node.depthMultiplier, strides: node.strides, padding: node.padding,
        dilationRate: node.dilation, useBias: node.useBias, dataFormat: "channelsLast", activation: "linear",
        depthwiseInitializer: "zeros", biasInitializer: "zeros",
      } as const;
      return fusion.foldsBatchNorm ? new PocketflowDepthwiseConv2D(args) : tfl.layers.depthwiseConv2d(args);
    }
    case "dense":
      return tfl.layers.dense({ name, units: node.units, useBias: node.useBias, activation: "linear", ...init });
    case "batchNorm": {
      const args = {
        name, axis: -1, epsilon: node.epsilon, momentum: batchNormMomentum, scale: node.weights.gamma !== undefined, center: node.weights.beta !== undefined,
      };
      return fusedBatchNorm ? pocketflowBatchNormalization(args, fusion.activation) : tfl.layers.batchNormalization(args);
    }
    case "relu":
      return pocketflowReLU({ name });
    case "relu6":
      return pocketflowReLU6({ name });
    case "softmax":
      // An Activation layer, not tfjs's Softmax layer: it is what graphFromTfjs reads back.
      return tfl.layers.activation({ name, activation: "softmax" });
    case "add":
      return tfl.layers.add({ name });
    case "concatenate":
      return tfl.layers.concatenate({ name, axis: -1 });
    case "flatten":
      return tfl.layers.flatten({ name });
    case "globalAvgPool":
      return tfl.layers.globalAveragePooling2d({ name, dataFormat: "channelsLast" });
    case "maxPool":
    case "avgPool": {
      const args = { name, poolSize: node.poolSize, strides: node.strides, padding: node.padding, dataFormat: "channelsLast" } as const;
      return node.op === "maxPool" ? tfl.layers.maxPooling2d(args) : tfl.layers.averagePooling2d(args);
    }
    case "zeroPad2d": {
      const [top, bottom, left, right] = node.padding;
      return tfl.layers.zeroPadding2d({ name, padding: [[top, bottom], [left, right]], dataFormat: "channelsLast" });
    }
    case "dropout":
      return tfl.layers.dropout({ name, rate: node.rate });
    default:
      throw new Error(`op '${(node as GraphNode).op}' has no tfjs layer`);
  }
}

/** tfjs convolutions take strides > 1 or dilation > 1, never both, so say so before tfjs does. */
function checkBuildable(node: GraphNode): void {
  if ((node.op === "conv2d" || node.op === "depthwiseConv2d") && node.strides.some((s) => s > 1) && node.dilation.some((d) => d > 1)) {
    throw new Error(`has strides ${show(node.strides)} and dilation ${show(node.dilation)}; tfjs needs one of them to be 1`);
  }
}

/** Sets the layer's weights from the node's, by name; the tensors are fresh copies. */
function setLayerWeights(layer: Layer, node: GraphNode): void {
  const irWeights = new Map<string, Weight>(weightsOf(node));
  tf.tidy(() => {
    const values = layer.weights.map((variable) => {
      const name = irNameOf(variable);
      const weight = irWeights.get(name);
      if (weight === undefined) throw new Error(`its tfjs layer has a '${name}' weight that the node lacks`);
      return tf.tensor(Float32Array.from(weight.values), weight.shape, "float32");
    });
    layer.setWeights(values);
  });
}

/** The output ids of the model: a final softmax is replaced by its input when asked. */
function modelOutputs(graph: Graph, withoutSoftmax: boolean): string[] {
  if (!withoutSoftmax) return graph.outputs;
  const byId = new Map(graph.nodes.map((node) => [node.id, node]));
  return graph.outputs.map((id) => {
    const node = byId.get(id) as GraphNode;
    return node.op === "softmax" ? node.inputs[0] : id;
  });
}

/** Layers made by overrides that carry no weights of the graph (auxiliary heads). */
const auxiliaryLayers = new WeakSet<Layer>();

/** Marks a layer as a learner's own (an auxiliary head): copyWeightsToGraph leaves it out. */
export function markAuxiliary(layer: Layer): Layer {
  auxiliaryLayers.add(layer);
  return layer;
}

/** The layer fields that hold each IR weight of the layers weight transforms apply to. */
const TRANSFORMABLE_FIELDS: Record<string, Record<string, string>> = {
  conv2d: { kernel: "kernel", bias: "bias" },
  depthwiseConv2d: { depthwiseKernel: "depthwiseKernel", bias: "bias" },
  dense: { kernel: "kernel", bias: "bias" },
};

/**
 * Makes the layer compute with transformed weights: during its call each weight field reads as
 * the transform of the variable (the tape sees the variable read, so gradients reach it), and is
 * restored afterwards. The instance is patched, not the class, so the layer saves as before.
 */
function applyWeightTransforms(layer: Layer, node: GraphNode, transforms: Array<Readonly<Record<string, (weight: tf.Tensor) => tf.Tensor>>>): void {
  const fields = TRANSFORMABLE_FIELDS[node.op];
  const names = [...new Set(transforms.flatMap((byName) => Object.keys(byName)))];
  for (const name of names) {
    if (fields?.[name] === undefined) throw new Error(`a weight transform of '${name}' cannot apply to a ${node.op} node (transformable: ${Object.keys(fields ?? {}).join(", ") || "none"})`);
  }
  const holder = layer as unknown as Record<string, { read(): tf.Tensor } | null | undefined>;
  const call = layer.call.bind(layer);
  layer.call = (inputs, kwargs) => {
    const originals = names.map((name) => holder[fields[name]]);
    try {
      names.forEach((name, i) => {
        const variable = originals[i];
        if (variable === undefined || variable === null) throw new Error(`layer '${layer.name}' has no ${name} to transform`);
        const value = transforms.reduce((w, byName) => (byName[name] === undefined ? w : byName[name](w)), variable.read());
        holder[fields[name]] = { read: () => value };
      });
      return call(inputs, kwargs);
    } finally {
      names.forEach((name, i) => { holder[fields[name]] = originals[i]; });
    }
  };
}

/** The built node's output after the overrides' output wrappers; heads collected on the way. */
function overriddenOutput(output: Tensor, overrides: readonly NodeOverride[], heads: Tensor[]): Tensor {
  let result = output;
  for (const override of overrides) if (override.output !== undefined) result = override.output(result);
  for (const override of overrides) if (override.heads !== undefined) heads.push(...override.heads(result));
  return result;
}

/** Ids whose output must be the IR's own tensor: outputs, extra outputs, nodes whose output an override wraps or reads. */
function unfusableIds(outputIds: readonly string[], options: BuildTfjsOptions): string[] {
  const overridden = Object.entries(options.overrides ?? {}).filter(([, list]) => list.some((o) => o.output !== undefined || o.heads !== undefined)).map(([id]) => id);
  return [...outputIds, ...(options.extraOutputs ?? []), ...overridden];
}

function checkOverrides(graph: Graph, options: BuildTfjsOptions): void {
  const ids = new Set(graph.nodes.map((node) => node.id));
  for (const id of [...Object.keys(options.overrides ?? {}), ...(options.extraOutputs ?? [])]) {
    if (!ids.has(id)) throw new Error(`buildTfjsModel: an override or extra output names node '${id}', which graph '${graph.name}' lacks`);
  }
}

/** One layer per node, applied in order, with the overrides; the symbolic tensor of every node, and the heads. */
function buildLayers(graph: Graph, options: BuildTfjsOptions, outputIds: readonly string[]) {
  const momentum = options.batchNormMomentum ?? 0.99;
  const fused = options.fusedBatchNorm ?? true;
  const readers = soleReaders(graph, unfusableIds(outputIds, options));
  const tensors = new Map<string, Tensor>();
  const layers: Array<[Layer, GraphNode]> = [];
  const heads: Tensor[] = [];
  const built = new Map<string, Layer>();
  for (const node of graph.nodes) {
    try {
      checkBuildable(node);
      if (node.op === "input") {
        tensors.set(node.id, tfl.input({ shape: node.shape, name: node.id, dtype: "float32" }));
        continue;
      }
      const overrides = options.overrides?.[node.id] ?? [];
      const layer = layerFor(node, momentum, fused, fusionOf(node, readers.get(node.id), fused));
      const transforms = overrides.flatMap((o) => (o.weightTransforms === undefined ? [] : [o.weightTransforms]));
      if (transforms.length > 0) applyWeightTransforms(layer, node, transforms);
      const folding = built.get(node.inputs[0]);
      if ((folding instanceof PocketflowConv2D || folding instanceof PocketflowDepthwiseConv2D) && layer instanceof PocketflowBatchNormalization) folding.foldedBatchNorm = layer;
      built.set(node.id, layer);
      const inputs = node.inputs.map((id) => tensors.get(id) as Tensor);
      const output = layer.apply(node.op === "add" || node.op === "concatenate" ? inputs : inputs[0]) as Tensor;
      tensors.set(node.id, overriddenOutput(output, overrides, heads));
      layers.push([layer, node]);
    } catch (error) {
      throw new Error(`buildTfjsModel: ${label(node)}: ${describe(error)}`);
    }
  }
  return { tensors, layers, heads };
}

/**
 * A trainable tfjs functional model of the graph: one layer per node, named as the node, its
 * weights copied from the IR, with the learners' overrides. Shapes are checked first; an error
 * names the node.
 */
export function buildTfjsModel(graph: Graph, options: BuildTfjsOptions = {}): tfl.LayersModel {
  const momentum = options.batchNormMomentum ?? 0.99;
  if (!(momentum >= 0 && momentum < 1)) throw new RangeError(`buildTfjsModel: batchNormMomentum must be in [0, 1), but got ${momentum}`);
  inferShapes(graph);
  checkOverrides(graph, options);
  const outputIds = modelOutputs(graph, options.withoutSoftmax ?? false);
  const { tensors, layers, heads } = buildLayers(graph, options, outputIds);
  for (const [layer, node] of layers) {
    try {
      setLayerWeights(layer, node);
    } catch (error) {
      throw new Error(`buildTfjsModel: ${label(node)}: ${describe(error)}`);
    }
  }
  const inputs = graph.nodes.filter((node) => node.op === "input").map((node) => tensors.get(node.id) as Tensor);
  const outputs = [...outputIds, ...(options.extraOutputs ?? [])].map((id) => tensors.get(id) as Tensor);
  return tfl.model({ inputs, outputs: [...outputs, ...heads], name: graph.name });
}

/** The node's new weights, read from its layer and checked against the IR's names and shapes. */
function trainedWeights(layer: Layer, node: GraphNode, modelName: string): Array<[Weight, Float32Array]> {
  const where = `copyWeightsToGraph: ${label(node)}`;
  const layerWeights = new Map(layer.weights.map((variable) => [irNameOf(variable), variable]));
  const irWeights = weightsOf(node);
  for (const name of layerWeights.keys()) {
    if (!irWeights.some(([irName]) => irName === name)) throw new Error(`${where}: layer '${layer.name}' of model '${modelName}' has a '${name}' weight that the node lacks`);
  }
  return irWeights.map(([name, weight]): [Weight, Float32Array] => {
    const variable = layerWeights.get(name);
    if (variable === undefined) throw new Error(`${where}: layer '${layer.name}' of model '${modelName}' has no '${name}' weight`);
    const shape = variable.shape.map(Number);
    if (show(shape) !== show(weight.shape)) throw new Error(`${where}: ${name} has shape ${show(weight.shape)} in the graph but ${show(shape)} in model '${modelName}'`);
    const values = Float32Array.from(variable.read().dataSync() as Float32Array);
    const bad = values.findIndex((value) => !Number.isFinite(value));
    if (bad >= 0) throw new Error(`${where}: ${name}[${bad}] is ${values[bad]} in model '${modelName}'; training diverged, lower the learning rate`);
    return [weight, values];
  });
}

/**
 * Writes the model's current weights (trained ones and batch-norm moving statistics) into the
 * graph nodes of the same ids, as fresh arrays. Everything is checked before anything is
 * written: a layer or node without its counterpart, a shape mismatch or a non-finite value is
 * an error naming both, and leaves the graph as it was. Returns the graph.
 */
export function copyWeightsToGraph(model: tfl.LayersModel, graph: Graph): Graph {
  const layers = new Map(model.layers.map((layer) => [layer.name, layer]));
  const nodeIds = new Set(graph.nodes.map((node) => node.id));
  for (const layer of model.layers) {
    if (layer.weights.length > 0 && !nodeIds.has(layer.name) && !auxiliaryLayers.has(layer)) {
      throw new Error(`copyWeightsToGraph: layer '${layer.name}' of model '${model.name}' has weights but graph '${graph.name}' has no node of that id`);
    }
  }
  const updates: Array<[Weight, Float32Array]> = [];
  for (const node of graph.nodes) {
    if (weightsOf(node).length === 0) continue;
    const layer = layers.get(node.id);
    if (layer === undefined) throw new Error(`copyWeightsToGraph: ${label(node)} has weights but model '${model.name}' has no layer of that name`);
    updates.push(...trainedWeights(layer, node, model.name));
  }
  for (const [weight, values] of updates) weight.values = values;
  return graph;
}
