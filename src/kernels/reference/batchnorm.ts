// Reference twins of assembly/batchnorm.ts: batch normalization in training mode over x seen as
// [M, channels], written as the definitions read, in f64 throughout (statistics rounded to f32
// once, as the kernels store them).
import type {
  BatchNormTrainingGradParams, BatchNormTrainingGradResult, BatchNormTrainingParams, BatchNormTrainingResult,
} from "../batchnorm.js";

/** Per-channel f64 sums of f(x[i], i) over the rows of [M, channels]. */
function channelSums(n: number, channels: number, f: (i: number, c: number) => number): Float64Array {
  const sums = new Float64Array(channels);
  for (let i = 0; i < n; i++) sums[i % channels] += f(i, i % channels);
  return sums;
}

/** Mean and biased variance per channel (two passes), y = gamma·(x - mean)/sqrt(var + eps) + beta. */
export function batchNormTrainingRef(x: Float32Array, channels: number, params: BatchNormTrainingParams): BatchNormTrainingResult {
  const rows = x.length / channels;
  const mean = Float32Array.from(channelSums(x.length, channels, (i) => x[i]), (s) => s / rows);
  const variance = Float32Array.from(channelSums(x.length, channels, (i, c) => (x[i] - mean[c]) ** 2), (s) => s / rows);
  const y = Float32Array.from(x, (v, i) => {
    const c = i % channels;
    const gamma = params.gamma ? params.gamma[c] : 1;
    const beta = params.beta ? params.beta[c] : 0;
    return (gamma * (v - mean[c])) / Math.sqrt(variance[c] + params.varianceEpsilon) + beta;
  });
  return { y, mean, variance };
}

/**
 * With x̂ = (x - mean)·r, r = 1/sqrt(variance + eps): dbeta = Σdy, dgamma = Σdy·x̂,
 * dx = gamma·r/M·(M·dy - dbeta - x̂·dgamma) + dmean/M + 2·dvariance·(x - mean)/M.
 */
export function batchNormTrainingGradRef(
  x: Float32Array, dy: Float32Array, channels: number, params: BatchNormTrainingGradParams,
): BatchNormTrainingGradResult {
  const rows = x.length / channels;
  const { mean, variance, varianceEpsilon } = params;
  const r = Float64Array.from(variance, (v) => 1 / Math.sqrt(v + varianceEpsilon));
  const normed = (i: number, c: number): number => (x[i] - mean[c]) * r[c];
  const dbeta = channelSums(x.length, channels, (i) => dy[i]);
  const dgamma = channelSums(x.length, channels, (i, c) => dy[i] * normed(i, c));
  const dx = Float32Array.from(x, (v, i) => {
    const c = i % channels;
    const gamma = params.gamma ? params.gamma[c] : 1;
    const main = ((gamma * r[c]) / rows) * (rows * dy[i] - dbeta[c] - normed(i, c) * dgamma[c]);
    const fromMean = params.dmean ? params.dmean[c] / rows : 0;
    const fromVariance = params.dvariance ? (2 * params.dvariance[c] * (v - mean[c])) / rows : 0;
    return main + fromMean + fromVariance;
  });
  return { dx, dgamma: Float32Array.from(dgamma), dbeta: Float32Array.from(dbeta) };
}
