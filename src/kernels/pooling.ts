// 2-D max and average pooling over NHWC tensors and their gradients on the SIMD kernels. A
// pool's geometry is a ConvGeometry (kernel = window, dilation 1, inChannels = the channels
// pooled). Splits over the pool: the forward kernels and the average gradient (a gather) by
// rows, the max gradient (a scatter into overlapping windows) by image.
import { checkSize, fail } from "../util/check.js";
import { inputSize, type ConvGeometry } from "./conv-geometry.js";
import { kernels } from "./core.js";
import { splitCount } from "../util/ranges.js";
import { checkGeometry } from "./im2col.js";
import { runInline, type KernelCall, type OperationBuilder } from "./operation.js";

// Rough single-thread costs that decide when splitting pays.
const NS_PER_TAP = 0.15;
const NS_PER_ELEMENT = 0.5;

function checkPoolGeometry(where: string, g: ConvGeometry): void {
  checkGeometry(where, g);
  if (g.dilationHeight !== 1 || g.dilationWidth !== 1) {
    fail(where, `pooling supports dilation 1 only, but got [${g.dilationHeight}, ${g.dilationWidth}]`);
  }
}


const inShape = (g: ConvGeometry): number[] => [g.batch, g.inHeight, g.inWidth, g.inChannels];
const outShape = (g: ConvGeometry): number[] => [g.batch, g.outHeight, g.outWidth, g.inChannels];
const outSize = (g: ConvGeometry): number => g.rows * g.inChannels;

/** Kernel geometry arguments, after the data pointers. */
const geometryArgs = (g: ConvGeometry): number[] => [
  g.inHeight, g.inWidth, g.inChannels, g.kernelHeight, g.kernelWidth, g.strideHeight, g.strideWidth,
  g.padTop, g.padLeft, g.outHeight, g.outWidth,
];

const taps = (g: ConvGeometry): number => outSize(g) * g.kernelHeight * g.kernelWidth;

/** Max (pool_max_f32_nhwc) or average (pool_avg_f32_nhwc) pooling of x [N, H, W, C]: out [N, OH, OW, C]. */
function poolOp(where: string, fn: string, x: Float32Array, g: ConvGeometry, out?: Float32Array): OperationBuilder<Float32Array> {
  checkPoolGeometry(where, g);
  checkSize(where, "x", x, inShape(g));
  checkSize(where, "out", out, outShape(g));
  const target = out ?? new Float32Array(outSize(g));
  return (core, parts) => {
    const staging = core.staging();
    const px = staging.input(x);
    const pout = staging.output(target);
    const calls = splitCount(g.batch * g.outHeight, parts).map(([r0, r1]): KernelCall => [fn, [px, ...geometryArgs(g), r0, r1, pout]]);
    return {
      phases: [calls],
      costNs: taps(g) * NS_PER_TAP,
      finish() {
        staging.copyBack(pout, target);
        return target;
      },
      release: () => staging.release(),
    };
  };
}

/**
 * Max pooling: out[n, oy, ox, c] = the largest x[n, iy, ix, c] over the window's taps inside
 * the input (NaN is never taken; -Infinity for a window with nothing larger), as tfjs computes it.
 */
export const maxPool2dOp = (x: Float32Array, g: ConvGeometry, out?: Float32Array): OperationBuilder<Float32Array> =>
  poolOp("maxPool2d", "pool_max_f32_nhwc", x, g, out);

/** Average pooling over the window's taps inside the input (padding does not count). */
export const avgPool2dOp = (x: Float32Array, g: ConvGeometry, out?: Float32Array): OperationBuilder<Float32Array> =>
  poolOp("avgPool2d", "pool_avg_f32_nhwc", x, g, out);

/**
 * Gradient of max pooling with respect to x: each dy goes to the first position (row-major in
 * the window) of its window's maximum, as tfjs's cpu backend routes it; overlapping windows add up.
 */
export function maxPool2dGradOp(x: Float32Array, dy: Float32Array, g: ConvGeometry, out?: Float32Array): OperationBuilder<Float32Array> {
  const where = "maxPool2dGrad";
  checkPoolGeometry(where, g);
  checkSize(where, "x", x, inShape(g));
  checkSize(where, "dy", dy, outShape(g));
  checkSize(where, "out", out, inShape(g));
  const target = out ?? new Float32Array(inputSize(g));
  return (core, parts) => {
    const staging = core.staging();
    const px = staging.input(x);
    const pdy = staging.input(dy);
    const pout = staging.output(target);
    const calls = splitCount(g.batch, parts).map(([n0, n1]): KernelCall => [
      "pool_max_grad_f32_nhwc", [px, pdy, ...geometryArgs(g), n0, n1, pout],
    ]);
    return {
      phases: [calls],
      costNs: 2 * taps(g) * NS_PER_TAP + inputSize(g) * NS_PER_ELEMENT * 0.2,
      finish() {
        staging.copyBack(pout, target);
        return target;
      },
      release: () => staging.release(),
    };
  };
}

/**
 * Gradient of average pooling with respect to x: dx[n, iy, ix, c] = scale * the sum of dy over
 * the windows holding (iy, ix). scale defaults to 1 / (kh*kw), as tfjs's cpu backend uses for
 * every window (also for windows cut by the padding, whose forward divides by fewer taps).
 */
export function avgPool2dGradOp(dy: Float32Array, g: ConvGeometry, scale?: number, out?: Float32Array): OperationBuilder<Float32Array> {
  const where = "avgPool2dGrad";
  checkPoolGeometry(where, g);
  checkSize(where, "dy", dy, outShape(g));
  checkSize(where, "out", out, inShape(g));
  const factor = scale ?? 1 / (g.kernelHeight * g.kernelWidth);
  if (!Number.isFinite(factor)) fail(where, `scale must be finite, but got ${factor}`);
  const target = out ?? new Float32Array(inputSize(g));
  return (core, parts) => {
    const staging = core.staging();
    const pdy = staging.input(dy);
    const pout = staging.output(target);
    const calls = splitCount(g.batch * g.inHeight, parts).map(([r0, r1]): KernelCall => [
      "pool_avg_grad_f32_nhwc", [pdy, ...geometryArgs(g), r0, r1, factor, pout],
    ]);
    return {
      phases: [calls],
      costNs: taps(g) * NS_PER_TAP,
      finish() {
        staging.copyBack(pout, target);
        return target;
      },
      release: () => staging.release(),
    };
  };
}

/** Max pooling, on this thread. */
export const maxPool2d = (x: Float32Array, g: ConvGeometry, out?: Float32Array): Float32Array => runInline(kernels(), maxPool2dOp(x, g, out));

/** Average pooling, on this thread. */
export const avgPool2d = (x: Float32Array, g: ConvGeometry, out?: Float32Array): Float32Array => runInline(kernels(), avgPool2dOp(x, g, out));

/** Input gradient of max pooling, on this thread. */
export const maxPool2dGrad = (x: Float32Array, dy: Float32Array, g: ConvGeometry, out?: Float32Array): Float32Array =>
  runInline(kernels(), maxPool2dGradOp(x, dy, g, out));

/** Input gradient of average pooling, on this thread. */
export const avgPool2dGrad = (dy: Float32Array, g: ConvGeometry, scale?: number, out?: Float32Array): Float32Array =>
  runInline(kernels(), avgPool2dGradOp(dy, g, scale, out));
