// A Gaussian process regression model over the unit cube (Rasmussen & Williams 2006, "Gaussian
// Processes for Machine Learning", ch. 2 and 5): Matérn 5/2 kernel with one length scale per
// dimension (ARD), signal and noise variance, on standardized outputs. The hyper-parameters
// maximise the log marginal likelihood (R&W eq. 5.8) plus a log prior, by multi-start L-BFGS in
// log-parameter space with the analytic gradient (R&W eq. 5.9). The prior on the log length
// scales is N(√2 + ½ ln d, 3) (Hvarfner, Hellsten & Nardi 2024, "Vanilla Bayesian optimization
// performs great in high dimensions"): it grows with the dimension so that 20-d spaces are not
// modelled as noise, and is weak enough that data move it. The log signal variance has a weak
// N(0, 2²) prior, the log noise variance N(−6, 2²): without it, fits on rugged 20-d functions
// (Levy) often landed on "everything is noise" (σ_n² ≈ 1), where EI only chases variance to the
// corners of the cube; noise-free data still pull the noise down to its 1e-6 bound. Cholesky factorizations and
// solves run on the wasm kernels (kernels/cholesky.ts).
import { cholesky, choleskySolve, type CholeskyFactor } from "../kernels/cholesky.js";
import { minimizeBoxLbfgs } from "./lbfgs.js";

const SQRT5 = Math.sqrt(5);
const LOG_2PI = Math.log(2 * Math.PI);

/** Bounds of the log-parameters, in unit-cube and standardized-output units. */
const LOG_LENGTH_BOUNDS = [Math.log(0.005), Math.log(1000)] as const;
const LOG_SIGNAL_BOUNDS = [Math.log(0.01), Math.log(100)] as const;
const LOG_NOISE_BOUNDS = [Math.log(1e-6), Math.log(2)] as const;
const LENGTH_PRIOR_VARIANCE = 3;
const SIGNAL_PRIOR_VARIANCE = 4;
const NOISE_PRIOR_MEAN = -6;
const NOISE_PRIOR_VARIANCE = 4;

export interface GpFitOptions {
  random: () => number;
  /** Log-parameters to start one L-BFGS run from (e.g. the previous fit's). */
  warmStart?: Float64Array;
  /** Random starts besides the default and the warm start. Default 2. */
  restarts?: number;
  /** L-BFGS iterations per start. Default 60. */
  maxIterations?: number;
}

/** The fitted hyper-parameters, in natural units (variances of the standardized outputs). */
export interface GpHyperParameters {
  lengthScales: Float64Array;
  signalVariance: number;
  noiseVariance: number;
}

/** Matérn 5/2 correlation at scaled distance r, and (5/3)(1 + √5 r)e^{−√5 r} = −k'(r)/r. */
function matern52(r: number): { k: number; dk: number } {
  const e = Math.exp(-SQRT5 * r);
  return { k: (1 + SQRT5 * r + (5 / 3) * r * r) * e, dk: (5 / 3) * (1 + SQRT5 * r) * e };
}

/** Squared coordinate differences of every pair (i, j), j < i, by dimension. */
export function pairDifferences(x: readonly number[][]): Float64Array {
  const n = x.length;
  const d = x[0].length;
  const out = new Float64Array(n * n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) for (let k = 0; k < d; k++) out[(i * n + j) * d + k] = (x[i][k] - x[j][k]) ** 2;
  return out;
}

interface Posterior {
  chol: CholeskyFactor;
  alpha: Float64Array;
  value: number;
  gradient: Float64Array;
}

/**
 * −(log marginal likelihood + log prior) at log-parameters θ = [log ℓ₁..ℓ_d, log σ_f², log σ_n²]
 * and its gradient: ∂/∂θ_j = −½ tr((ααᵀ − K⁻¹) ∂K/∂θ_j) (R&W eq. 5.9), K⁻¹ from the same factor.
 */
