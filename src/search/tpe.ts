// Tree-structured Parzen estimator (Bergstra, Bardenet, Bengio & Kégl 2011, "Algorithms for
// Hyper-Parameter Optimization"; Bergstra, Yamins & Cox 2013). After `startupTrials` random
// points, the completed trials split into the best γ(n) ("good") and the rest ("bad"); each group
// becomes a Parzen estimator, l(x) over the good and g(x) over the bad, and of `candidates` draws
// from l the one with the largest log l(x) − log g(x) (which ranks as expected improvement does,
// Bergstra 2011 eq. 6) is asked next.
//
// Everything lives in the unit cube of the space (log dimensions are already log there).
// - A numerical dimension's kernel is a Gaussian truncated to [0, 1] at each observation, plus a
//   prior component N(0.5, 1) of weight `priorWeight`. Bandwidths follow Bergstra's rule: each
//   observation's distance to its farther neighbour among the sorted observations and the prior
//   mean (the ends of the range are no neighbours), clipped to [1 / min(100, n + 1), 1]
//   (hyperopt's "magic clip"). Observations weigh 1, except that in a group of more than 25 the
//   older ones ramp down linearly to 1/n (Optuna's default weights).
// - Integer dimensions are sampled as continuous coordinates and moved to the middle of their
//   integer's slice before scoring (where their trials sit); categorical ones use smoothed
//   counts: an observation's kernel puts weight 1 + priorWeight/n on its choice and
//   priorWeight/n on each other choice; the prior component is uniform.
// - By default a mixture per dimension (Bergstra 2011, Optuna's default), whose draws compete
//   as whole points. multivariate: one mixture over whole points, each component the product
//   of an observation's per-dimension kernels, so l(x) keeps dependencies between dimensions
//   (Optuna's multivariate=True; Falkner et al. 2018): better on Hartmann-6, worse on Branin and
//   Levy-20 in our benchmark.
// - Failed trials count neither as good nor bad, nor towards the startup trials: TPE has
//   no score to rank them by, and Optuna drops them the same way.
import { seededRandom } from "../util/random.js";
import { gaussian, normalCdf } from "./normal.js";
import type { Optimizer, OptimizerOptions, TrialResult } from "./optimizer.js";
import { pointFromUnit, type Dimension, type Point, type SearchSpace } from "./space.js";
import { snapUnit, uniformUnit, unitTrial, type UnitTrial } from "./unit-points.js";

export interface TpeOptions extends OptimizerOptions {
  /** Completed trials drawn uniformly before the model is used. Default 10 (as Optuna). */
  startupTrials?: number;
  /** Draws from l(x) ranked per ask. Default 24 (as Optuna). */
  candidates?: number;
  /** Weight of the prior component, in units of one observation. Default 1. */
  priorWeight?: number;
  /** One joint mixture over whole points, or one mixture per dimension (default). */
  multivariate?: boolean;
  /** Number of good trials among n completed ones. Default Optuna's min(⌈0.1 n⌉, 25). */
  gamma?: (completed: number) => number;
}

/** Optuna's default γ: the best min(⌈0.1 n⌉, 25) completed trials are "good". */
export const defaultGamma = (completed: number): number => Math.min(Math.ceil(0.1 * completed), 25);

const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);
/** Draws of a truncated Gaussian rejected before clamping instead (never reached in practice: acceptance >= 1/3). */
const MAX_REJECTIONS = 64;
/** Trials of a group at full weight; older ones weigh less (observationWeights). */
const RECENT_TRIALS = 25;

/** Per-dimension kernels of every component (observations first, the prior last). */
type DimensionKernels =
  | { kind: "numeric"; mu: Float64Array; sigma: Float64Array; logNorm: Float64Array }
  | { kind: "categorical"; logProb: Float64Array[] };

interface ParzenEstimator {
  logWeights: Float64Array;
  cumulative: Float64Array;
  dimensions: DimensionKernels[];
}

/**
 * Bergstra's bandwidths: each observation's distance to its farther neighbour among the sorted
 * observations and the prior mean; the first and last use their one inner neighbour (the ends
 * of the range are no neighbours: Optuna's consider_endpoints=False, which keeps kernels at the
 * edge of the data narrow). Clipped to [1/min(100, n+1), 1]; the prior's is 1.
 */
