// The engine's fp32 steps over the core's kernels: each packs its weights into the engine's
// memory when it is made (the model's load), and binds the same kernel operations tfjs's
// `pocketflow` backend runs to fixed pointers once per batch size.
import { conv2dForwardOp, forwardFilterLength, prepareForwardFilter, type Activation } from "../kernels/conv2d.js";
import { convGeometry, type ConvGeometry, type Padding } from "../kernels/conv-geometry.js";
import type { KernelCore } from "../kernels/core.js";
import { depthwiseConv2dOp } from "../kernels/depthwise.js";
import { binaryOp, unaryOp } from "../kernels/elementwise.js";
import { avgPool2dOp, maxPool2dOp } from "../kernels/pooling.js";
import { batchNormFactors, batchNormOp } from "../kernels/batchnorm-inference.js";
import type { BatchNormNode, Conv2DNode, DenseNode, DepthwiseConv2DNode, PoolNode } from "../graph/ir.js";
import { bindOperation, type EngineStep, type Runnable } from "./engine-step.js";

/** relu or relu6 applied as the step stores its output. */
export type FusedRelu = "relu" | "relu6" | undefined;

const F32 = 4;
const view = (core: KernelCore, pointer: number, length: number): Float32Array => new Float32Array(core.buffer, pointer, length);

/** The convolution's geometry at this batch; zeroPad2d folded in as explicit padding when given. */
function geometryOf(node: Conv2DNode | DepthwiseConv2DNode, inShape: readonly number[], batch: number, padding?: Padding): ConvGeometry {
  return convGeometry([batch, ...inShape], node.kernelSize, { strides: node.strides, dilations: node.dilation, padding: padding ?? node.padding });
}

/** The bias in the engine's memory, zeros when the layer has none (the epilogue adds it for free). */
function residentBias(core: KernelCore, values: Float32Array | undefined, channels: number): Float32Array {
  return values === undefined ? core.alloc(Float32Array, channels) : core.allocCopy(values);
}

/**
 * conv2d, or a dense layer as the 1×1 convolution of [batch, 1, 1, in] (the same matrix product,
 * with its bias and clip fused into the store). The filter is packed (or Winograd-transformed)
 * here, once: it does not depend on the batch.
 */
export function convStep(
  core: KernelCore, node: Conv2DNode | DenseNode, input: string, inShape: readonly number[], activation: FusedRelu, padding?: Padding,
): EngineStep {
  const spatialShape = node.op === "dense" ? [1, 1, inShape[inShape.length - 1]] : inShape;
  const geometry = (batch: number): ConvGeometry => node.op === "dense"
    ? convGeometry([batch, ...spatialShape], 1, { padding: "valid" })
    : geometryOf(node, spatialShape, batch, padding);
  const filters = node.op === "dense" ? node.units : node.filters;
  const kernel = core.allocCopy(node.weights.kernel.values);
  const bias = residentBias(core, node.weights.bias?.values, filters);
  const single = geometry(1);
  const prepared = core.alloc(Float32Array, forwardFilterLength(single, filters));
  prepareForwardFilter(core, kernel, single, filters, prepared);
  const epilogueActivation: Activation = activation ?? "linear";
  return {
    output: node.id, inputs: [input], outputBytesPerExample: single.outHeight * single.outWidth * filters * F32,
    bind(batch, pointers): Runnable[] {
      const g = geometry(batch);
      const x = view(core, pointers.inputs[0], batch * single.inHeight * single.inWidth * single.inChannels);
      const out = view(core, pointers.output, g.rows * filters);
      return bindOperation(core, conv2dForwardOp(x, kernel, g, filters, { bias, activation: epilogueActivation }, out, {}, prepared));
    },
  };
}

