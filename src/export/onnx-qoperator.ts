// The QOperator form of an integer model: uint8 tensors flow between integer ops, each carrying
// the scale and zero point it was written with. Convolutions are QLinearConv (int8 per-channel
// weights, int32 bias); a dense layer is a 1×1 QLinearConv too, since QLinearMatMul has no bias
// input and adding one after it would round twice. Adds, concatenations and average pools are
// onnxruntime's com.microsoft QLinear ops; max pool, pad, flatten and transposes move uint8
// values as they are. A fused relu/relu6 is the saturation of its layer's output when its range
// starts at 0 (zero point 0) and ends within 6; anything else runs as a float island
// DequantizeLinear → op → QuantizeLinear, and the final softmax runs on the dequantized logits.
import type { GraphNode, PlainNode, PoolNode } from "../graph/ir.js";
import type { OnnxAttribute } from "./onnx-proto.js";
import { inferShapes, type ShapeMap } from "../graph/shapes.js";
import type { ActivationParams, WeightedNode } from "../deploy/int8-model.js";
import { MS_DOMAIN, oihwFromDepthwise, oihwFromHwio, unsupported, windowPads, type TensorRef } from "./onnx-builder.js";
import { emitInput, emitNode, int, ints, type EmitContext } from "./onnx-float.js";
import type { Int8Tensors } from "./onnx-int8-tensors.js";

/** A tensor of the graph and the uint8 parameters it holds (none: a float tensor). */
interface QRef extends TensorRef {
  params?: ActivationParams;
}

const FORMAT = "onnx (QOperator)";

interface QContext {
  t: Int8Tensors;
  shapes: ShapeMap;
  float: EmitContext;
}

const quantized = (ref: QRef): ref is QRef & { params: ActivationParams } => ref.params !== undefined;

function dequantize(ctx: QContext, ref: QRef): TensorRef {
  if (!quantized(ref)) return ref;
  return { name: ctx.t.b.op("DequantizeLinear", [ref.name, ...ctx.t.scaleAndZeroPoint(ref.params)], `${ref.name}_float`)[0], rank: ref.rank };
}

function quantize(ctx: QContext, ref: TensorRef, params: ActivationParams): QRef {
  return { name: ctx.t.b.op("QuantizeLinear", [ref.name, ...ctx.t.scaleAndZeroPoint(params)], `${ref.name}_quantized`)[0], rank: ref.rank, params };
}

/** The node in float between a DequantizeLinear of its inputs and a QuantizeLinear of its output. */
function floatIsland(ctx: QContext, node: GraphNode, inputs: QRef[], params: ActivationParams | undefined): QRef {
  const out = emitNode(ctx.float, node, inputs.map((ref) => dequantize(ctx, ref)));
  return params === undefined ? out : quantize(ctx, out, params);
}

/** QLinearConv of a conv, depthwise conv or dense layer (dense as a 1×1 conv over [N, F, 1, 1]). */
function qlinearConv(ctx: QContext, node: WeightedNode, x: QRef & { params: ActivationParams }): QRef {
  const { t } = ctx;
  const { b } = t;
  const out = t.params(node.id);
  const inShape = ctx.shapes.get(node.inputs[0]) as number[];
  let attributes: OnnxAttribute[] = [ints("kernel_shape", [1, 1])];
  let kernel: { dims: number[]; values: Float32Array };
  let input = x.name;
  if (node.op === "dense") {
    const [features, units] = node.weights.kernel.shape;
    kernel = oihwFromHwio({ shape: [1, 1, features, units], values: node.weights.kernel.values });
    input = b.op("Reshape", [x.name, b.int64(`${node.id}/nchw_shape`, [4], [0, features, 1, 1])], `${node.id}/nc11_input`)[0];
  } else {
    const depthwise = node.op === "depthwiseConv2d";
    kernel = depthwise ? oihwFromDepthwise(node.weights.depthwiseKernel) : oihwFromHwio(node.weights.kernel);
    attributes = [
      ints("kernel_shape", node.kernelSize), ints("strides", node.strides), ints("dilations", node.dilation),
      ints("pads", windowPads(inShape, node.kernelSize, node.strides, node.dilation, node.padding)), int("group", depthwise ? inShape[2] : 1),
    ];
  }
  const w = t.kernel(node, kernel.dims, kernel.values, 0);
  const bias = node.weights.bias === undefined ? [] : [t.bias(node, node.weights.bias.values).q];
  const inputs = [input, ...t.scaleAndZeroPoint(x.params), w.q, w.scales, w.zeroPoints, ...t.scaleAndZeroPoint(out), ...bias];
  const [y] = b.op("QLinearConv", inputs, node.op === "dense" ? `${node.id}/nc11` : node.id, attributes);
  if (node.op !== "dense") return { name: y, rank: 4, params: out };
  return { name: b.op("Flatten", [y], node.id, [int("axis", 1)])[0], rank: 2, params: out };
}

/** A relu/relu6 fused with its layer, when the layer's saturation at the relu's range does its work. */
function impliedActivation(node: GraphNode, x: QRef & { params: ActivationParams }): boolean {
  const { scale, zeroPoint } = x.params;
  return zeroPoint === 0 && (node.op === "relu" || Math.fround(255 * scale) <= 6);
}