function neighbourBandwidths(values: readonly number[]): Float64Array {
  const n = values.length;
  const sorted = [...values.map((v, i) => ({ v, i })), { v: 0.5, i: n }].sort((a, b) => a.v - b.v || a.i - b.i);
  const sigma = new Float64Array(n + 1);
  const minSigma = 1 / Math.min(100, n + 1);
  sorted.forEach(({ v, i }, k) => {
    const left = k > 0 ? v - sorted[k - 1].v : 0;
    const right = k < sorted.length - 1 ? sorted[k + 1].v - v : 0;
    sigma[i] = Math.min(1, Math.max(minSigma, left, right));
  });
  sigma[n] = 1; // the prior spans the whole range
  return sigma;
}

function numericKernels(values: readonly number[]): DimensionKernels {
  const mu = Float64Array.from([...values, 0.5]);
  const sigma = neighbourBandwidths(values);
  // log of σ√(2π) times the mass the Gaussian keeps inside [0, 1]
  const logNorm = mu.map((m, c) => Math.log(sigma[c]) + LOG_SQRT_2PI + Math.log(normalCdf((1 - m) / sigma[c]) - normalCdf(-m / sigma[c])));
  return { kind: "numeric", mu, sigma, logNorm };
}

function categoricalKernels(indices: readonly number[], choices: number, priorWeight: number): DimensionKernels {
  const smoothing = priorWeight / Math.max(1, indices.length);
  const logProb = indices.map((index) => {
    const probs = new Float64Array(choices).fill(smoothing);
    probs[index] += 1;
    return probs.map((p) => Math.log(p / (1 + choices * smoothing)));
  });
  logProb.push(new Float64Array(choices).fill(-Math.log(choices)));
  return { kind: "categorical", logProb };
}

const choiceCount = (dimension: Dimension): number => (dimension.choices as ReadonlyArray<unknown>).length;
const choiceIndex = (u: number, choices: number): number => Math.min(choices - 1, Math.floor(u * choices));

/**
 * Optuna's default weights of a group in the order its trials were told: the latest 25 weigh 1,
 * older ones ramp linearly from 1/n up, so the estimators follow the search as it moves.
 */
function observationWeights(n: number): number[] {
  if (n < RECENT_TRIALS) return new Array<number>(n).fill(1);
  const ramp = n - RECENT_TRIALS;
  return [...Array.from({ length: ramp }, (_, k) => (ramp === 1 ? 1 / n : 1 / n + ((1 - 1 / n) * k) / (ramp - 1))), ...new Array<number>(RECENT_TRIALS).fill(1)];
}

/** The estimator of a group of trials, given in the order they were told. */
function parzenEstimator(space: SearchSpace, trials: readonly UnitTrial[], priorWeight: number): ParzenEstimator {
  const weights = [...observationWeights(trials.length), priorWeight];
  const total = weights.reduce((a, b) => a + b, 0);
  let running = 0;
  const cumulative = Float64Array.from(weights, (w) => (running += w / total));
  const dimensions = space.dimensions.map((dimension, j) => {
    const values = trials.map((trial) => trial.unit[j]);
    if (dimension.kind !== "categorical") return numericKernels(values);
    const choices = choiceCount(dimension);
    return categoricalKernels(values.map((u) => choiceIndex(u, choices)), choices, priorWeight);
  });
  return { logWeights: Float64Array.from(weights, (w) => Math.log(w / total)), cumulative, dimensions };
}

/** log k_c(u) of component c in one dimension. */
function logKernel(kernels: DimensionKernels, c: number, u: number): number {
  if (kernels.kind === "categorical") {
    const probs = kernels.logProb[c];
    return probs[choiceIndex(u, probs.length)];
  }
  const z = (u - kernels.mu[c]) / kernels.sigma[c];
  return -0.5 * z * z - kernels.logNorm[c];
}

function logSumExp(values: Float64Array): number {
  let max = -Infinity;
  for (const v of values) max = Math.max(max, v);
  if (max === -Infinity) return max;
  let sum = 0;
  for (const v of values) sum += Math.exp(v - max);
  return max + Math.log(sum);
}

/** log density of u: one mixture of products (multivariate) or a product of mixtures. */
function logDensity(estimator: ParzenEstimator, u: readonly number[], multivariate: boolean): number {
  const components = estimator.logWeights.length;
  const terms = new Float64Array(components);
  if (multivariate) {
    for (let c = 0; c < components; c++) {
      let s = estimator.logWeights[c];
      estimator.dimensions.forEach((kernels, j) => (s += logKernel(kernels, c, u[j])));
      terms[c] = s;
    }
    return logSumExp(terms);
  }
  let total = 0;
  estimator.dimensions.forEach((kernels, j) => {
    for (let c = 0; c < components; c++) terms[c] = estimator.logWeights[c] + logKernel(kernels, c, u[j]);
    total += logSumExp(terms);
  });
  return total;
}