export function negativeLogPosterior(diffs: Float64Array, n: number, d: number, y: Float64Array, theta: Float64Array): Posterior {
  const inverseLength2 = Array.from({ length: d }, (_, k) => Math.exp(-2 * theta[k]));
  const signal = Math.exp(theta[d]);
  const noise = Math.exp(theta[d + 1]);
  const kernel = new Float64Array(n * n);
  const slope = new Float64Array(n * n); // σ_f² (5/3)(1 + √5 r)e^{−√5 r}, shared by the ℓ gradients
  for (let i = 0; i < n; i++) {
    kernel[i * n + i] = signal + noise;
    for (let j = 0; j < i; j++) {
      let r2 = 0;
      for (let k = 0; k < d; k++) r2 += diffs[(i * n + j) * d + k] * inverseLength2[k];
      const { k, dk } = matern52(Math.sqrt(r2));
      kernel[i * n + j] = kernel[j * n + i] = signal * k;
      slope[i * n + j] = signal * dk;
    }
  }
  const chol = cholesky(kernel, n);
  const rhs = new Float64Array(n * (n + 1)); // [y | I]: α and K⁻¹ in one solve
  for (let i = 0; i < n; i++) {
    rhs[i * (n + 1)] = y[i];
    rhs[i * (n + 1) + 1 + i] = 1;
  }
  const solved = choleskySolve(chol, rhs, n + 1);
  const alpha = Float64Array.from({ length: n }, (_, i) => solved[i * (n + 1)]);
  let value = 0.5 * n * LOG_2PI;
  for (let i = 0; i < n; i++) value += 0.5 * y[i] * alpha[i] + Math.log(chol.factor[i * n + i]);
  const gradient = new Float64Array(d + 2);
  for (let i = 0; i < n; i++) {
    const wii = alpha[i] * alpha[i] - solved[i * (n + 1) + 1 + i];
    gradient[d] -= 0.5 * wii * signal;
    gradient[d + 1] -= 0.5 * wii * noise;
    for (let j = 0; j < i; j++) {
      const wij = alpha[i] * alpha[j] - solved[i * (n + 1) + 1 + j]; // W is symmetric: count (i, j) twice
      gradient[d] -= wij * kernel[i * n + j];
      const s = wij * slope[i * n + j];
      for (let k = 0; k < d; k++) gradient[k] -= s * diffs[(i * n + j) * d + k] * inverseLength2[k];
    }
  }
  addLogPrior(theta, d, gradient, (v) => (value += v));
  return { chol, alpha, value, gradient };
}

/** Adds −log prior (up to a constant) to the value and its gradient. */
function addLogPrior(theta: Float64Array, d: number, gradient: Float64Array, add: (v: number) => void): void {
  const lengthMean = Math.SQRT2 + 0.5 * Math.log(d);
  for (let k = 0; k < d; k++) {
    const z = theta[k] - lengthMean;
    add((z * z) / (2 * LENGTH_PRIOR_VARIANCE));
    gradient[k] += z / LENGTH_PRIOR_VARIANCE;
  }
  add((theta[d] * theta[d]) / (2 * SIGNAL_PRIOR_VARIANCE));
  gradient[d] += theta[d] / SIGNAL_PRIOR_VARIANCE;
  const zn = theta[d + 1] - NOISE_PRIOR_MEAN;
  add((zn * zn) / (2 * NOISE_PRIOR_VARIANCE));
  gradient[d + 1] += zn / NOISE_PRIOR_VARIANCE;
}

function parameterBounds(d: number): { lower: Float64Array; upper: Float64Array } {
  const lower = Float64Array.from([...new Array<number>(d).fill(LOG_LENGTH_BOUNDS[0]), LOG_SIGNAL_BOUNDS[0], LOG_NOISE_BOUNDS[0]]);
  const upper = Float64Array.from([...new Array<number>(d).fill(LOG_LENGTH_BOUNDS[1]), LOG_SIGNAL_BOUNDS[1], LOG_NOISE_BOUNDS[1]]);
  return { lower, upper };
}

