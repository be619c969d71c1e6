// The IR as a float ONNX graph (opset 13). The model takes NHWC input, as tfjs users feed it,
// and transposes it to NCHW once; inside, feature maps are NCHW as ONNX convolutions need, and
// a flatten transposes back to NHWC first, so dense weights keep the IR's NHWC flatten order.
// The QDQ export reuses this walk with hooks that quantize weights and activations.
import type { Conv2DNode, DenseNode, DepthwiseConv2DNode, Graph, GraphNode, PoolNode } from "../graph/ir.js";
import { inferShapes, type ShapeMap } from "../graph/shapes.js";
import { DataType, type OnnxValueInfo } from "./onnx-proto.js";
import { floatInput, OnnxBuilder, oihwFromDepthwise, oihwFromHwio, unsupported, windowPads, type TensorRef } from "./onnx-builder.js";

/** Where the QDQ export changes the float graph. */
export interface FloatGraphHooks {
  /** The tensor name of a weight (already in ONNX layout): a float initializer by default. */
  weight(node: GraphNode, irName: string, dims: number[], values: Float32Array): string;
  /** What later nodes read instead of a node's output (a QuantizeLinear → DequantizeLinear pair, say). */
  output(node: GraphNode, ref: TensorRef): TensorRef;
}

export const floatHooks = (b: OnnxBuilder): FloatGraphHooks => ({
  weight: (node, irName, dims, values) => b.float(`${node.id}/${irName}`, dims, values),
  output: (_node, ref) => ref,
});

export interface EmitContext {
  b: OnnxBuilder;
  hooks: FloatGraphHooks;
  shapes: ShapeMap;
  format: string;
}

export const ints = (name: string, value: number[]) => ({ name, kind: "ints" as const, value });
export const int = (name: string, value: number) => ({ name, kind: "int" as const, value });

function inputRank(ctx: EmitContext, node: GraphNode, inputs: TensorRef[], rank: number, why: string): void {
  if (inputs[0].rank !== rank) throw unsupported(ctx.format, node, `${why} (its input is ${inputs[0].rank === 4 ? "a feature map" : "flat"})`);
}

function conv(ctx: EmitContext, node: Conv2DNode | DepthwiseConv2DNode, x: TensorRef): TensorRef {
  const { b, hooks, shapes } = ctx;
  const inShape = shapes.get(node.inputs[0]) as number[];
  const depthwise = node.op === "depthwiseConv2d";
  const { dims, values } = depthwise ? oihwFromDepthwise(node.weights.depthwiseKernel) : oihwFromHwio(node.weights.kernel);
  const w = hooks.weight(node, depthwise ? "depthwiseKernel" : "kernel", dims, values);
  const bias = node.weights.bias === undefined ? [] : [hooks.weight(node, "bias", [dims[0]], node.weights.bias.values)];
  const [name] = b.op("Conv", [x.name, w, ...bias], node.id, [
    ints("kernel_shape", node.kernelSize), ints("strides", node.strides), ints("dilations", node.dilation),
    ints("pads", windowPads(inShape, node.kernelSize, node.strides, node.dilation, node.padding)), int("group", depthwise ? inShape[2] : 1),
  ]);
  return { name, rank: 4 };
}

function dense(ctx: EmitContext, node: DenseNode, x: TensorRef): TensorRef {
  inputRank(ctx, node, [x], 2, "dense is exported for flat inputs only; flatten or pool the feature map before it");
  const kernel = ctx.hooks.weight(node, "kernel", node.weights.kernel.shape, node.weights.kernel.values);
  const bias = node.weights.bias === undefined ? [] : [ctx.hooks.weight(node, "bias", [node.units], node.weights.bias.values)];
  return { name: ctx.b.op("Gemm", [x.name, kernel, ...bias], node.id)[0], rank: 2 };
}

function batchNorm(ctx: EmitContext, node: Extract<GraphNode, { op: "batchNorm" }>, x: TensorRef): TensorRef {
  const { movingMean, movingVariance, gamma, beta } = node.weights;
  const channels = movingMean.shape[0];
  const w = (name: string, values: Float32Array) => ctx.hooks.weight(node, name, [channels], values);
  const inputs = [
    x.name, w("gamma", gamma?.values ?? new Float32Array(channels).fill(1)), w("beta", beta?.values ?? new Float32Array(channels)),
    w("movingMean", movingMean.values), w("movingVariance", movingVariance.values),
  ];
  return { name: ctx.b.op("BatchNormalization", inputs, node.id, [{ name: "epsilon", kind: "float", value: node.epsilon }])[0], rank: x.rank };
}

function pool(ctx: EmitContext, node: PoolNode, x: TensorRef): TensorRef {
  inputRank(ctx, node, [x], 4, "pooling needs a feature map");
  const inShape = ctx.shapes.get(node.inputs[0]) as number[];
  const pads = windowPads(inShape, node.poolSize, node.strides, [1, 1], node.padding);
  // count_include_pad stays 0: tfjs averages 'same' windows over the pixels inside the input only
  const opType = node.op === "maxPool" ? "MaxPool" : "AveragePool";
  return { name: ctx.b.op(opType, [x.name], node.id, [ints("kernel_shape", node.poolSize), ints("strides", node.strides), ints("pads", pads)])[0], rank: 4 };
}

