// The integer-model contract (deploy/int8-model.ts) as plain loops: the specification the int8
// engine is tested against, bit for bit. One node at a time, one output value at a time: uint8
// activations, int8 weight codes, int32 sums, and requantization as TFLite's
// MultiplyByQuantizedMultiplier (the BigInt twin of the kernels' fixed point). It shares with the
// engine only what the contract fixes (the multipliers' encoding, the clamp bounds, the add's
// integer factors); none of its arithmetic goes through a kernel. Written for clarity, not speed.
import type { CompressedModel } from "../graph/compressed-model.js";
import type { Conv2DNode, DenseNode, DepthwiseConv2DNode, Graph, GraphNode, PoolNode } from "../graph/ir.js";
import { inferShapes } from "../graph/shapes.js";
import { convGeometry, type ConvGeometry } from "../kernels/conv-geometry.js";
import { addRescaleFactors } from "../kernels/add-q8.js";
import { activationBounds, quantizeMultiplier } from "../kernels/requantize.js";
import { multiplyByQuantizedMultiplierRef } from "../kernels/reference/requantize.js";
import { roundHalfEven } from "../kernels/rounding.js";
import { activationParams, checkInt8Model, fusedActivations, weightQuantizationOf, type ActivationParams } from "./int8-model.js";

export interface Int8ReferenceResult {
  /** The dequantized outputs (a final softmax's input: the logits), as the engine's run() gives them. */
  outputs: Float32Array[];
  /** The uint8 codes of every node, by id (a fused relu's are its producer's). */
  codes: Map<string, Uint8Array>;
}

/** One node's view of the interpreter: its inputs' codes and shapes, parameters by node id. */
interface NodeContext {
  inputIds: string[];
  inputs: Uint8Array[];
  inShapes: number[][];
  batch: number;
  params: (id: string) => ActivationParams;
  /** The clamp of the node's output: [0, 255], narrowed by a fused relu or relu6. */
  bounds: { min: number; max: number };
}

/** Runs an integer model on a float batch [batch, ...inputShape] with the contract's arithmetic. */
export function runInt8Reference(model: CompressedModel, input: Float32Array, batch: number): Int8ReferenceResult {
  checkInt8Model(model);
  const { graph } = model;
  const shapes = inferShapes(graph);
  const fused = fusedActivations(graph);
  const fusedRelus = new Set([...fused.values()].map((node) => node.id));
  const params = (id: string): ActivationParams => activationParams(model, id, fused);
  const codes = new Map<string, Uint8Array>();
  for (const node of graph.nodes) {
    if (node.op === "input") {
      codes.set(node.id, quantizeRef(input, params(node.id)));
      continue;
    }
    const inputs = node.inputs.map((id) => codes.get(id) as Uint8Array);
    if (fusedRelus.has(node.id) || node.op === "flatten" || node.op === "dropout" || node.op === "softmax") {
      codes.set(node.id, inputs[0]);
      continue;
    }
    const relu = fused.get(node.id)?.op;
    const out = params(node.id);
    const bounds = activationBounds(relu === "relu" || relu === "relu6" ? relu : "none", out.scale, out.zeroPoint, 0, 255);
    const context: NodeContext = { inputIds: node.inputs, inputs, inShapes: node.inputs.map((id) => shapes.get(id) as number[]), batch, params, bounds };
    codes.set(node.id, runNode(model, node, context));
  }
  const outputs = graph.outputs.map((id) => {
    const node = graph.nodes.find((n) => n.id === id) as GraphNode;
    const source = node.op === "softmax" ? node.inputs[0] : id;
    return dequantizeRef(codes.get(source) as Uint8Array, params(source));
  });
  return { outputs, codes };
}

function runNode(model: CompressedModel, node: GraphNode, context: NodeContext): Uint8Array {
  const out = context.params(node.id);
  switch (node.op) {
    case "conv2d":
    case "dense":
    case "depthwiseConv2d":
      return convRef(model, node, context);
    case "maxPool":
      return maxPoolRef(context.inputs[0], poolGeometry(node, context));
    case "avgPool":
      return avgPoolRef(context.inputs[0], poolGeometry(node, context), context.params(node.inputs[0]), out);
    case "globalAvgPool":
      return avgPoolRef(context.inputs[0], poolGeometry({ op: "globalAvgPool" }, context), context.params(node.inputs[0]), out);
    case "add":
      return addRef(node.id, context, out);
    case "relu":
    case "relu6": {
      const from = context.params(node.inputs[0]);
      const bounds = activationBounds(node.op, out.scale, out.zeroPoint, 0, 255);
      return Uint8Array.from(context.inputs[0], (v) => rescale(v, from, out, bounds));
    }
    case "concatenate":
      return concatenateRef(node.inputs.map(context.params), out, context);
    case "zeroPad2d":
      return zeroPadRef(context.inputs[0], context.inShapes[0], context.batch, node.padding, context.params(node.inputs[0]).zeroPoint);
    default:
      throw new Error(`runInt8Reference: op '${node.op}' of node '${node.id}' is not an integer-model op`);
  }
}