function qlinearBinary(ctx: QContext, node: GraphNode, inputs: Array<QRef & { params: ActivationParams }>): QRef {
  const { t } = ctx;
  const out = t.params(node.id);
  const operands = inputs.flatMap((ref) => [ref.name, ...t.scaleAndZeroPoint(ref.params)]);
  if (node.op === "add") {
    const [a, bb] = inputs;
    const args = [a.name, ...t.scaleAndZeroPoint(a.params), bb.name, ...t.scaleAndZeroPoint(bb.params), ...t.scaleAndZeroPoint(out)];
    return { name: t.b.op("QLinearAdd", args, node.id, [], MS_DOMAIN)[0], rank: a.rank, params: out };
  }
  return { name: t.b.op("QLinearConcat", [...t.scaleAndZeroPoint(out), ...operands], node.id, [int("axis", 1)], MS_DOMAIN)[0], rank: inputs[0].rank, params: out };
}

function qlinearPool(ctx: QContext, node: PoolNode | PlainNode, x: QRef & { params: ActivationParams }): QRef {
  const { t } = ctx;
  const out = t.params(node.id);
  const args = [x.name, ...t.scaleAndZeroPoint(x.params), ...t.scaleAndZeroPoint(out)];
  if (node.op === "globalAvgPool") {
    const [pooled] = t.b.op("QLinearGlobalAveragePool", args, `${node.id}/nc11`, [int("channels_last", 0)], MS_DOMAIN);
    return { name: t.b.op("Flatten", [pooled], node.id, [int("axis", 1)])[0], rank: 2, params: out };
  }
  if (node.op !== "avgPool") throw unsupported(FORMAT, node, "not a pooling op");
  const pads = windowPads(ctx.shapes.get(node.inputs[0]) as number[], node.poolSize, node.strides, [1, 1], node.padding);
  const attributes = [ints("kernel_shape", node.poolSize), ints("strides", node.strides), ints("pads", pads), int("count_include_pad", 0), int("channels_last", 0)];
  return { name: t.b.op("QLinearAveragePool", args, node.id, attributes, MS_DOMAIN)[0], rank: 4, params: out };
}

/** Ops that move uint8 values (max pool, pad, flatten): the float op on the uint8 tensor, same parameters. */
function moveValues(ctx: QContext, node: GraphNode, x: QRef & { params: ActivationParams }): QRef {
  if (node.op === "zeroPad2d") {
    const [top, bottom, left, right] = node.padding;
    const pads = ctx.t.b.int64(`${node.id}/pads`, [8], [0, 0, top, left, 0, 0, bottom, right]);
    const zero = ctx.t.scaleAndZeroPoint(x.params)[1]; // padding with the zero point is padding with real 0
    return { name: ctx.t.b.op("Pad", [x.name, pads, zero], node.id)[0], rank: 4, params: x.params };
  }
  return { ...emitNode(ctx.float, node, [x]), params: x.params };
}

function emitQNode(ctx: QContext, node: GraphNode, inputs: QRef[]): QRef {
  const { t } = ctx;
  if (!inputs.every(quantized)) throw unsupported(FORMAT, node, "it reads a float tensor; only the final softmax may run in float");
  const [x] = inputs;
  switch (node.op) {
    case "conv2d": case "depthwiseConv2d": case "dense":
      return qlinearConv(ctx, node, x);
    case "relu": case "relu6":
      return t.fused.get(node.inputs[0]) === node && impliedActivation(node, x) ? x : floatIsland(ctx, node, inputs, t.params(node.id));
    case "add":
      return inputs.length === 2 ? qlinearBinary(ctx, node, inputs) : floatIsland(ctx, node, inputs, t.params(node.id));
    case "concatenate":
      return qlinearBinary(ctx, node, inputs);
    case "avgPool": case "globalAvgPool":
      return qlinearPool(ctx, node, x);
    case "maxPool": case "zeroPad2d": case "flatten": case "dropout":
      return node.op === "dropout" ? x : moveValues(ctx, node, x);
    case "softmax":
      return floatIsland(ctx, node, inputs, undefined);
    default:
      return floatIsland(ctx, node, inputs, t.params(node.id));
  }
}

/** Emits the integer graph and its float outputs (dequantized, NHWC for feature maps) into t.b. */
export function emitQOperatorGraph(t: Int8Tensors): void {
  const { graph } = t.model;
  const shapes = inferShapes(graph);
  const float: EmitContext = { b: t.b, shapes, format: FORMAT, hooks: { weight: (node, name, dims, values) => t.b.float(`${node.id}/${name}`, dims, values), output: (_n, ref) => ref } };
  const ctx: QContext = { t, shapes, float };
  const refs = new Map<string, QRef>();
  for (const node of graph.nodes) {
    const ref = node.op === "input" ? quantize(ctx, emitInput(float, node), t.params(node.id)) : emitQNode(ctx, node, node.inputs.map((id) => refs.get(id) as QRef));
    refs.set(node.id, ref);
  }
  for (const id of graph.outputs) {
    const ref = dequantize(ctx, refs.get(id) as QRef);
    if (ref.rank === 4) t.b.opTo("Transpose", [ref.name], [id], [ints("perm", [0, 2, 3, 1])]);
    else t.b.opTo("Identity", [ref.name], [id]);
  }
}
