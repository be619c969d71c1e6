// Depthwise 2-D convolution over NHWC tensors on the SIMD kernels: forward (with a fused bias
// and relu/relu6), the input gradient and the filter gradient. The filter is tfjs's
// [kh, kw, C, multiplier]; output channel c*multiplier + m comes from input channel c.
// The wasm kernels work with multiplier 1; a multiplier M > 1 runs them over C*M channels
// after repeating each input channel M times (forward, filter gradient), and sums the M
// channels of the input gradient back. Splits over the pool: forward by output rows, input
// gradient by input rows, filter gradient by channel blocks or, when channels are few, by
// image with a phase that sums the per-image-range partial gradients.
import { checkInteger, fail } from "../util/check.js";
import { inputSize, type ConvGeometry } from "./conv-geometry.js";
import { kernels, type Staging } from "./core.js";
import { splitCount } from "../util/ranges.js";
import { checkGeometry } from "./im2col.js";
import { runInline, type KernelCall, type OperationBuilder } from "./operation.js";

/** The activations the forward kernel fuses. */
export type DepthwiseActivation = "linear" | "relu" | "relu6";

// Rough single-thread costs (measured: ~1.2 ms for 4.7M MACs of a 3×3 layer) that decide when splitting pays.
const NS_PER_MAC = 0.25;
const NS_PER_ELEMENT_COPY = 0.3;

const ACTIVATION_CODES: Record<DepthwiseActivation, number> = { linear: 0, relu: 1, relu6: 2 };
const MAX_I32 = 2 ** 31 - 1;

export interface DepthwiseConv2dOptions {
  /** C*multiplier values added to every output pixel. */
  bias?: Float32Array;
  /** Applied after the bias (default linear). */
  activation?: DepthwiseActivation;
}

/** Channels the kernels run over: C * multiplier. */
function checkMultiplier(where: string, g: ConvGeometry, multiplier: number): number {
  checkGeometry(where, g);
  checkInteger(where, "multiplier", multiplier, 1, MAX_I32);
  const channels = g.inChannels * multiplier;
  if (channels > MAX_I32) fail(where, `inChannels * multiplier must fit 32 bits, but is ${g.inChannels} * ${multiplier} = ${channels}`);
  return channels;
}

function checkLength(where: string, name: string, array: { length: number } | undefined, shape: number[]): void {
  const expected = shape.reduce((p, d) => p * d, 1);
  if (array && array.length !== expected) fail(where, `${name} must hold [${shape.join(", ")}] (${expected} elements), but has ${array.length}`);
}

const inputShape = (g: ConvGeometry): number[] => [g.batch, g.inHeight, g.inWidth, g.inChannels];
const filterShape = (g: ConvGeometry, multiplier: number): number[] => [g.kernelHeight, g.kernelWidth, g.inChannels, multiplier];
const outputShape = (g: ConvGeometry, multiplier: number): number[] => [g.batch, g.outHeight, g.outWidth, g.inChannels * multiplier];

/** Kernel geometry arguments over `channels` channels, after the data pointers. */
const geometryArgs = (g: ConvGeometry, channels: number): number[] => [
  g.inHeight, g.inWidth, channels, g.kernelHeight, g.kernelWidth, g.strideHeight, g.strideWidth,
  g.dilationHeight, g.dilationWidth, g.padTop, g.padLeft, g.outHeight, g.outWidth,
];

const macs = (g: ConvGeometry, channels: number): number => g.rows * g.kernelHeight * g.kernelWidth * channels;

/**
 * Pointer to the input repeated `multiplier` times along channels (x itself for multiplier 1),
 * and the calls that build it.
 */
function expanded(staging: Staging, px: number, g: ConvGeometry, multiplier: number, parts: number): [number, KernelCall[]] {
  if (multiplier === 1) return [px, []];
  const pixels = g.batch * g.inHeight * g.inWidth;
  const pe = staging.scratch(inputSize(g) * multiplier * 4);
  const calls = splitCount(pixels, parts).map(([p0, p1]): KernelCall => ["depthwise_expand_channels_f32", [px, g.inChannels, multiplier, p0, p1, pe]]);
  return [pe, calls];
}