/** round half to even of the f32 quotient, plus the zero point, clamped: quantize(). */
function quantizeRef(x: Float32Array, p: ActivationParams): Uint8Array {
  return Uint8Array.from(x, (v) => {
    const q = roundHalfEven(Math.fround(v / p.scale)) + p.zeroPoint;
    return Number.isNaN(q) ? 0 : Math.min(255, Math.max(0, q));
  });
}

const dequantizeRef = (q: Uint8Array, p: ActivationParams): Float32Array => Float32Array.from(q, (v) => Math.fround((v - p.zeroPoint) * p.scale));

/** clamp(zp + M·acc) with M in fixed point, as every requantizing op ends. */
function requantizeOne(acc: number, real: number, zeroPoint: number, bounds: { min: number; max: number }): number {
  const { multiplier, shift } = quantizeMultiplier(real);
  return Math.min(bounds.max, Math.max(bounds.min, zeroPoint + multiplyByQuantizedMultiplierRef(acc | 0, multiplier, shift)));
}

/** A byte on one scale mapped to another (standalone relu, concatenation). */
const rescale = (v: number, from: ActivationParams, to: ActivationParams, bounds: { min: number; max: number }): number =>
  requantizeOne(v - from.zeroPoint, from.scale / to.scale, to.zeroPoint, bounds);

/** conv2d, dense (a 1×1 conv of [batch, 1, 1, in]) and depthwise: Σ (x - zp)·q + bias32, requantized per channel. */
function convRef(model: CompressedModel, node: Conv2DNode | DenseNode | DepthwiseConv2DNode, context: NodeContext): Uint8Array {
  const x = context.inputs[0];
  const inShape = context.inShapes[0];
  const g = node.op === "dense"
    ? convGeometry([context.batch, 1, 1, inShape[inShape.length - 1]], 1, { padding: "valid" })
    : convGeometry([context.batch, ...inShape], node.kernelSize, { strides: node.strides, dilations: node.dilation, padding: node.padding });
  const depthwise = node.op === "depthwiseConv2d";
  const multiplier = depthwise ? node.depthMultiplier : 1;
  const channels = node.op === "dense" ? node.units : depthwise ? g.inChannels * multiplier : node.filters;
  const weight = depthwise ? node.weights.depthwiseKernel.values : node.weights.kernel.values;
  const scales = weightQuantizationOf(model, node).scales;
  const q = Int8Array.from(weight, (w, i) => Math.round(w / scales[i % channels]));
  const inP = context.params(node.inputs[0]);
  const out = context.params(node.id);
  const bias = node.weights.bias?.values;
  const result = new Uint8Array(g.rows * channels);
  forEachOutput(g, (n, oy, ox, p) => {
    for (let o = 0; o < channels; o++) {
      const scale = inP.scale * scales[o];
      let acc = bias === undefined ? 0 : Math.round(bias[o] / scale);
      forEachTap(g, n, oy, ox, (pixel, tap) => {
        if (depthwise) {
          acc += (x[pixel * g.inChannels + Math.floor(o / multiplier)] - inP.zeroPoint) * q[tap * channels + o];
        } else {
          for (let c = 0; c < g.inChannels; c++) acc += (x[pixel * g.inChannels + c] - inP.zeroPoint) * q[(tap * g.inChannels + c) * channels + o];
        }
      });
      result[p * channels + o] = requantizeOne(acc, scale / out.scale, out.zeroPoint, context.bounds);
    }
  });
  return result;
}

function forEachOutput(g: ConvGeometry, visit: (n: number, oy: number, ox: number, p: number) => void): void {
  for (let n = 0; n < g.batch; n++) {
    for (let oy = 0; oy < g.outHeight; oy++) {
      for (let ox = 0; ox < g.outWidth; ox++) visit(n, oy, ox, (n * g.outHeight + oy) * g.outWidth + ox);
    }
  }
}

