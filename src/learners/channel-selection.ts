// Channel selection and reconstruction for one convolution (He et al. 2017, "Channel Pruning for
// Accelerating Very Deep Neural Networks"). With X the input patches at sampled positions and Y
// the original model's outputs there, the output is a sum of per-channel contributions
// Z_c = X_c · W_c. Selection keeps k channels: by LASSO on β in ‖Y − Σ_c β_c Z_c‖² + α‖β‖₁,
// with α searched until exactly k β_c are non-zero (the paper's method), or by the baselines it
// must beat: the largest Σ|W_c| (Li et al. 2017) and a random choice. Reconstruction then
// solves least squares for the kept channels' weights, so the pruned layer reproduces Y as well
// as a linear map can.
import { gram, lassoForNonZeros, leastSquares } from "../kernels/lasso.js";
import { seededRandom } from "../util/random.js";

export type ChannelSelectionMethod = "lasso" | "sum-abs" | "random";

/** Sampled rows of one convolution: its input patches and the outputs to reproduce. */
export interface ConvSamples {
  /** [rows, taps·inChannels], im2col order: tap (ky, kx) major, channel fastest. */
  patches: Float32Array;
  /** [rows, outChannels]: the targets, bias already taken out. */
  targets: Float32Array;
  rows: number;
  /** kh·kw. */
  taps: number;
  inChannels: number;
  outChannels: number;
}

export interface ChannelChoice {
  /** Kept input channels, ascending. */
  kept: number[];
  /** Set when LASSO could not hit exactly k and the choice was completed by |β|. */
  note?: string;
}

/** 1 / ‖W_c‖_F per input channel c of the kernel [taps·inChannels, outChannels] (1 for an all-zero slice). */
function inverseChannelNorms(s: ConvSamples, kernel: Float32Array): Float64Array {
  const squares = new Float64Array(s.inChannels);
  for (let t = 0; t < s.taps; t++) {
    for (let c = 0; c < s.inChannels; c++) {
      const row = (t * s.inChannels + c) * s.outChannels;
      for (let o = 0; o < s.outChannels; o++) squares[c] += kernel[row + o] ** 2;
    }
  }
  return squares.map((square) => (square > 0 ? 1 / Math.sqrt(square) : 1));
}

/**
 * Z: [rows·outChannels, inChannels], column c holding X_c · W_c / ‖W_c‖_F flattened over rows
 * and outputs. He et al. constrain ‖W_c‖_F = 1 so that β alone carries a channel's scale:
 * without it, the L1 penalty would favour channels with large weights for free, and LASSO
 * would lean towards the sum |W| choice it is meant to beat.
 */
function channelContributions(s: ConvSamples, kernel: Float32Array): Float32Array {
  const { rows, taps, inChannels: cin, outChannels: cout } = s;
  const scale = inverseChannelNorms(s, kernel);
  const z = new Float32Array(rows * cout * cin);
  for (let n = 0; n < rows; n++) {
    for (let t = 0; t < taps; t++) {
      for (let c = 0; c < cin; c++) {
        const x = s.patches[(n * taps + t) * cin + c] * scale[c];
        if (x === 0) continue;
        const w = (t * cin + c) * cout;
        const zRow = n * cout;
        for (let o = 0; o < cout; o++) z[(zRow + o) * cin + c] += x * kernel[w + o];
      }
    }
  }
  return z;
}

/** Indices of the `keep` largest scores, ascending; ties go to the lower index. */
function topIndices(scores: ArrayLike<number>, keep: number): number[] {
  const order = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[b] - scores[a] || a - b);
  return order.slice(0, keep).sort((a, b) => a - b);
}

function lassoChoice(s: ConvSamples, kernel: Float32Array, keep: number): ChannelChoice {
  const system = gram(channelContributions(s, kernel), s.rows * s.outChannels, s.inChannels, s.targets);
  const result = lassoForNonZeros(system, { keep });
  if (result.exact) return { kept: topIndices(Array.from(result.coefficients, Math.abs), keep) };
  return { kept: topIndices(Array.from(result.coefficients, Math.abs), keep), note: `LASSO: ${result.note ?? "not exact"}; kept the ${keep} largest |β|` };
}

