// Pooling of uint8 activations (assembly/pooling-q8.ts) for the int8 engine: max pooling on the
// bytes (its input's scale and zero point are its output's), average pooling as the rounded
// int32 mean of (x - zero point) that requantize rescales. Both split by output rows.
import { checkInteger, checkSize, fail } from "../util/check.js";
import { splitCount } from "../util/ranges.js";
import type { ConvGeometry } from "./conv-geometry.js";
import { kernels } from "./core.js";
import { checkGeometry } from "./im2col.js";
import { runInline, type KernelCall, type OperationBuilder } from "./operation.js";

const NS_PER_TAP = 0.05;

const windowArgs = (g: ConvGeometry): number[] => [
  g.inHeight, g.inWidth, g.inChannels, g.kernelHeight, g.kernelWidth, g.strideHeight, g.strideWidth, g.padTop, g.padLeft, g.outHeight, g.outWidth,
];

function checkPool(where: string, g: ConvGeometry, x: Uint8Array, out: { length: number } | undefined): void {
  checkGeometry(where, g);
  if (g.dilationHeight !== 1 || g.dilationWidth !== 1) fail(where, `pooling supports dilation 1 only, but got [${g.dilationHeight}, ${g.dilationWidth}]`);
  checkSize(where, "x", x, [g.batch, g.inHeight, g.inWidth, g.inChannels]);
  checkSize(where, "out", out, [g.batch, g.outHeight, g.outWidth, g.inChannels]);
}

function poolQ8Op<T extends Uint8Array | Int32Array>(fn: string, x: Uint8Array, leading: number[], g: ConvGeometry, target: T): OperationBuilder<T> {
  return (core, parts) => {
    const staging = core.staging();
    const [px, pout] = [staging.input(x), staging.output(target)];
    const calls = splitCount(g.batch * g.outHeight, parts).map(([r0, r1]): KernelCall => [fn, [px, ...leading, ...windowArgs(g), r0, r1, pout]]);
    return {
      phases: [calls],
      costNs: g.rows * g.inChannels * g.kernelHeight * g.kernelWidth * NS_PER_TAP,
      finish() {
        staging.copyBack(pout, target);
        return target;
      },
      release: () => staging.release(),
    };
  };
}

/** Max pooling of uint8 NHWC x over the taps inside the input. */
export function maxPool2dU8Op(x: Uint8Array, g: ConvGeometry, out?: Uint8Array): OperationBuilder<Uint8Array> {
  checkPool("maxPool2dU8", g, x, out);
  return poolQ8Op("pool_max_u8_nhwc", x, [], g, out ?? new Uint8Array(g.rows * g.inChannels));
}

/** int32 mean of (x - zeroPoint) over the taps inside the input, rounded half away from zero. */
export function avgPool2dQ8AccOp(x: Uint8Array, zeroPoint: number, g: ConvGeometry, out?: Int32Array): OperationBuilder<Int32Array> {
  checkPool("avgPool2dQ8Acc", g, x, out);
  checkInteger("avgPool2dQ8Acc", "zeroPoint", zeroPoint, 0, 255);
  return poolQ8Op("pool_avg_q8_acc_nhwc", x, [zeroPoint], g, out ?? new Int32Array(g.rows * g.inChannels));
}

export const maxPool2dU8 = (x: Uint8Array, g: ConvGeometry, out?: Uint8Array): Uint8Array => runInline(kernels(), maxPool2dU8Op(x, g, out));

export const avgPool2dQ8Acc = (x: Uint8Array, zeroPoint: number, g: ConvGeometry, out?: Int32Array): Int32Array =>
  runInline(kernels(), avgPool2dQ8AccOp(x, zeroPoint, g, out));