/** The window's taps inside the input: the input pixel's flat index (without channels) and the tap's (ky·kw + kx). */
function forEachTap(g: ConvGeometry, n: number, oy: number, ox: number, visit: (pixel: number, tap: number) => void): void {
  for (let ky = 0; ky < g.kernelHeight; ky++) {
    const iy = oy * g.strideHeight - g.padTop + ky * g.dilationHeight;
    if (iy < 0 || iy >= g.inHeight) continue;
    for (let kx = 0; kx < g.kernelWidth; kx++) {
      const ix = ox * g.strideWidth - g.padLeft + kx * g.dilationWidth;
      if (ix >= 0 && ix < g.inWidth) visit((n * g.inHeight + iy) * g.inWidth + ix, ky * g.kernelWidth + kx);
    }
  }
}

function poolGeometry(node: PoolNode | { op: "globalAvgPool" }, context: NodeContext): ConvGeometry {
  const [height, width, channels] = context.inShapes[0];
  return node.op === "globalAvgPool"
    ? convGeometry([context.batch, height, width, channels], [height, width], { padding: "valid" })
    : convGeometry([context.batch, height, width, channels], node.poolSize, { strides: node.strides, padding: node.padding });
}

/** Max over the taps inside the input, on bytes: max pooling keeps its input's scale. */
function maxPoolRef(x: Uint8Array, g: ConvGeometry): Uint8Array {
  const C = g.inChannels;
  const out = new Uint8Array(g.rows * C);
  forEachOutput(g, (n, oy, ox, p) => {
    forEachTap(g, n, oy, ox, (pixel) => {
      for (let c = 0; c < C; c++) out[p * C + c] = Math.max(out[p * C + c], x[pixel * C + c]);
    });
  });
  return out;
}

/** Mean of (x - zp) over the taps inside, rounded half away from zero, then requantized to the output. */
function avgPoolRef(x: Uint8Array, g: ConvGeometry, inP: ActivationParams, out: ActivationParams): Uint8Array {
  const C = g.inChannels;
  const result = new Uint8Array(g.rows * C);
  for (let c = 0; c < C; c++) {
    forEachOutput(g, (n, oy, ox, p) => {
      let [sum, count] = [0, 0];
      forEachTap(g, n, oy, ox, (pixel) => {
        sum += x[pixel * C + c] - inP.zeroPoint;
        count++;
      });
      const mean = count === 0 ? 0 : Math.sign(sum) * Math.floor((Math.abs(sum) + (count >> 1)) / count);
      result[p * C + c] = requantizeOne(mean, inP.scale / out.scale, out.zeroPoint, { min: 0, max: 255 });
    });
  }
  return result;
}

/** kA·(a - zpA) + kB·(b - zpB), both on one fixed-point scale, requantized to the output's. */
function addRef(id: string, context: NodeContext, out: ActivationParams): Uint8Array {
  if (context.inputs.length !== 2) throw new Error(`runInt8Reference: add '${id}' has ${context.inputs.length} inputs; the integer add takes 2`);
  const [a, b] = context.inputs;
  const [pa, pb] = [0, 1].map((i) => context.params(context.inputIds[i]));
  const { kA, kB, realMultiplier } = addRescaleFactors(pa.scale, pb.scale, out.scale);
  return Uint8Array.from(a, (v, i) => requantizeOne(kA * (v - pa.zeroPoint) + kB * (b[i] - pb.zeroPoint), realMultiplier, out.zeroPoint, context.bounds));
}

/** Each input's bytes mapped to the output's scale, side by side along channels. */
function concatenateRef(inParams: ActivationParams[], out: ActivationParams, context: NodeContext): Uint8Array {
  const channels = context.inShapes.map((shape) => shape[shape.length - 1]);
  const total = channels.reduce((s, c) => s + c, 0);
  const pixels = context.inputs[0].length / channels[0];
  const result = new Uint8Array(pixels * total);
  let offset = 0;
  context.inputs.forEach((x, i) => {
    for (let p = 0; p < pixels; p++) {
      for (let c = 0; c < channels[i]; c++) result[p * total + offset + c] = rescale(x[p * channels[i] + c], inParams[i], out, { min: 0, max: 255 });
    }
    offset += channels[i];
  });
  return result;
}

/** Padding with the zero point: the byte of real 0. */
function zeroPadRef(x: Uint8Array, inShape: number[], batch: number, padding: [number, number, number, number], zeroPoint: number): Uint8Array {
  const [height, width, channels] = inShape;
  const [top, bottom, left, right] = padding;
  const [outHeight, outWidth] = [height + top + bottom, width + left + right];
  const out = new Uint8Array(batch * outHeight * outWidth * channels).fill(zeroPoint);
  for (let n = 0; n < batch; n++) {
    for (let y = 0; y < height; y++) {
      const from = ((n * height + y) * width) * channels;
      out.set(x.subarray(from, from + width * channels), ((n * outHeight + y + top) * outWidth + left) * channels);
    }
  }
  return out;
}
