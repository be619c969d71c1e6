// Output size and padding of a 2-D convolution over an NHWC input, exactly as TensorFlow and
// tfjs compute them, so that im2col, the GEMM and later conv code agree with tfjs shapes:
//   effective kernel  ek = (k - 1) * d + 1
//   'valid'           out = ceil((in - ek + 1) / s), no padding (an error when in < ek)
//   'same'            out = ceil(in / s), total = max((out - 1) * s + ek - in, 0),
//                     before = floor(total / 2), after = total - before
//   explicit          [top, bottom, left, right]: out = floor((in + before + after - ek) / s) + 1
import { checkInteger, fail } from "../util/check.js";

/** 'same', 'valid', or explicit [top, bottom, left, right] padding in input pixels. */
export type Padding = "same" | "valid" | readonly [top: number, bottom: number, left: number, right: number];

export interface ConvOptions {
  /** Stride along height and width (one number for both). Default 1. */
  strides?: number | readonly [number, number];
  /** Dilation along height and width (one number for both). Default 1. */
  dilations?: number | readonly [number, number];
  padding: Padding;
}

/** Everything the im2col/col2im kernels need about one convolution. */
export interface ConvGeometry {
  readonly batch: number;
  readonly inHeight: number;
  readonly inWidth: number;
  readonly inChannels: number;
  readonly kernelHeight: number;
  readonly kernelWidth: number;
  readonly strideHeight: number;
  readonly strideWidth: number;
  readonly dilationHeight: number;
  readonly dilationWidth: number;
  readonly padTop: number;
  readonly padBottom: number;
  readonly padLeft: number;
  readonly padRight: number;
  readonly outHeight: number;
  readonly outWidth: number;
  /** Rows of the im2col matrix: batch * outHeight * outWidth (one per output pixel). */
  readonly rows: number;
  /** Columns of the im2col matrix: kernelHeight * kernelWidth * inChannels, in (ky, kx, c) order. */
  readonly patchSize: number;
}

const WHERE = "convGeometry";
/** Kernel arguments are i32: every extent must stay below 2^31. */
const MAX_EXTENT = 2 ** 31 - 1;

function pair(name: string, value: number | readonly [number, number] | undefined): [number, number] {
  const [a, b] = value === undefined ? [1, 1] : typeof value === "number" ? [value, value] : value;
  if (typeof value === "object" && value.length !== 2) {
    fail(WHERE, `${name} must be a number or [height, width], but got [${value.join(", ")}]`);
  }
  checkInteger(WHERE, `${name}[0] (height)`, a, 1, MAX_EXTENT);
  checkInteger(WHERE, `${name}[1] (width)`, b, 1, MAX_EXTENT);
  return [a, b];
}

interface AxisGeometry {
  out: number;
  before: number;
  after: number;
}

function axis(name: string, size: number, kernel: number, stride: number, dilation: number, padding: Padding, explicit: [number, number]): AxisGeometry {
  const effective = (kernel - 1) * dilation + 1;
  if (padding === "same") {
    const out = Math.ceil(size / stride);
    const total = Math.max((out - 1) * stride + effective - size, 0);
    const before = Math.floor(total / 2);
    return { out, before, after: total - before };
  }
  const [before, after] = padding === "valid" ? [0, 0] : explicit;
  const padded = size + before + after;
  if (padded < effective) {
    const dilated = dilation > 1 ? ` (kernel ${kernel} dilated by ${dilation})` : "";
    fail(WHERE, `the effective kernel ${name} ${effective}${dilated} is larger than the padded input ${name} ${padded}; ` +
      "use a smaller kernel or dilation, more padding, or padding 'same'");
  }
  return { out: Math.floor((padded - effective) / stride) + 1, before, after };
}

function explicitPadding(padding: Padding): [[number, number], [number, number]] {
  if (typeof padding === "string") {
    if (padding !== "same" && padding !== "valid") {
      fail(WHERE, `padding must be 'same', 'valid' or [top, bottom, left, right], but got '${padding as string}'`);
    }
    return [[0, 0], [0, 0]];
  }
  if (!Array.isArray(padding) || padding.length !== 4) {
    fail(WHERE, `explicit padding must be [top, bottom, left, right], but got ${JSON.stringify(padding)}`);
  }
  ["top", "bottom", "left", "right"].forEach((side, i) => checkInteger(WHERE, `padding ${side}`, padding[i], 0, MAX_EXTENT));
  return [[padding[0], padding[1]], [padding[2], padding[3]]];
}

/**
 * Geometry of a convolution of an NHWC input [batch, height, width, channels] with a
 * kernelSize = [kh, kw] (or one number) filter, as tf.conv2d computes it.
 */
export function convGeometry(inputShape: readonly number[], kernelSize: number | readonly [number, number], options: ConvOptions): ConvGeometry {
  if (!Array.isArray(inputShape) || inputShape.length !== 4) {
    fail(WHERE, `input must be rank 4 [batch, height, width, channels] (NHWC), but got shape [${inputShape}]`);
  }
  ["batch", "height", "width", "channels"].forEach((dim, i) => checkInteger(WHERE, `input ${dim}`, inputShape[i], 0, MAX_EXTENT));
  const [kernelHeight, kernelWidth] = pair("kernelSize", kernelSize);
  const [strideHeight, strideWidth] = pair("strides", options.strides);
  const [dilationHeight, dilationWidth] = pair("dilations", options.dilations);
  const [padH, padW] = explicitPadding(options.padding);
  const [batch, inHeight, inWidth, inChannels] = inputShape;
  const h = axis("height", inHeight, kernelHeight, strideHeight, dilationHeight, options.padding, padH);
  const w = axis("width", inWidth, kernelWidth, strideWidth, dilationWidth, options.padding, padW);
  const rows = batch * h.out * w.out;
  const patchSize = kernelHeight * kernelWidth * inChannels;
  if (rows * patchSize > Number.MAX_SAFE_INTEGER || patchSize > MAX_EXTENT || h.out * w.out > MAX_EXTENT) {
    fail(WHERE, `the im2col matrix [${rows}, ${patchSize}] is too large; split the batch`);
  }
  return {
    batch, inHeight, inWidth, inChannels,
    kernelHeight, kernelWidth, strideHeight, strideWidth, dilationHeight, dilationWidth,
    padTop: h.before, padBottom: h.after, padLeft: w.before, padRight: w.after,
    outHeight: h.out, outWidth: w.out, rows, patchSize,
  };
}

/** Elements of the NHWC input the geometry was made for. */
export const inputSize = (g: ConvGeometry): number => g.batch * g.inHeight * g.inWidth * g.inChannels;

/** The NHWC output shape of the convolution with `outChannels` filters. */
export const outputShape = (g: ConvGeometry, outChannels: number): [number, number, number, number] =>
  [g.batch, g.outHeight, g.outWidth, outChannels];