/** The starts of the fit: the warm start, a default (ℓ = 0.5, σ_f² = 1, σ_n² = 1e-2), random ones. */
function fitStarts(d: number, options: GpFitOptions): Float64Array[] {
  const starts: Float64Array[] = [];
  if (options.warmStart && options.warmStart.length === d + 2) starts.push(options.warmStart);
  starts.push(Float64Array.from([...new Array<number>(d).fill(Math.log(0.5)), 0, Math.log(1e-2)]));
  for (let r = 0; r < (options.restarts ?? 2); r++) {
    const lengths = Array.from({ length: d }, () => Math.log(0.05) + options.random() * Math.log(100));
    starts.push(Float64Array.from([...lengths, 0, Math.log(1e-5) + options.random() * Math.log(1e4)]));
  }
  return starts;
}

export class GaussianProcess {
  private constructor(
    private readonly x: readonly number[][],
    private readonly yMean: number,
    private readonly yScale: number,
    /** The fitted log-parameters [log ℓ₁..ℓ_d, log σ_f², log σ_n²]. */
    readonly theta: Float64Array,
    private readonly posterior: Posterior,
  ) {}

  /** Fits the model to unit-cube inputs x (n × d) and outputs y (n), n >= 1. */
  static fit(x: readonly number[][], y: readonly number[], options: GpFitOptions): GaussianProcess {
    const n = x.length;
    if (n === 0 || y.length !== n) throw new RangeError(`gp: needs as many outputs as inputs (>= 1), but got ${n} inputs and ${y.length} outputs`);
    const d = x[0].length;
    const yMean = y.reduce((a, b) => a + b, 0) / n;
    const spread = Math.sqrt(y.reduce((a, b) => a + (b - yMean) ** 2, 0) / n);
    const yScale = spread > 0 ? spread : 1;
    const ys = Float64Array.from(y, (v) => (v - yMean) / yScale);
    const diffs = pairDifferences(x);
    const { lower, upper } = parameterBounds(d);
    const objective = (theta: Float64Array): { value: number; gradient: Float64Array } => negativeLogPosterior(diffs, n, d, ys, theta);
    let best: Float64Array | undefined;
    let bestValue = Infinity;
    for (const start of fitStarts(d, options)) {
      const result = minimizeBoxLbfgs(objective, start, lower, upper, { maxIterations: options.maxIterations ?? 60 });
      if (result.value < bestValue || best === undefined) {
        best = result.x;
        bestValue = result.value;
      }
    }
    const theta = best as Float64Array;
    return new GaussianProcess(x, yMean, yScale, theta, negativeLogPosterior(diffs, n, d, ys, theta));
  }

  get hyperParameters(): GpHyperParameters {
    const d = this.theta.length - 2;
    return {
      lengthScales: this.theta.slice(0, d).map(Math.exp),
      signalVariance: Math.exp(this.theta[d]),
      noiseVariance: Math.exp(this.theta[d + 1]),
    };
  }

  /** Posterior mean and variance of the latent function (noise excluded) at each point, in output units. */
  predict(points: readonly number[][]): { mean: Float64Array; variance: Float64Array } {
    const n = this.x.length;
    const m = points.length;
    const d = this.theta.length - 2;
    const inverseLength2 = Array.from({ length: d }, (_, k) => Math.exp(-2 * this.theta[k]));
    const signal = Math.exp(this.theta[d]);
    const cross = new Float64Array(n * m); // k(x_i, p_t), n × m: the lower solve runs over m lanes
    for (let i = 0; i < n; i++) {
      const xi = this.x[i];
      for (let t = 0; t < m; t++) {
        let r2 = 0;
        for (let k = 0; k < d; k++) r2 += (xi[k] - points[t][k]) ** 2 * inverseLength2[k];
        cross[i * m + t] = signal * matern52(Math.sqrt(r2)).k;
      }
    }
    const mean = new Float64Array(m);
    for (let i = 0; i < n; i++) for (let t = 0; t < m; t++) mean[t] += cross[i * m + t] * this.posterior.alpha[i];
    const v = choleskySolve(this.posterior.chol, cross, m, "lower");
    const variance = new Float64Array(m);
    for (let t = 0; t < m; t++) {
      let explained = 0;
      for (let i = 0; i < n; i++) explained += v[i * m + t] ** 2;
      variance[t] = Math.max(signal - explained, 1e-12 * signal) * this.yScale ** 2;
      mean[t] = this.yMean + this.yScale * mean[t];
    }
    return { mean, variance };
  }
}
