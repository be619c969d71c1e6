// Batch normalization in training mode on the SIMD kernels (assembly/batchnorm.ts): the forward
// computes the batch statistics and normalizes in three passes over x; the backward computes
// dgamma, dbeta and dx in two passes. x is [..., channels] seen as [M, channels], M the
// product of the leading axes (N·H·W for NHWC). Splits over the pool by runs of whole
// parameter periods (see the kernel file): the sum passes into per-part accumulators, folded
// per channel by a one-call phase, then the element passes. A relu or relu6 that follows the
// batch norm can be fused in: the forward clips as it writes y, and the backward gates dy by
// the same y, recomputed from x, instead of reading a separate activation's output.
import { checkInteger, fail } from "../util/check.js";
import { kernels, type Staging } from "./core.js";
import { splitCount } from "../util/ranges.js";
import { runInline, type KernelCall, type OperationBuilder } from "./operation.js";

// Rough single-thread costs per element, to decide when splitting pays.
const NS_PER_ELEMENT_FORWARD = 1.2;
const NS_PER_ELEMENT_BACKWARD = 1.0;
const MAX_I32 = 2 ** 31 - 1;
/** Keeps a block of 64 periods (up to 256·channels elements) inside i32 indices. */
const MAX_CHANNELS = 2 ** 22;

/** An activation fused into a batch norm: it clips y to [0, ∞) or [0, 6]. */
export type FusedActivation = "relu" | "relu6";

/** The smallest positive float32 (a subnormal): for a float32 y, y > 0 exactly when y >= it. */
export const MIN_POSITIVE_FLOAT32 = 2 ** -149;

/** [lo, hi] of the forward clip of a fused activation; none leaves y unclipped. */
export function activationClip(activation: FusedActivation | undefined): [number, number] {
  return activation === undefined ? [-Infinity, Infinity] : [0, activation === "relu6" ? 6 : Infinity];
}

/** [lo, hi] of the y that a fused activation's gradient lets through: 0 < y <= hi, as the Relu and Relu6 gradients. */
const gradientGate = (activation: FusedActivation): [number, number] => [MIN_POSITIVE_FLOAT32, activationClip(activation)[1]];

export function checkActivation(where: string, activation: string | undefined): void {
  if (activation !== undefined && activation !== "relu" && activation !== "relu6") fail(where, `activation must be 'relu', 'relu6' or absent, but got '${activation}'`);
}

export interface BatchNormTrainingParams {
  /** Multiplies the normalized value, per channel (default 1). */
  gamma?: Float32Array;
  /** Added after the scaling, per channel (default 0). */
  beta?: Float32Array;
  /** Added to the variance before the square root. */
  varianceEpsilon: number;
  /** Applied to y as it is written (default none). */
  activation?: FusedActivation;
}

export interface BatchNormTrainingResult {
  /** The normalized x, after the fused activation if any. */
  y: Float32Array;
  /** Per-channel batch mean. */
  mean: Float32Array;
  /** Per-channel biased batch variance (divided by M), as tf.moments computes it. */
  variance: Float32Array;
}

export interface BatchNormTrainingGradParams {
  /** The forward's batch statistics. */
  mean: Float32Array;
  variance: Float32Array;
  gamma?: Float32Array;
  /** The forward's beta and fused activation: dy is the gradient of the activation's output then. */
  beta?: Float32Array;
  activation?: FusedActivation;
  /** Gradients that reached the mean and variance outputs (default none). */
  dmean?: Float32Array;
  dvariance?: Float32Array;
  varianceEpsilon: number;
}

