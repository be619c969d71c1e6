// im2col / col2im façade over NHWC tensors. A conv with tfjs HWIO weights [kh, kw, cin, cout] is
// im2col(x) [N*OH*OW, kh*kw*cin] times W viewed as [kh*kw*cin, cout]; its input gradient is
// col2im(dY · Wᵀ). im2col splits over the pool by output rows, col2im by batch image: both
// write disjoint memory per call.
import { checkInteger, fail } from "../util/check.js";
import { inputSize, type ConvGeometry } from "./conv-geometry.js";
import { kernels } from "./core.js";
import { runInline, type KernelCall, type KernelOperation, type OperationBuilder } from "./operation.js";
import type { QuantizedArray } from "./quantize.js";

// Rough single-thread costs, measured by kernels-bench, that decide when to split work.
const NS_PER_OUTPUT_BYTE_IM2COL = 0.11;
const NS_PER_ELEMENT_COL2IM = 0.25;

const MAX_I32 = 2 ** 31 - 1;

/** Each integer field of a geometry, its least value, and its name in messages. */
const GEOMETRY_FIELDS: ReadonlyArray<readonly [keyof ConvGeometry, number, string]> = ([
  ["batch", 0], ["inHeight", 0], ["inWidth", 0], ["inChannels", 0], ["kernelHeight", 1], ["kernelWidth", 1],
  ["strideHeight", 1], ["strideWidth", 1], ["dilationHeight", 1], ["dilationWidth", 1],
  ["padTop", 0], ["padBottom", 0], ["padLeft", 0], ["padRight", 0], ["outHeight", 0], ["outWidth", 0],
] as const).map(([field, min]) => [field, min, `geometry.${field}`] as const);

/**
 * The kernels trust the geometry for every address they compute, so a hand-made or edited one
 * is checked for the identities that keep all reads and writes inside the arrays.
 */
export function checkGeometry(where: string, g: ConvGeometry): void {
  for (const [field, min, name] of GEOMETRY_FIELDS) checkInteger(where, name, g[field], min, MAX_I32);
  const span = (out: number, stride: number, kernel: number, dilation: number): number => Math.max(out - 1, 0) * stride + (kernel - 1) * dilation;
  if (span(g.outHeight, g.strideHeight, g.kernelHeight, g.dilationHeight) > MAX_I32 ||
    span(g.outWidth, g.strideWidth, g.kernelWidth, g.dilationWidth) > MAX_I32 || g.outHeight * g.outWidth > MAX_I32) {
    fail(where, "the geometry's output extent does not fit 32-bit indices; split the input");
  }
  if (g.rows !== g.batch * g.outHeight * g.outWidth || g.patchSize !== g.kernelHeight * g.kernelWidth * g.inChannels) {
    fail(where, `geometry.rows (${g.rows}) and patchSize (${g.patchSize}) do not match its shapes; build it with convGeometry()`);
  }
}

/** Contiguous ranges [start, end) splitting `count` items into at most `parts` pieces (at least one). */
function splitRange(count: number, parts: number): Array<[number, number]> {
  const pieces = Math.max(1, Math.min(parts, count));
  const ranges: Array<[number, number]> = [];
  for (let p = 0; p < pieces; p++) {
    ranges.push([Math.floor((p * count) / pieces), Math.floor(((p + 1) * count) / pieces)]);
  }
  return ranges;
}

/** The geometry arguments every im2col/col2im kernel takes after its input pointer. */
const geometryArgs = (g: ConvGeometry): number[] => [
  g.inHeight, g.inWidth, g.inChannels, g.kernelHeight, g.kernelWidth, g.strideHeight, g.strideWidth,
  g.dilationHeight, g.dilationWidth, g.padTop, g.padLeft, g.outHeight, g.outWidth,
];

function im2colBuilder<T extends Float32Array | QuantizedArray>(
  fn: string, x: T, g: ConvGeometry, target: T, extraArgs: number[],
): OperationBuilder<T> {
  return (core, parts): KernelOperation<T> => {
    const staging = core.staging();
    const px = staging.input(x);
    const pout = staging.output(target);
    const calls: KernelCall[] = splitRange(g.rows, parts).map(([start, end]) => [fn, [px, ...geometryArgs(g), start, end, ...extraArgs, pout]]);
    return {
      phases: [calls],
      costNs: target.byteLength * NS_PER_OUTPUT_BYTE_IM2COL,
      finish() {
        staging.copyBack(pout, target);
        return target;
      },
      release: () => staging.release(),
    };
  };
}