/** Σ|W| over each input channel's slice of the kernel [taps·inChannels, outChannels]. */
function sumAbsChoice(s: ConvSamples, kernel: Float32Array, keep: number): ChannelChoice {
  const scores = new Float64Array(s.inChannels);
  for (let t = 0; t < s.taps; t++) {
    for (let c = 0; c < s.inChannels; c++) {
      const row = (t * s.inChannels + c) * s.outChannels;
      for (let o = 0; o < s.outChannels; o++) scores[c] += Math.abs(kernel[row + o]);
    }
  }
  return { kept: topIndices(scores, keep) };
}

function randomChoice(channels: number, keep: number, seed: number): ChannelChoice {
  const random = seededRandom(seed);
  return { kept: topIndices(Array.from({ length: channels }, () => random()), keep) };
}

/** The `keep` input channels the method selects; kernel is the layer's [taps·inChannels, outChannels]. */
export function selectChannels(method: ChannelSelectionMethod, s: ConvSamples, kernel: Float32Array, keep: number, seed = 0): ChannelChoice {
  if (!Number.isInteger(keep) || keep < 1 || keep > s.inChannels) throw new RangeError(`selectChannels: keep must be an integer in 1..${s.inChannels}, but got ${keep}`);
  if (method === "lasso") return lassoChoice(s, kernel, keep);
  if (method === "sum-abs") return sumAbsChoice(s, kernel, keep);
  return randomChoice(s.inChannels, keep, seed);
}

/** The patch columns of the kept channels: [rows, taps·kept.length], tap major. */
function keptPatches(s: ConvSamples, kept: readonly number[]): Float32Array {
  const k = kept.length;
  const out = new Float32Array(s.rows * s.taps * k);
  for (let n = 0; n < s.rows; n++) {
    for (let t = 0; t < s.taps; t++) {
      const from = (n * s.taps + t) * s.inChannels;
      const to = (n * s.taps + t) * k;
      for (let j = 0; j < k; j++) out[to + j] = s.patches[from + kept[j]];
    }
  }
  return out;
}

/**
 * Rows per unknown below which the least-squares fit gets a ridge: with about as many sampled
 * rows as weights (a MobileNet 1×1 conv reading 960 channels, 800 rows) the plain solution fits
 * the samples and not the layer.
 */
const ROWS_PER_FEATURE_WITHOUT_RIDGE = 4;
/** The ridge then, relative to the mean diagonal of XᵀX. */
const RELATIVE_RIDGE = 1e-2;

/**
 * Least-squares weights of the kept channels, [taps·kept, outChannels] (HWIO order once
 * reshaped); ridge-regularized when the samples are few for the unknowns.
 */
export function reconstructKernel(s: ConvSamples, kept: readonly number[]): Float32Array {
  const features = s.taps * kept.length;
  const system = gram(keptPatches(s, kept), s.rows, features, s.targets, s.outChannels);
  return leastSquares(system, { ridge: sampleRidge(s.rows, system.gram, features) }).weights;
}

/** The ridge of a least-squares fit of `features` unknowns on `rows` samples with Gram matrix `gram`: 0 unless the rows are few (see above). */
export function sampleRidge(rows: number, gram: ArrayLike<number>, features: number): number {
  if (rows >= ROWS_PER_FEATURE_WITHOUT_RIDGE * features) return 0;
  let trace = 0;
  for (let f = 0; f < features; f++) trace += gram[f * features + f];
  return (RELATIVE_RIDGE * trace) / features;
}

/** ‖Y − X_kept · W‖² / ‖Y‖²: how much of the targets a kernel on the kept channels misses. */
export function relativeReconstructionError(s: ConvSamples, kept: readonly number[], weights: Float32Array): number {
  const x = keptPatches(s, kept);
  const features = s.taps * kept.length;
  let error = 0;
  let norm = 0;
  for (let n = 0; n < s.rows; n++) {
    for (let o = 0; o < s.outChannels; o++) {
      let y = 0;
      for (let f = 0; f < features; f++) y += x[n * features + f] * weights[f * s.outChannels + o];
      const target = s.targets[n * s.outChannels + o];
      error += (target - y) ** 2;
      norm += target ** 2;
    }
  }
  return norm === 0 ? 0 : error / norm;
}
