// Reference twins of assembly/batchnorm.ts: batch normalization in training mode over x seen as
// [M, channels], written as the definitions read, in f64 throughout (statistics rounded to f32
// once, as the kernels store them).
import type {
  BatchNormTrainingGradParams, BatchNormTrainingGradResult, BatchNormTrainingParams, BatchNormTrainingResult, FusedActivation,
} from "../batchnorm.js";
import type { BatchNormParams } from "../batchnorm-inference.js";

/** relu or relu6 of y, or y itself. */
export function activate(y: number, activation: FusedActivation | undefined): number {
  if (activation === undefined) return y;
  return Math.min(Math.max(y, 0), activation === "relu6" ? 6 : Infinity);
}

/** The derivative of the activation at y: 1 where it passes y through (0 < y <= 6 for relu6), else 0. */
const activationSlope = (y: number, activation: FusedActivation | undefined): number =>
  activation === undefined || (y > 0 && (activation === "relu" || y <= 6)) ? 1 : 0;

/** Per-channel f64 sums of f(x[i], i) over the rows of [M, channels]. */
function channelSums(n: number, channels: number, f: (i: number, c: number) => number): Float64Array {
  const sums = new Float64Array(channels);
  for (let i = 0; i < n; i++) sums[i % channels] += f(i, i % channels);
  return sums;
}

/** Mean and biased variance per channel (two passes), y = gamma·(x - mean)/sqrt(var + eps) + beta, then the activation. */
export function batchNormTrainingRef(x: Float32Array, channels: number, params: BatchNormTrainingParams): BatchNormTrainingResult {
  const rows = x.length / channels;
  const mean = Float32Array.from(channelSums(x.length, channels, (i) => x[i]), (s) => s / rows);
  const variance = Float32Array.from(channelSums(x.length, channels, (i, c) => (x[i] - mean[c]) ** 2), (s) => s / rows);
  const y = Float32Array.from(x, (v, i) => {
    const c = i % channels;
    const gamma = params.gamma ? params.gamma[c] : 1;
    const beta = params.beta ? params.beta[c] : 0;
    return activate((gamma * (v - mean[c])) / Math.sqrt(variance[c] + params.varianceEpsilon) + beta, params.activation);
  });
  return { y, mean, variance };
}

/**
 * With x̂ = (x - mean)·r, r = 1/sqrt(variance + eps): dbeta = Σdy, dgamma = Σdy·x̂,
 * dx = gamma·r/M·(M·dy - dbeta - x̂·dgamma) + dmean/M + 2·dvariance·(x - mean)/M. With an
 * activation, dy is first multiplied by its slope at gamma·x̂ + beta.
 */
export function batchNormTrainingGradRef(
  x: Float32Array, dy: Float32Array, channels: number, params: BatchNormTrainingGradParams,
): BatchNormTrainingGradResult {
  const rows = x.length / channels;
  const { mean, variance, varianceEpsilon } = params;
  const r = Float64Array.from(variance, (v) => 1 / Math.sqrt(v + varianceEpsilon));
  const normed = (i: number, c: number): number => (x[i] - mean[c]) * r[c];
  const preActivation = (i: number, c: number): number => (params.gamma ? params.gamma[c] : 1) * normed(i, c) + (params.beta ? params.beta[c] : 0);
  const g = Float64Array.from(dy, (d, i) => d * activationSlope(preActivation(i, i % channels), params.activation));
  const dbeta = channelSums(x.length, channels, (i) => g[i]);
  const dgamma = channelSums(x.length, channels, (i, c) => g[i] * normed(i, c));
  const dx = Float32Array.from(x, (v, i) => {
    const c = i % channels;
    const gamma = params.gamma ? params.gamma[c] : 1;
    const main = ((gamma * r[c]) / rows) * (rows * g[i] - dbeta[c] - normed(i, c) * dgamma[c]);
    const fromMean = params.dmean ? params.dmean[c] / rows : 0;
    const fromVariance = params.dvariance ? (2 * params.dvariance[c] * (v - mean[c])) / rows : 0;
    return main + fromMean + fromVariance;
  });
  return { dx, dgamma: Float32Array.from(dgamma), dbeta: Float32Array.from(dbeta) };
}

/** Inference form: y = (x - mean[c]) * scale[c] / sqrt(variance[c] + epsilon) + offset[c], then the activation. */
export function batchNormRef(x: Float32Array, channels: number, params: BatchNormParams, activation?: FusedActivation): Float32Array {
  return Float32Array.from(x, (v, i) => {
    const c = i % channels;
    const scale = params.scale ? params.scale[c] : 1;
    const offset = params.offset ? params.offset[c] : 0;
    return activate(((v - params.mean[c]) * scale) / Math.sqrt(params.variance[c] + params.varianceEpsilon) + offset, activation);
  });
}