export interface BatchNormTrainingGradResult {
  dx: Float32Array;
  dgamma: Float32Array;
  dbeta: Float32Array;
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/** The smallest run that both 4 (the SIMD width) and the channel count divide. */
const periodOf = (channels: number): number => (channels * 4) / gcd(channels, 4);

function checkShape(where: string, x: Float32Array, channels: number): void {
  checkInteger(where, "channels", channels, 1, MAX_CHANNELS);
  if (x.length > MAX_I32) fail(where, `x must have at most ${MAX_I32} elements, but has ${x.length}`);
  if (x.length % channels !== 0) fail(where, `x's ${x.length} elements are not a whole number of ${channels}-channel rows`);
}

function checkChannels(where: string, name: string, array: Float32Array | undefined, channels: number): void {
  if (array && array.length !== channels) fail(where, `${name} must have one value per channel (${channels}), but has ${array.length}`);
}

function checkOut(where: string, name: string, out: Float32Array | undefined, length: number): void {
  if (out && out.length !== length) fail(where, `${name} must have x's ${length} elements, but has ${out.length}`);
}

function checkEpsilon(where: string, epsilon: number): void {
  if (!(epsilon >= 0 && Number.isFinite(epsilon))) fail(where, `varianceEpsilon must be a finite number >= 0, but got ${epsilon}`);
}

/** Element ranges [start, end) of n elements cut on whole periods, at most `parts` of them. */
const periodRanges = (n: number, period: number, parts: number): Array<[number, number]> =>
  splitCount(Math.ceil(n / period), parts).map(([p0, p1]) => [p0 * period, Math.min(n, p1 * period)]);

/** Per-part scratch for the sum passes: `lanes` f32 of block sums and `lanes` f64 accumulators each. */
function sumScratch(staging: Staging, parts: number, lanes: number): { block: (p: number) => number; acc: number } {
  const blocks = staging.scratch(Math.max(1, parts) * lanes * 4);
  return { block: (p) => blocks + p * lanes * 4, acc: staging.scratch(Math.max(1, parts) * lanes * 8) };
}

const pointerOr0 = (staging: Staging, array: Float32Array | undefined): number => (array ? staging.input(array) : 0);

/**
 * Batch statistics of x [M, channels] and the normalized y = gamma·(x - mean)/sqrt(var + eps)
 * + beta, through the fused activation if any. M = 0 gives NaN statistics and an empty y, as
 * tf.moments.
 */
export function batchNormTrainingOp(x: Float32Array, channels: number, params: BatchNormTrainingParams, out?: Float32Array): OperationBuilder<BatchNormTrainingResult> {
  const where = "batchNormTraining";
  checkShape(where, x, channels);
  checkChannels(where, "gamma", params.gamma, channels);
  checkChannels(where, "beta", params.beta, channels);
  checkEpsilon(where, params.varianceEpsilon);
  checkActivation(where, params.activation);
  checkOut(where, "out", out, x.length);
  const result = { y: out ?? new Float32Array(x.length), mean: new Float32Array(channels), variance: new Float32Array(channels) };
  const [lo, hi] = activationClip(params.activation);
  const period = periodOf(channels);
  const invRows = 1 / (x.length / channels);
  return (core, parts) => {
    const staging = core.staging();
    const ranges = periodRanges(x.length, period, parts);
    const { block, acc } = sumScratch(staging, ranges.length, period);
    const [px, pgamma, pbeta] = [staging.input(x), pointerOr0(staging, params.gamma), pointerOr0(staging, params.beta)];
    const [py, pmean, pvariance] = [staging.output(result.y), staging.output(result.mean), staging.output(result.variance)];
    const [meanP, factorP, offsetP] = [0, 1, 2].map(() => staging.scratch(period * 4));
    const perRange = (fn: string, args: (r0: number, r1: number, p: number) => number[]): KernelCall[] =>
      ranges.map(([r0, r1], p): KernelCall => [fn, args(r0, r1, p)]);
    const phases = [
      perRange("bn_sums_f32", (r0, r1, p) => [px, period, r0, r1, block(p), acc + p * period * 8]),
      [["bn_mean_f32", [acc, ranges.length, period, channels, invRows, pmean, meanP]] as KernelCall],
      perRange("bn_sq_dev_sums_f32", (r0, r1, p) => [px, meanP, period, r0, r1, block(p), acc + p * period * 8]),
      [["bn_scale_f32", [acc, ranges.length, period, channels, invRows, params.varianceEpsilon, pgamma, pbeta, pvariance, factorP, offsetP]] as KernelCall],
      perRange("batch_norm_f32", (r0, r1) => [px, meanP, factorP, offsetP, period, r0, r1, py, lo, hi]),
    ].filter((phase) => phase.length > 0);
    return {
      phases,
      costNs: x.length * NS_PER_ELEMENT_FORWARD,
      finish() {
        staging.copyBack(py, result.y);
        staging.copyBack(pmean, result.mean);
        staging.copyBack(pvariance, result.variance);
        return result;
      },
      release: () => staging.release(),
    };
  };
}

function checkGradParams(where: string, x: Float32Array, dy: Float32Array, channels: number, params: BatchNormTrainingGradParams): void {
  checkShape(where, x, channels);
  if (dy.length !== x.length) fail(where, `dy must have x's ${x.length} elements, but has ${dy.length}`);
  for (const name of ["mean", "variance", "gamma", "beta", "dmean", "dvariance"] as const) checkChannels(where, name, params[name], channels);
  checkEpsilon(where, params.varianceEpsilon);
  checkActivation(where, params.activation);
}

/**
 * Gradients of batchNormTrainingOp's outputs with respect to x, gamma and beta. With a fused
 * activation, dy is the gradient of the activation's output: the forward's factor and offset are
 * rebuilt from its variance, gamma and beta by a one-call phase, and gate dy in both passes.
 */
export function batchNormTrainingGradOp(
  x: Float32Array, dy: Float32Array, channels: number, params: BatchNormTrainingGradParams, out?: Float32Array,
): OperationBuilder<BatchNormTrainingGradResult> {
  const where = "batchNormTrainingGrad";
  checkGradParams(where, x, dy, channels, params);
  checkOut(where, "out", out, x.length);
  const result = { dx: out ?? new Float32Array(x.length), dgamma: new Float32Array(channels), dbeta: new Float32Array(channels) };
  const period = periodOf(channels);
  const meanRepeated = Float32Array.from({ length: period }, (_, k) => params.mean[k % channels]);
  const rows = x.length / channels;
  return (core, parts) => {
    const staging = core.staging();
    const ranges = periodRanges(x.length, period, parts);
    const { block, acc } = sumScratch(staging, ranges.length, 2 * period);
    const [px, pdy, meanP, pvariance] = [staging.input(x), staging.input(dy), staging.input(meanRepeated), staging.input(params.variance)];
    const [pgamma, pdmean, pdvariance] = [params.gamma, params.dmean, params.dvariance].map((a) => pointerOr0(staging, a));
    const [pdx, pdgamma, pdbeta] = [staging.output(result.dx), staging.output(result.dgamma), staging.output(result.dbeta)];
    const [aP, bP, cP] = [0, 1, 2].map(() => staging.scratch(period * 4));
    const activation = params.activation;
    const [factorP, offsetP] = activation === undefined ? [0, 0] : [staging.scratch(period * 4), staging.scratch(period * 4)];
    const gate = [factorP, offsetP, ...(activation === undefined ? [0, 0] : gradientGate(activation))];
    const forwardMap: KernelCall[] = activation === undefined ? [] : [
      ["bn_forward_map_f32", [period, channels, params.varianceEpsilon, pgamma, pointerOr0(staging, params.beta), pvariance, factorP, offsetP]],
    ];
    const phases = [
      forwardMap,
      ranges.map(([r0, r1], p): KernelCall => ["bn_grad_sums_f32", [px, pdy, meanP, period, r0, r1, block(p), acc + p * 2 * period * 8, ...gate]]),
      [["bn_grad_coeffs_f32", [
        acc, ranges.length, period, channels, rows, params.varianceEpsilon, pgamma, pvariance, pdmean, pdvariance, pdgamma, pdbeta, aP, bP, cP,
      ]] as KernelCall],
      ranges.map(([r0, r1]): KernelCall => ["bn_grad_dx_f32", [px, pdy, meanP, aP, bP, cP, period, r0, r1, pdx, ...gate]]),
    ].filter((phase) => phase.length > 0);
    return {
      phases,
      costNs: x.length * NS_PER_ELEMENT_BACKWARD,
      finish() {
        staging.copyBack(pdx, result.dx);
        staging.copyBack(pdgamma, result.dgamma);
        staging.copyBack(pdbeta, result.dbeta);
        return result;
      },
      release: () => staging.release(),
    };
  };
}

/** Batch-norm forward in training mode, on this thread. */
export const batchNormTraining = (x: Float32Array, channels: number, params: BatchNormTrainingParams): BatchNormTrainingResult =>
  runInline(kernels(), batchNormTrainingOp(x, channels, params));

/** Batch-norm backward in training mode, on this thread. */
export const batchNormTrainingGrad = (
  x: Float32Array, dy: Float32Array, channels: number, params: BatchNormTrainingGradParams,
): BatchNormTrainingGradResult => runInline(kernels(), batchNormTrainingGradOp(x, dy, channels, params));