function pickComponent(estimator: ParzenEstimator, random: () => number): number {
  const r = random();
  const index = estimator.cumulative.findIndex((c) => r < c);
  return index < 0 ? estimator.cumulative.length - 1 : index;
}

/** A draw of component c's kernel in one dimension, as a unit coordinate. */
function sampleKernel(kernels: DimensionKernels, c: number, random: () => number): number {
  if (kernels.kind === "categorical") {
    const probs = kernels.logProb[c];
    let r = random();
    for (let k = 0; k < probs.length; k++) {
      r -= Math.exp(probs[k]);
      if (r < 0) return (k + 0.5) / probs.length;
    }
    return (probs.length - 0.5) / probs.length;
  }
  const mu = kernels.mu[c];
  const sigma = kernels.sigma[c];
  for (let tries = 0; tries < MAX_REJECTIONS; tries++) {
    const u = mu + sigma * gaussian(random);
    if (u >= 0 && u <= 1) return u;
  }
  return Math.min(1, Math.max(0, mu));
}

/** A draw of l(x): one component for the whole point (multivariate) or one per dimension. */
function sampleEstimator(estimator: ParzenEstimator, multivariate: boolean, random: () => number): number[] {
  const shared = multivariate ? pickComponent(estimator, random) : -1;
  return estimator.dimensions.map((kernels) => sampleKernel(kernels, multivariate ? shared : pickComponent(estimator, random), random));
}

/**
 * The draw of largest log l(x) − log g(x). Whole draws compete, also with a mixture per
 * dimension: picking each coordinate by its own ratio (as Optuna's independent sampling does)
 * exploits harder and did worse on our benchmark (kernels-bench/search-optimizers.ts).
 */
function bestDraw(below: ParzenEstimator, above: ParzenEstimator, draws: number[][], multivariate: boolean): number[] {
  let best = draws[0];
  let bestScore = -Infinity;
  for (const u of draws) {
    const score = logDensity(below, u, multivariate) - logDensity(above, u, multivariate);
    if (score > bestScore) {
      best = u;
      bestScore = score;
    }
  }
  return best;
}

function checkCount(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) throw new RangeError(`tpe: ${name} must be an integer >= ${min}, but got ${value}`);
  return value;
}

export class TpeOptimizer implements Optimizer {
  readonly name = "tpe";
  private readonly random: () => number;
  private readonly trials: UnitTrial[] = [];
  private readonly startupTrials: number;
  private readonly candidates: number;
  private readonly priorWeight: number;
  private readonly multivariate: boolean;
  private readonly gamma: (completed: number) => number;

  constructor(readonly space: SearchSpace, options: TpeOptions = {}) {
    this.random = seededRandom(options.seed ?? 0);
    this.startupTrials = checkCount("startupTrials", options.startupTrials ?? 10, 0);
    this.candidates = checkCount("candidates", options.candidates ?? 24, 1);
    this.priorWeight = options.priorWeight ?? 1;
    if (!(this.priorWeight > 0 && Number.isFinite(this.priorWeight))) throw new RangeError(`tpe: priorWeight must be a finite number > 0, but got ${this.priorWeight}`);
    this.multivariate = options.multivariate ?? false;
    this.gamma = options.gamma ?? defaultGamma;
  }

  ask(): Point {
    const completed = this.trials.filter((trial) => trial.score !== undefined);
    // The model needs a good and a bad group: at least two completed trials.
    if (completed.length < Math.max(2, this.startupTrials)) {
      return pointFromUnit(this.space, uniformUnit(this.space.dimensions.length, this.random));
    }
    const order = Array.from(completed.keys()).sort((a, b) => (completed[b].score as number) - (completed[a].score as number) || a - b);
    const good = Math.min(order.length - 1, Math.max(1, this.gamma(order.length)));
    // each group back in told order, for the weights
    const group = (indices: number[]): UnitTrial[] => indices.sort((a, b) => a - b).map((i) => completed[i]);
    const below = parzenEstimator(this.space, group(order.slice(0, good)), this.priorWeight);
    const above = parzenEstimator(this.space, group(order.slice(good)), this.priorWeight);
    const draws = Array.from({ length: this.candidates }, () => snapUnit(this.space, sampleEstimator(below, this.multivariate, this.random)));
    return pointFromUnit(this.space, bestDraw(below, above, draws, this.multivariate));
  }

  tell(result: TrialResult): void {
    this.trials.push(unitTrial(this.space, result));
  }
}