function checkIm2colArrays(where: string, x: { length: number }, g: ConvGeometry, out: { length: number } | undefined): void {
  checkGeometry(where, g);
  if (x.length !== inputSize(g)) {
    fail(where, `x must hold the NHWC input [${g.batch}, ${g.inHeight}, ${g.inWidth}, ${g.inChannels}] (${inputSize(g)} elements), but has ${x.length}`);
  }
  if (out && out.length !== g.rows * g.patchSize) {
    fail(where, `out must have rows * patchSize = ${g.rows} * ${g.patchSize} elements, but has ${out.length}`);
  }
}

/** im2col of an f32 NHWC input: [rows, patchSize] row-major, padding 0. */
export function im2colOp(x: Float32Array, g: ConvGeometry, out?: Float32Array): OperationBuilder<Float32Array> {
  checkIm2colArrays("im2col", x, g, out);
  return im2colBuilder("im2col_f32_nhwc", x, g, out ?? new Float32Array(g.rows * g.patchSize), []);
}

/**
 * im2col of an int8/uint8 NHWC input. Padding is `zeroPoint`, the quantized value of real 0,
 * so that padded taps add nothing once the zero point is subtracted.
 */
export function im2colQuantizedOp<T extends QuantizedArray>(x: T, g: ConvGeometry, zeroPoint: number, out?: T): OperationBuilder<T> {
  const where = "im2colQuantized";
  checkIm2colArrays(where, x, g, out);
  const signed = x instanceof Int8Array;
  if (!signed && !(x instanceof Uint8Array)) fail(where, "x must be an Int8Array or a Uint8Array");
  if (out && out instanceof Int8Array !== signed) fail(where, `out must be ${signed ? "an Int8Array" : "a Uint8Array"} like x`);
  checkInteger(where, "zeroPoint", zeroPoint, signed ? -128 : 0, signed ? 127 : 255);
  const target = out ?? (new (x.constructor as new (n: number) => T)(g.rows * g.patchSize));
  return im2colBuilder("im2col_q8_nhwc", x, g, target, [zeroPoint]);
}

/**
 * col2im, the adjoint of im2col: out[n, iy, ix, c] = sum of the cols entries that im2col took
 * from that pixel. With accumulate, the sums are added to out's current values.
 */
export function col2imOp(cols: Float32Array, g: ConvGeometry, out?: Float32Array, accumulate = false): OperationBuilder<Float32Array> {
  const where = "col2im";
  checkGeometry(where, g);
  if (cols.length !== g.rows * g.patchSize) {
    fail(where, `cols must have rows * patchSize = ${g.rows} * ${g.patchSize} elements, but has ${cols.length}`);
  }
  if (out && out.length !== inputSize(g)) {
    fail(where, `out must hold the NHWC input [${g.batch}, ${g.inHeight}, ${g.inWidth}, ${g.inChannels}] (${inputSize(g)} elements), but has ${out.length}`);
  }
  const target = out ?? new Float32Array(inputSize(g));
  const add = accumulate && out !== undefined;
  return (core, parts) => {
    const staging = core.staging();
    const pcols = staging.input(cols);
    const pout = add ? staging.input(target) : staging.output(target);
    const calls: KernelCall[] = splitRange(g.batch, parts).map(([start, end]) => [
      "col2im_f32_nhwc", [pcols, ...geometryArgs(g), start, end, add ? 1 : 0, pout],
    ]);
    return {
      phases: [calls],
      costNs: cols.length * NS_PER_ELEMENT_COL2IM,
      finish() {
        staging.copyBack(pout, target);
        return target;
      },
      release: () => staging.release(),
    };
  };
}

/** im2col of an f32 NHWC input, on this thread. */
export const im2col = (x: Float32Array, g: ConvGeometry, out?: Float32Array): Float32Array => runInline(kernels(), im2colOp(x, g, out));

/** im2col of an int8/uint8 NHWC input padded with its zero point, on this thread. */
export const im2colQuantized = <T extends QuantizedArray>(x: T, g: ConvGeometry, zeroPoint: number, out?: T): T =>
  runInline(kernels(), im2colQuantizedOp(x, g, zeroPoint, out));

/** col2im (adjoint of im2col), on this thread. */
export const col2im = (cols: Float32Array, g: ConvGeometry, out?: Float32Array, accumulate = false): Float32Array =>
  runInline(kernels(), col2imOp(cols, g, out, accumulate));
