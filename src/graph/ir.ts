// The model IR: a framework-independent description of a CNN, so that cost counting, channel
// coupling and shrinking never touch tfjs. Activations are NHWC; every shape here leaves out the
// batch dimension ([height, width, channels] for feature maps, [features] after flatten/pooling).
// Weight layouts follow Keras/tfjs so that importing and exporting copies arrays unchanged:
//   conv2d           kernel [kh, kw, inChannels, filters] (HWIO), bias [filters]
//   depthwiseConv2d  depthwiseKernel [kh, kw, channels, depthMultiplier], bias [channels·multiplier]
//   dense            kernel [inFeatures, units], bias [units]
//   batchNorm        gamma, beta, movingMean, movingVariance, each [channels]

/** Padding of a convolution or pooling window, as Keras names it. */
export type WindowPadding = "same" | "valid";

/** A weight array and its shape (row-major, last axis fastest, as tfjs stores it). */
export interface Weight {
  shape: number[];
  values: Float32Array;
}

interface NodeBase {
  /** Unique within the graph (the layer name when imported). */
  id: string;
  /** Ids of the nodes whose outputs this node reads, in order; they come earlier in the list. */
  inputs: string[];
}

export interface InputNode extends NodeBase {
  op: "input";
  /** Shape of one example, without the batch: [height, width, channels] or [features]. */
  shape: number[];
}

interface WindowAttributes {
  /** [height, width] of the window. */
  kernelSize: [number, number];
  strides: [number, number];
  padding: WindowPadding;
  dilation: [number, number];
}

export interface Conv2DNode extends NodeBase, WindowAttributes {
  op: "conv2d";
  filters: number;
  useBias: boolean;
  weights: { kernel: Weight; bias?: Weight };
}

export interface DepthwiseConv2DNode extends NodeBase, WindowAttributes {
  op: "depthwiseConv2d";
  depthMultiplier: number;
  useBias: boolean;
  weights: { depthwiseKernel: Weight; bias?: Weight };
}

export interface DenseNode extends NodeBase {
  op: "dense";
  units: number;
  useBias: boolean;
  weights: { kernel: Weight; bias?: Weight };
}

/** Inference-form batch normalization over the last (channel) axis. */
export interface BatchNormNode extends NodeBase {
  op: "batchNorm";
  epsilon: number;
  /** gamma is absent when the layer does not scale (Keras scale: false), beta when it does not center. */
  weights: { gamma?: Weight; beta?: Weight; movingMean: Weight; movingVariance: Weight };
}

export interface PoolNode extends NodeBase {
  op: "maxPool" | "avgPool";
  poolSize: [number, number];
  strides: [number, number];
  padding: WindowPadding;
}

/** Zeros added around a feature map: [top, bottom, left, right] pixels. */
export interface ZeroPadNode extends NodeBase {
  op: "zeroPad2d";
  padding: [number, number, number, number];
}

export interface DropoutNode extends NodeBase {
  op: "dropout";
  rate: number;
}

/** Ops with no attributes: elementwise activations, the residual add, reshapes, global pooling. */
export interface PlainNode extends NodeBase {
  op: "relu" | "relu6" | "softmax" | "add" | "flatten" | "globalAvgPool";
}

/**
 * Joins its inputs along the channel (last) axis, in input order (Inception branches, DenseNet's
 * concatenation of a block's input and output); the inputs agree on every other axis.
 */
export interface ConcatenateNode extends NodeBase {
  op: "concatenate";
}

export type GraphNode =
  | InputNode
  | Conv2DNode
  | DepthwiseConv2DNode
  | DenseNode
  | BatchNormNode
  | PoolNode
  | ZeroPadNode
  | DropoutNode
  | PlainNode
  | ConcatenateNode;

export type OpKind = GraphNode["op"];

export interface Graph {
  name: string;
  /** In topological order: every input of a node is an earlier node. */
  nodes: GraphNode[];
  /** Ids of the nodes whose outputs are the model's outputs. */
  outputs: string[];
}

/** Number of elements of a shape (1 for a scalar []). */
export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((product, dim) => product * dim, 1);
}

/** The node's weights as [name, weight] pairs, in the order Keras lists them. */
export function weightsOf(node: GraphNode): Array<[string, Weight]> {
  if (!("weights" in node)) return [];
  return Object.entries(node.weights).filter((entry): entry is [string, Weight] => entry[1] !== undefined);
}