/** NCHW → NHWC, then [N, H·W·C]: the IR's flatten order. */
function flatten(ctx: EmitContext, node: GraphNode, x: TensorRef): TensorRef {
  if (x.rank === 2) return { name: ctx.b.op("Identity", [x.name], node.id)[0], rank: 2 };
  const [nhwc] = ctx.b.op("Transpose", [x.name], `${node.id}/nhwc`, [ints("perm", [0, 2, 3, 1])]);
  return { name: ctx.b.op("Flatten", [nhwc], node.id, [int("axis", 1)])[0], rank: 2 };
}

function plainOp(ctx: EmitContext, node: GraphNode, inputs: TensorRef[]): TensorRef {
  const { b } = ctx;
  const [x] = inputs;
  switch (node.op) {
    case "relu":
      return { name: b.op("Relu", [x.name], node.id)[0], rank: x.rank };
    case "relu6": {
      const bounds = [b.float(`${node.id}/min`, [], Float32Array.of(0)), b.float(`${node.id}/max`, [], Float32Array.of(6))];
      return { name: b.op("Clip", [x.name, ...bounds], node.id)[0], rank: x.rank };
    }
    case "add":
      return inputs.slice(1).reduce((sum, y, i) => ({ name: b.op("Add", [sum.name, y.name], i === inputs.length - 2 ? node.id : `${node.id}/partial`)[0], rank: x.rank }), x);
    case "concatenate":
      // channels are axis 1 both in NCHW maps and in flat [N, features] tensors
      return { name: b.op("Concat", inputs.map((t) => t.name), node.id, [int("axis", 1)])[0], rank: x.rank };
    case "softmax":
      return { name: b.op("Softmax", [x.name], node.id, [int("axis", x.rank === 4 ? 1 : -1)])[0], rank: x.rank };
    case "globalAvgPool": {
      inputRank(ctx, node, inputs, 4, "global pooling needs a feature map");
      const [pooled] = b.op("GlobalAveragePool", [x.name], `${node.id}/nc11`);
      return { name: b.op("Flatten", [pooled], node.id, [int("axis", 1)])[0], rank: 2 };
    }
    case "flatten":
      return flatten(ctx, node, x);
    case "zeroPad2d": {
      inputRank(ctx, node, inputs, 4, "padding needs a feature map");
      const [top, bottom, left, right] = node.padding;
      const pads = b.int64(`${node.id}/pads`, [8], [0, 0, top, left, 0, 0, bottom, right]);
      return { name: b.op("Pad", [x.name, pads], node.id)[0], rank: 4 };
    }
    case "dropout":
      return x; // inference: the identity
    default:
      throw unsupported(ctx.format, node, "no ONNX translation for this op");
  }
}

/** One non-input node as float ONNX ops reading `inputs`; returns its output tensor. */
export function emitNode(ctx: EmitContext, node: GraphNode, inputs: TensorRef[]): TensorRef {
  switch (node.op) {
    case "conv2d":
    case "depthwiseConv2d":
      return conv(ctx, node, inputs[0]);
    case "dense":
      return dense(ctx, node, inputs[0]);
    case "batchNorm":
      return batchNorm(ctx, node, inputs[0]);
    case "maxPool":
    case "avgPool":
      return pool(ctx, node, inputs[0]);
    default:
      return plainOp(ctx, node, inputs);
  }
}

/** The graph input as NCHW (rank-3 examples) or as it is (flat examples). */
export function emitInput(ctx: EmitContext, node: Extract<GraphNode, { op: "input" }>): TensorRef {
  if (node.shape.length === 1) return { name: node.id, rank: 2 };
  if (node.shape.length !== 3) throw unsupported(ctx.format, node, `inputs must be [height, width, channels] or [features], but this one is [${node.shape.join(", ")}]`);
  return { name: ctx.b.op("Transpose", [node.id], `${node.id}/nchw`, [ints("perm", [0, 3, 1, 2])])[0], rank: 4 };
}

/**
 * Emits every node of the graph into the builder; returns each node's tensor (what readers
 * see, after the hooks). Graph inputs keep their node ids as names (the builder reserves them).
 */
export function emitFloatGraph(graph: Graph, b: OnnxBuilder, hooks: FloatGraphHooks, format: string): Map<string, TensorRef> {
  const ctx: EmitContext = { b, hooks, shapes: inferShapes(graph), format };
  const refs = new Map<string, TensorRef>();
  for (const node of graph.nodes) {
    const ref = node.op === "input" ? emitInput(ctx, node) : emitNode(ctx, node, node.inputs.map((id) => refs.get(id) as TensorRef));
    refs.set(node.id, hooks.output(node, ref));
  }
  return refs;
}

/** The graph outputs under their node ids, NHWC again for feature maps. */
export function emitOutputs(graph: Graph, b: OnnxBuilder, refs: Map<string, TensorRef>): void {
  for (const id of graph.outputs) {
    const ref = refs.get(id) as TensorRef;
    if (ref.rank === 4) b.opTo("Transpose", [ref.name], [id], [ints("perm", [0, 2, 3, 1])]);
    else b.opTo("Identity", [ref.name], [id]);
  }
}

/** The ONNX value infos of the graph's inputs and outputs: NHWC maps or flat vectors, batch "N". */
export function graphValueInfos(graph: Graph): { inputs: OnnxValueInfo[]; outputs: OnnxValueInfo[] } {
  const shapes = inferShapes(graph);
  const inputs = graph.nodes.filter((node) => node.op === "input").map((node) => floatInput(node.id, shapes.get(node.id) as number[]));
  const outputs = graph.outputs.map((id): OnnxValueInfo => ({ name: id, elemType: DataType.FLOAT, dims: ["N", ...(shapes.get(id) as number[])] }));
  return { inputs, outputs };
}