/**
 * Depthwise convolution of an NHWC input x [N, H, W, C] with filter [kh, kw, C, multiplier]:
 * out [N, OH, OW, C*multiplier], plus options.bias, through options.activation.
 */
export function depthwiseConv2dOp(
  x: Float32Array, filter: Float32Array, g: ConvGeometry, multiplier: number, options: DepthwiseConv2dOptions = {}, out?: Float32Array,
): OperationBuilder<Float32Array> {
  const where = "depthwiseConv2d";
  const channels = checkMultiplier(where, g, multiplier);
  checkLength(where, "x", x, inputShape(g));
  checkLength(where, "filter", filter, filterShape(g, multiplier));
  checkLength(where, "bias", options.bias, [channels]);
  checkLength(where, "out", out, outputShape(g, multiplier));
  const activation = options.activation ?? "linear";
  if (!Object.hasOwn(ACTIVATION_CODES, activation)) fail(where, `activation must be 'linear', 'relu' or 'relu6', but got '${activation}'`);
  const target = out ?? new Float32Array(g.rows * channels);
  return (core, parts) => {
    const staging = core.staging();
    const px = staging.input(x);
    const pf = staging.input(filter);
    const pb = options.bias ? staging.input(options.bias) : 0;
    const pout = staging.output(target);
    const [pe, expand] = expanded(staging, px, g, multiplier, parts);
    const forward = splitCount(g.batch * g.outHeight, parts).map(([r0, r1]): KernelCall => [
      "depthwise_conv_f32_nhwc", [pe, pf, pb, ...geometryArgs(g, channels), r0, r1, ACTIVATION_CODES[activation], pout],
    ]);
    return {
      phases: multiplier === 1 ? [forward] : [expand, forward],
      costNs: macs(g, channels) * NS_PER_MAC + (multiplier === 1 ? 0 : inputSize(g) * multiplier * NS_PER_ELEMENT_COPY),
      finish() {
        staging.copyBack(pout, target);
        return target;
      },
      release: () => staging.release(),
    };
  };
}

/** Gradient of depthwiseConv2d (no bias, linear) with respect to x: dx [N, H, W, C] from dy [N, OH, OW, C*multiplier]. */
export function depthwiseConv2dInputGradOp(
  dy: Float32Array, filter: Float32Array, g: ConvGeometry, multiplier: number, out?: Float32Array,
): OperationBuilder<Float32Array> {
  const where = "depthwiseConv2dInputGrad";
  const channels = checkMultiplier(where, g, multiplier);
  checkLength(where, "dy", dy, outputShape(g, multiplier));
  checkLength(where, "filter", filter, filterShape(g, multiplier));
  checkLength(where, "out", out, inputShape(g));
  const target = out ?? new Float32Array(inputSize(g));
  return (core, parts) => {
    const staging = core.staging();
    const pdy = staging.input(dy);
    const pf = staging.input(filter);
    const pout = staging.output(target);
    // with a multiplier, the C*M-channel gradient goes to scratch and is summed into C channels
    const pwide = multiplier === 1 ? pout : staging.scratch(inputSize(g) * multiplier * 4);
    const gather = splitCount(g.batch * g.inHeight, parts).map(([r0, r1]): KernelCall => [
      "depthwise_conv_input_grad_f32_nhwc", [pdy, pf, ...geometryArgs(g, channels), r0, r1, pwide],
    ]);
    const pixels = g.batch * g.inHeight * g.inWidth;
    const reduce = splitCount(pixels, parts).map(([p0, p1]): KernelCall => [
      "depthwise_sum_multiplier_f32", [pwide, g.inChannels, multiplier, p0, p1, pout],
    ]);
    return {
      phases: multiplier === 1 ? [gather] : [gather, reduce],
      costNs: macs(g, channels) * NS_PER_MAC + (multiplier === 1 ? 0 : inputSize(g) * multiplier * NS_PER_ELEMENT_COPY),
      finish() {
        staging.copyBack(pout, target);
        return target;
      },
      release: () => staging.release(),
    };
  };
}

