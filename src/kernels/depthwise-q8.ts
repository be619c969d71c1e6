// Integer depthwise convolution's int32 sums (assembly/depthwise-q8.ts) for the int8 engine:
// uint8 activations with a zero point times int8 weights (zero point 0) widened to int16, one
// int32 per output; requantize adds the bias and rescales. Splits by output rows.
import { checkInteger, checkSize } from "../util/check.js";
import { splitCount } from "../util/ranges.js";
import type { ConvGeometry } from "./conv-geometry.js";
import { kernels } from "./core.js";
import { checkGeometry } from "./im2col.js";
import { runInline, type KernelCall, type OperationBuilder } from "./operation.js";

const NS_PER_MAC = 0.1;

/**
 * acc [N, OH, OW, C·multiplier] = Σ over the taps inside x of (x - zeroPoint) · filter, with x
 * uint8 NHWC [N, H, W, C] and filter int16 [kh, kw, C, multiplier] holding int8 values.
 */
export function depthwiseConv2dQ8AccOp(
  x: Uint8Array, zeroPoint: number, filter: Int16Array, g: ConvGeometry, multiplier: number, out?: Int32Array,
): OperationBuilder<Int32Array> {
  const where = "depthwiseConv2dQ8Acc";
  checkGeometry(where, g);
  checkInteger(where, "zeroPoint", zeroPoint, 0, 255);
  checkInteger(where, "multiplier", multiplier, 1, 2 ** 31 - 1);
  const channels = g.inChannels * multiplier;
  checkSize(where, "x", x, [g.batch, g.inHeight, g.inWidth, g.inChannels]);
  checkSize(where, "filter", filter, [g.kernelHeight, g.kernelWidth, g.inChannels, multiplier]);
  checkSize(where, "out", out, [g.batch, g.outHeight, g.outWidth, channels]);
  const target = out ?? new Int32Array(g.rows * channels);
  return (core, parts) => {
    const staging = core.staging();
    const [px, pf, pout] = [staging.input(x), staging.input(filter), staging.output(target)];
    const calls = splitCount(g.batch * g.outHeight, parts).map(([r0, r1]): KernelCall => ["depthwise_conv_q8_acc_nhwc", [
      px, zeroPoint, pf, g.inHeight, g.inWidth, g.inChannels, multiplier, g.kernelHeight, g.kernelWidth, g.strideHeight, g.strideWidth,
      g.dilationHeight, g.dilationWidth, g.padTop, g.padLeft, g.outHeight, g.outWidth, r0, r1, pout,
    ]]);
    return {
      phases: [calls],
      costNs: g.rows * channels * g.kernelHeight * g.kernelWidth * NS_PER_MAC,
      finish() {
        staging.copyBack(pout, target);
        return target;
      },
      release: () => staging.release(),
    };
  };
}

/** The int32 sums of an integer depthwise convolution, on this thread. */
export const depthwiseConv2dQ8Acc = (x: Uint8Array, zeroPoint: number, filter: Int16Array, g: ConvGeometry, multiplier: number, out?: Int32Array): Int32Array =>
  runInline(kernels(), depthwiseConv2dQ8AccOp(x, zeroPoint, filter, g, multiplier, out));
