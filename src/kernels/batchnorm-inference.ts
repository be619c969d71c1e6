// Batch normalization in inference form (the per-channel affine map with the moving statistics)
// on the SIMD kernels, through a fused relu or relu6 if given. Splits over the pool by runs of
// whole parameter periods; the training form is in batchnorm.ts.
import { activationClip, checkActivation, type FusedActivation } from "./batchnorm.js";
import { checkInteger, checkSize, fail } from "../util/check.js";
import { kernels } from "./core.js";
import { splitCount } from "../util/ranges.js";
import { runInline, type KernelCall, type OperationBuilder } from "./operation.js";

// Rough single-thread cost per element, to decide when splitting pays.
const NS_PER_ELEMENT = 0.5;
const MAX_I32 = 2 ** 31 - 1;

export interface BatchNormParams {
  /** Per-channel values, `channels` each. */
  mean: Float32Array;
  variance: Float32Array;
  /** Added after the scaling (default 0). */
  offset?: Float32Array;
  /** Multiplies the normalised value (default 1). */
  scale?: Float32Array;
  /** Added to the variance before the square root. */
  varianceEpsilon: number;
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/** The period of batchNormFactors: the least multiple of both `channels` and 4 (a SIMD vector). */
export const batchNormPeriod = (channels: number): number => (channels * 4) / gcd(channels, 4);

/**
 * The batch-norm kernel's parameters: mean, scale / sqrt(variance + epsilon) (computed in
 * double) and offset, each repeated to batchNormPeriod(channels) values, one after another.
 */
export function batchNormFactors(channels: number, params: BatchNormParams, out?: Float32Array): Float32Array {
  const where = "batchNorm";
  checkInteger(where, "channels", channels, 1, MAX_I32);
  for (const name of ["mean", "variance", "offset", "scale"] as const) checkSize(where, name, params[name], [channels]);
  const period = batchNormPeriod(channels);
  const factors = out ?? new Float32Array(3 * period);
  checkSize(where, "factors", factors, [3 * period]);
  const { mean, variance, offset, scale, varianceEpsilon } = params;
  for (let c = 0; c < channels; c++) {
    const factor = (scale ? scale[c] : 1) / Math.sqrt(variance[c] + varianceEpsilon);
    for (let k = c; k < period; k += channels) {
      factors[k] = mean[c];
      factors[period + k] = factor;
      factors[2 * period + k] = offset ? offset[c] : 0;
    }
  }
  return factors;
}

/**
 * Batch normalisation with per-channel parameters of x [..., channels]:
 * out = (x - mean) * scale / sqrt(variance + epsilon) + offset, channel = index % channels,
 * through a fused relu or relu6 if given. `params` are the parameters, or their
 * batchNormFactors computed before (a cached copy).
 */
export function batchNormOp(
  x: Float32Array, channels: number, params: BatchNormParams | Float32Array, out?: Float32Array, activation?: FusedActivation,
): OperationBuilder<Float32Array> {
  const where = "batchNorm";
  checkActivation(where, activation);
  const [lo, hi] = activationClip(activation);
  checkInteger(where, "channels", channels, 1, MAX_I32);
  if (x.length % channels !== 0) fail(where, `x's ${x.length} elements are not a whole number of ${channels}-channel pixels`);
  if (x.length > MAX_I32) fail(where, `x must have at most ${MAX_I32} elements, but has ${x.length}`);
  checkSize(where, "out", out, [x.length]);
  const period = batchNormPeriod(channels);
  const factors = params instanceof Float32Array ? params : batchNormFactors(channels, params);
  checkSize(where, "factors", factors, [3 * period]);
  const target = out ?? new Float32Array(x.length);
  return (core, parts) => {
    const staging = core.staging();
    const px = staging.input(x);
    const pm = staging.input(factors);
    const [pf, po] = [pm + 4 * period, pm + 8 * period];
    const pout = staging.output(target);
    const periods = Math.ceil(x.length / period);
    const calls = splitCount(periods, parts).map(([p0, p1]): KernelCall => [
      "batch_norm_f32", [px, pm, pf, po, period, p0 * period, Math.min(p1 * period, x.length), pout, lo, hi],
    ]);
    return {
      phases: [calls],
      costNs: x.length * NS_PER_ELEMENT,
      finish() {
        staging.copyBack(pout, target);
        return target;
      },
      release: () => staging.release(),
    };
  };
}

/** Per-channel batch normalisation, through a fused relu or relu6 if given, on this thread. */
export const batchNorm = (x: Float32Array, channels: number, params: BatchNormParams, out?: Float32Array, activation?: FusedActivation): Float32Array =>
  runInline(kernels(), batchNormOp(x, channels, params, out, activation));