/** Channel ranges for the filter gradient: blocks of 16 channels, or of 4 when blocks of 16 are too few. */
function channelRanges(channels: number, parts: number): Array<[number, number]> {
  const unit = channels >= 16 * parts ? 16 : 4;
  return splitCount(Math.ceil(channels / unit), parts).map(([u0, u1]) => [u0 * unit, Math.min(u1 * unit, channels)]);
}

/**
 * Gradient of depthwiseConv2d (no bias, linear) with respect to the filter: [kh, kw, C, multiplier]
 * from x [N, H, W, C] and dy [N, OH, OW, C*multiplier], summed over the batch.
 */
export function depthwiseConv2dFilterGradOp(
  x: Float32Array, dy: Float32Array, g: ConvGeometry, multiplier: number, out?: Float32Array,
): OperationBuilder<Float32Array> {
  const where = "depthwiseConv2dFilterGrad";
  const channels = checkMultiplier(where, g, multiplier);
  checkLength(where, "x", x, inputShape(g));
  checkLength(where, "dy", dy, outputShape(g, multiplier));
  checkLength(where, "out", out, filterShape(g, multiplier));
  const length = g.kernelHeight * g.kernelWidth * channels;
  const target = out ?? new Float32Array(length);
  return (core, parts) => {
    const staging = core.staging();
    const px = staging.input(x);
    const pdy = staging.input(dy);
    const pout = staging.output(target);
    const [pe, expand] = expanded(staging, px, g, multiplier, parts);
    const call = (n0: number, n1: number, c0: number, c1: number, dst: number): KernelCall => [
      "depthwise_conv_filter_grad_f32_nhwc", [pe, pdy, ...geometryArgs(g, channels), n0, n1, c0, c1, dst],
    ];
    const phases: KernelCall[][] = multiplier === 1 ? [] : [expand];
    // few channels per part: split the images instead, each part summing into its own buffer
    const byImage = parts > 1 && g.batch > 1 && channels < 16 * parts;
    const imageRanges = byImage ? splitCount(g.batch, parts) : [];
    if (imageRanges.length > 1) {
      const partials = staging.scratch(imageRanges.length * length * 4);
      phases.push(imageRanges.map(([n0, n1], p) => call(n0, n1, 0, channels, partials + p * length * 4)));
      phases.push(splitCount(length, parts).map(([i0, i1]): KernelCall => [
        "depthwise_sum_partials_f32", [partials, imageRanges.length, length, i0, i1, pout],
      ]));
    } else {
      phases.push(channelRanges(channels, parts).map(([c0, c1]) => call(0, g.batch, c0, c1, pout)));
    }
    return {
      phases,
      costNs: macs(g, channels) * NS_PER_MAC + (multiplier === 1 ? 0 : inputSize(g) * multiplier * NS_PER_ELEMENT_COPY),
      finish() {
        staging.copyBack(pout, target);
        return target;
      },
      release: () => staging.release(),
    };
  };
}

/** Depthwise convolution (with optional bias and relu/relu6), on this thread. */
export const depthwiseConv2d = (
  x: Float32Array, filter: Float32Array, g: ConvGeometry, multiplier: number, options: DepthwiseConv2dOptions = {}, out?: Float32Array,
): Float32Array => runInline(kernels(), depthwiseConv2dOp(x, filter, g, multiplier, options, out));

/** Input gradient of a depthwise convolution, on this thread. */
export const depthwiseConv2dInputGrad = (dy: Float32Array, filter: Float32Array, g: ConvGeometry, multiplier: number, out?: Float32Array): Float32Array =>
  runInline(kernels(), depthwiseConv2dInputGradOp(dy, filter, g, multiplier, out));

/** Filter gradient of a depthwise convolution, on this thread. */
export const depthwiseConv2dFilterGrad = (x: Float32Array, dy: Float32Array, g: ConvGeometry, multiplier: number, out?: Float32Array): Float32Array =>
  runInline(kernels(), depthwiseConv2dFilterGradOp(x, dy, g, multiplier, out));