/** Depthwise convolution with its bias and relu/relu6 fused (the kernel applies both). */
export function depthwiseStep(
  core: KernelCore, node: DepthwiseConv2DNode, input: string, inShape: readonly number[], activation: FusedRelu, padding?: Padding,
): EngineStep {
  const channels = inShape[2] * node.depthMultiplier;
  const filter = core.allocCopy(node.weights.depthwiseKernel.values);
  const bias = residentBias(core, node.weights.bias?.values, channels);
  const single = geometryOf(node, inShape, 1, padding);
  return {
    output: node.id, inputs: [input], outputBytesPerExample: single.outHeight * single.outWidth * channels * F32,
    bind(batch, pointers): Runnable[] {
      const g = geometryOf(node, inShape, batch, padding);
      const x = view(core, pointers.inputs[0], batch * g.inHeight * g.inWidth * g.inChannels);
      const out = view(core, pointers.output, g.rows * channels);
      return bindOperation(core, depthwiseConv2dOp(x, filter, g, node.depthMultiplier, { bias, activation: activation ?? "linear" }, out));
    },
  };
}

/** Max or average pooling; a global average pool is an average pool over the whole image. */
export function poolStep(core: KernelCore, node: PoolNode | { op: "globalAvgPool"; id: string }, input: string, inShape: readonly number[]): EngineStep {
  const [height, width, channels] = inShape;
  const geometry = (batch: number): ConvGeometry => node.op === "globalAvgPool"
    ? convGeometry([batch, height, width, channels], [height, width], { padding: "valid" })
    : convGeometry([batch, height, width, channels], node.poolSize, { strides: node.strides, padding: node.padding });
  const single = geometry(1);
  const build = node.op === "maxPool" ? maxPool2dOp : avgPool2dOp;
  return {
    output: node.id, inputs: [input], outputBytesPerExample: single.rows * channels * F32,
    bind(batch, pointers): Runnable[] {
      const g = geometry(batch);
      return bindOperation(core, build(view(core, pointers.inputs[0], batch * height * width * channels), g, view(core, pointers.output, g.rows * channels)));
    },
  };
}

/** out = Σ inputs (a residual add of two or more), then relu/relu6 if fused, in place. */
export function addStep(core: KernelCore, id: string, inputs: readonly string[], elements: number, activation: FusedRelu): EngineStep {
  return {
    output: id, inputs, outputBytesPerExample: elements * F32,
    bind(batch, pointers): Runnable[] {
      const n = batch * elements;
      const out = view(core, pointers.output, n);
      const calls = bindOperation(core, binaryOp("add", view(core, pointers.inputs[0], n), view(core, pointers.inputs[1], n), out));
      for (const pointer of pointers.inputs.slice(2)) calls.push(...bindOperation(core, binaryOp("add", out, view(core, pointer, n), out)));
      if (activation !== undefined) calls.push(...bindOperation(core, unaryOp(activation, out, 0, out)));
      return calls;
    },
  };
}

/** A standalone relu or relu6 (one no conv, dense or add before it could take). */
export function reluStep(core: KernelCore, id: string, input: string, elements: number, activation: "relu" | "relu6"): EngineStep {
  return {
    output: id, inputs: [input], outputBytesPerExample: elements * F32,
    bind: (batch, pointers) => bindOperation(core, unaryOp(activation, view(core, pointers.inputs[0], batch * elements), 0, view(core, pointers.output, batch * elements))),
  };
}

/** A batch norm no layer before it could absorb (pre-activation nets), with relu/relu6 fused. */
export function batchNormStep(core: KernelCore, node: BatchNormNode, input: string, inShape: readonly number[], activation: FusedRelu): EngineStep {
  const channels = inShape[inShape.length - 1];
  const elements = inShape.reduce((a, b) => a * b, 1);
  const { gamma, beta, movingMean, movingVariance } = node.weights;
  const factors = core.allocCopy(batchNormFactors(channels, {
    mean: movingMean.values, variance: movingVariance.values, scale: gamma?.values, offset: beta?.values, varianceEpsilon: node.epsilon,
  }));
  return {
    output: node.id, inputs: [input], outputBytesPerExample: elements * F32,
    bind: (batch, pointers) =>
      bindOperation(core, batchNormOp(view(core, pointers.inputs[0], batch * elements), channels, factors, view(core, pointers.output, batch * elements), activation)),
  };
}
