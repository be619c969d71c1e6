// LASSO channel selection and least-squares reconstruction (He et al. 2017, "Channel Pruning
// for Accelerating Very Deep Neural Networks"): the Gram system of a design, coordinate-descent
// LASSO on it (sklearn's objective and stopping rule), the search for the penalty that keeps
// exactly k channels, and the multi-target least squares that rebuilds the next layer's weights.
// Each kernel op is described once as a KernelOperation; the plain functions run it inline.
import { checkInteger, checkLength, fail } from "../util/check.js";
import { kernels, type KernelCore } from "./core.js";
import { runInline, type KernelOperation, type OperationBuilder } from "./operation.js";

// Rough single-thread costs that decide when splitting work over the pool pays.
const NS_PER_GRAM_MULTIPLY_ADD = 0.08;
const NS_PER_CD_ENTRY = 0.5; // one f64 axpy element of a coordinate update
const NS_PER_CHOLESKY_MULTIPLY_ADD = 0.5;

const DEFAULT_TOL = 1e-4;
const DEFAULT_MAX_ITER = 1000;
const DEFAULT_MAX_STEPS = 60;
/** The search walks down from α_max by this factor until enough coefficients are non-zero. */
const SEARCH_DECADE = 10;
/** Smallest α tried, relative to α_max, before deciding `keep` non-zeros are out of reach. */
const SEARCH_MIN_ALPHA_RATIO = 1e-12;
/** The bracket has collapsed when log(α_hi / α_lo) falls below this. */
const SEARCH_COLLAPSE_LOG = 1e-9;

/** The Gram system of a design X (n×p) and targets Y (n×m), all that the solvers need. */
export interface GramSystem {
  /** XᵀX, p×p row-major, symmetric. */
  gram: Float32Array;
  /** XᵀY, p×m row-major (m = 1: the vector Xᵀy). Empty when no targets were given. */
  xty: Float32Array;
  /** Σ Y², the squared norm of the targets (0 without targets); the LASSO duality gap needs it. */
  yty: number;
  /** n, the number of rows of X. */
  samples: number;
  /** p, the number of columns of X. */
  features: number;
  /** m, the number of columns of Y (0 without targets). */
  targets: number;
}

/** A LASSO problem on a Gram system with one target: gram is p×p, xty has p elements. */
export type LassoSystem = Pick<GramSystem, "gram" | "xty" | "yty" | "samples">;

export interface LassoOptions {
  /** Penalty α of (1/(2n))‖y − Xβ‖² + α‖β‖₁ (sklearn's Lasso alpha); >= 0. */
  alpha: number;
  /** Constrain β >= 0. */
  nonNegative?: boolean;
  /** Initial β (p values), e.g. the solution at a nearby α. Zero when absent. */
  warmStart?: Float64Array | Float32Array;
  /** Tolerance as sklearn's: stop when the duality gap is below tol · yᵀy / n. Default 1e-4. */
  tol?: number;
  /** Maximum coordinate-descent sweeps. Default 1000. */
  maxIter?: number;
}

export interface LassoResult {
  coefficients: Float64Array;
  /** Coordinate-descent sweeps used. */
  iterations: number;
  /** Duality gap at the end, in units of the objective (1/(2n))‖y − Xβ‖² + α‖β‖₁. */
  dualityGap: number;
  /** Whether the gap fell below the tolerance within maxIter sweeps. */
  converged: boolean;
  nonZeros: number;
}

export interface NonZeroSearchOptions extends Omit<LassoOptions, "alpha" | "warmStart"> {
  /** Number of non-zero coefficients wanted, in 1..p (channels to keep). */
  keep: number;
  /** Maximum number of solves. Default 60. */
  maxSteps?: number;
}

export interface NonZeroSearchResult extends LassoResult {
  /** The penalty of the returned solution. */
  alpha: number;
  /** Whether nonZeros === keep. When false, `note` says what was returned instead. */
  exact: boolean;
  /** Number of LASSO solves (α_max itself needs none). */
  steps: number;
  /** Coordinate-descent sweeps over all solves. */
  totalIterations: number;
  note?: string;
}

/** A linear system on a Gram matrix with m right-hand sides: gram is p×p, xty p×m. */
export type LeastSquaresSystem = Pick<GramSystem, "gram" | "xty" | "features" | "targets">;

export interface LeastSquaresOptions {
  /** Ridge λ added to the diagonal from the start. Default 0 (plain least squares). */
  ridge?: number;
}

export interface LeastSquaresResult {
  /** W, p×m row-major, solving (XᵀX + λI) W = XᵀY. */
  weights: Float32Array;
  /** The λ used: the requested ridge, or larger when the Gram matrix was singular. */
  ridge: number;
}

// ---------------------------------------------------------------- checks

function nonFiniteMessage(name: string, values: ArrayLike<number>): string | undefined {
  let nan = 0;
  let infinite = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v !== v) nan++;
    else if (v === Infinity || v === -Infinity) infinite++;
  }
  if (nan > 0) return `${name} contains ${nan} NaN value${nan === 1 ? "" : "s"}; replace or remove them first`;
  if (infinite > 0) return `${name} contains ${infinite} infinite value${infinite === 1 ? "" : "s"}; replace or remove them first`;
  return undefined;
}

function checkFinite(where: string, name: string, values: ArrayLike<number>): void {
  const message = nonFiniteMessage(name, values);
  if (message) fail(where, message);
}

function checkNumber(where: string, name: string, value: number, rule: string, ok: boolean): void {
  if (!ok || !Number.isFinite(value)) fail(where, `${name} must be ${rule}, but got ${value}`);
}

/** Shape and diagonal of G; its NaN and infinities are counted in wasm (checkFiniteResident). */
function checkGramMatrix(where: string, gram: Float32Array, p: number): void {
  if (gram.length !== p * p) {
    fail(where, `gram must be p×p = ${p * p} elements for p = ${p} (the length of xty / features), but has ${gram.length}`);
  }
  for (let j = 0; j < p; j++) {
    if (gram[j * p + j] < 0) fail(where, `gram must be a Gram matrix XᵀX with a non-negative diagonal, but gram[${j}][${j}] is ${gram[j * p + j]}`);
  }
}

/**
 * Rejects NaN and infinities in `values`, already copied to kernel memory at `ptr`: a SIMD
 * count there, and a JS scan for the message only when something is wrong.
 */
function checkFiniteResident(core: KernelCore, where: string, name: string, values: Float32Array, ptr: number): void {
  const count = core.exports.count_nonfinite_f32 as (x: number, n: number) => number;
  if (count(ptr, values.length) > 0) checkFinite(where, name, values);
}

function checkLassoSystem(where: string, system: LassoSystem): number {
  const p = system.xty.length;
  if (p === 0) fail(where, "xty must have p >= 1 elements (one per feature), but is empty");
  checkGramMatrix(where, system.gram, p);
  checkFinite(where, "xty", system.xty);
  checkInteger(where, "samples", system.samples, 1);
  checkNumber(where, "yty", system.yty, "a finite number >= 0 (the squared norm of y)", system.yty >= 0);
  return p;
}

function checkSolverOptions(where: string, options: Omit<LassoOptions, "alpha">): void {
  if (options.tol !== undefined) checkNumber(where, "tol", options.tol, "a finite number > 0", options.tol > 0);
  if (options.maxIter !== undefined) checkInteger(where, "maxIter", options.maxIter, 1);
}

function checkLassoOptions(where: string, options: LassoOptions, p: number): void {
  checkNumber(where, "alpha", options.alpha, "a finite number >= 0", options.alpha >= 0);
  checkSolverOptions(where, options);
  if (options.warmStart) {
    checkLength(where, "warmStart", options.warmStart.length, p);
    checkFinite(where, "warmStart", options.warmStart);
  }
}

// ---------------------------------------------------------------- Gram

/** The kernel's row tile and packing panel: column blocks of G start on multiples of this. */
const GRAM_BLOCK_ALIGN = 8;

/**
 * Splits the p columns of G into at most `parts` blocks of about equal work. A block
 * [a, b) computes the upper-triangle rows a..b-1, Σ (p − j) entries, so blocks get narrower
 * towards the end. Boundaries are multiples of 8 (the kernel's packing panel).
 */
export function splitGramColumns(p: number, parts: number): Array<[start: number, end: number]> {
  const areaBefore = (a: number): number => a * p - (a * (a - 1)) / 2;
  const total = areaBefore(p);
  const count = Math.max(1, Math.min(parts, Math.ceil(p / GRAM_BLOCK_ALIGN)));
  const blocks: Array<[number, number]> = [];
  let start = 0;
  for (let q = 1; q <= count && start < p; q++) {
    let end = p;
    if (q < count) {
      end = start + GRAM_BLOCK_ALIGN;
      while (end < p && areaBefore(end) < (q * total) / count) end += GRAM_BLOCK_ALIGN;
      end = Math.min(end, p);
    }
    blocks.push([start, end]);
    start = end;
  }
  return blocks;
}

/** Splits n rows into at most `parts` contiguous ranges. */
function splitRows(n: number, parts: number): Array<[start: number, end: number]> {
  const count = Math.max(1, Math.min(parts, n));
  return Array.from({ length: count }, (_, q) => [Math.round((q * n) / count), Math.round(((q + 1) * n) / count)]);
}

/**
 * G = XᵀX and XᵀY of a row-major design X (samples × features) and targets Y
 * (samples × targets). Split over the pool by column blocks of G.
 */
export function gramOp(x: Float32Array, samples: number, features: number, y?: Float32Array, targets = 1): OperationBuilder<GramSystem> {
  const where = "gram";
  checkInteger(where, "samples", samples, 1);
  checkInteger(where, "features", features, 1);
  checkLength(where, `X (samples × features = ${samples} × ${features})`, x.length, samples * features);
  const m = y ? targets : 0;
  if (y) {
    checkInteger(where, "targets", targets, 1);
    checkLength(where, `Y (samples × targets = ${samples} × ${targets})`, y.length, samples * targets);
  }
  const p = features;
  let yty = 0;
  if (y) for (let i = 0; i < y.length; i++) yty += y[i] * y[i];
  if (!Number.isFinite(yty)) checkFinite(where, "Y", y!);
  return (core, parts): KernelOperation<GramSystem> => {
    const staging = core.staging();
    const gram = new Float32Array(p * p);
    const xty = new Float32Array(p * m);
    const px = staging.input(x);
    const py = y ? staging.input(y) : 0;
    const pg = staging.output(gram);
    const pc = m > 0 ? staging.output(xty) : 0;
    // Phase 1 packs X into 8-column panels (by row ranges); phase 2 computes G by column blocks.
    const packed = staging.scratch(samples * Math.ceil(p / 8) * 8 * 4);
    const pack = splitRows(samples, parts).map(
      ([start, end]) => ["gram_f32_pack", [px, samples, p, start, end, packed]] as const,
    );
    const blocks = splitGramColumns(p, parts).map(
      ([start, end]) => ["gram_f32", [packed, samples, p, py, m, start, end, pg, pc]] as const,
    );
    return {
      phases: [pack, blocks],
      costNs: samples * p * (p + 1 + 2 * m) * 0.5 * NS_PER_GRAM_MULTIPLY_ADD,
      finish() {
        staging.copyBack(pg, gram);
        if (m > 0) staging.copyBack(pc, xty);
        // A NaN or infinity anywhere in X reaches the diagonal of G; only then scan X to say so.
        for (let j = 0; j < p; j++) {
          if (!Number.isFinite(gram[j * p + j])) {
            checkFinite(where, "X", x);
            fail(where, `XᵀX overflows f32 (gram[${j}][${j}] = ${gram[j * p + j]}); scale X down first`);
          }
        }
        if (y) checkFinite(where, "XᵀY (f32 overflow: scale X or Y down)", xty);
        return { gram, xty, yty, samples, features: p, targets: m };
      },
      release: () => staging.release(),
    };
  };
}

/** G = XᵀX (p×p) and XᵀY (p×m) of X (n×p) and optional Y (n×m), both row-major f32. */
export const gram = (x: Float32Array, samples: number, features: number, y?: Float32Array, targets = 1): GramSystem =>
  runInline(kernels(), gramOp(x, samples, features, y, targets));

// ---------------------------------------------------------------- LASSO

function countNonZeros(values: Float64Array): number {
  let count = 0;
  for (let i = 0; i < values.length; i++) if (values[i] !== 0) count++;
  return count;
}

/** The solve itself; `where` names the caller when G still needs its NaN check. */
function lassoSolveOp(system: LassoSystem, options: LassoOptions, where?: string): OperationBuilder<LassoResult> {
  const p = system.xty.length;
  return (core) => {
    const staging = core.staging();
    const pg = staging.input(system.gram);
    const pc = staging.input(system.xty);
    if (where) {
      try {
        checkFiniteResident(core, where, "gram", system.gram, pg);
      } catch (error) {
        staging.release();
        throw error;
      }
    }
    const pbeta = staging.scratch(p * 8);
    const ph = staging.scratch(p * 8);
    const pstats = staging.scratch(16);
    const beta = core.view(Float64Array, pbeta, p);
    if (options.warmStart) beta.set(options.warmStart);
    else beta.fill(0);
    const maxIter = options.maxIter ?? DEFAULT_MAX_ITER;
    const args = [
      pg, pc, p, system.samples, options.alpha, system.yty, options.nonNegative ? 1 : 0,
      options.tol ?? DEFAULT_TOL, maxIter, pbeta, ph, pstats,
    ];
    return {
      phases: [[["lasso_cd_gram_f32", args]]],
      costNs: p * p * NS_PER_CD_ENTRY * 10,
      finish(results) {
        const coefficients = core.view(Float64Array, pbeta, p).slice();
        const stats = core.view(Float64Array, pstats, 2);
        return {
          coefficients,
          iterations: results[0][0],
          dualityGap: stats[0],
          converged: stats[1] === 1,
          nonZeros: countNonZeros(coefficients),
        };
      },
      release: () => staging.release(),
    };
  };
}

/** LASSO by coordinate descent on the Gram system: one wasm call per solve. */
export function lassoOp(system: LassoSystem, options: LassoOptions): OperationBuilder<LassoResult> {
  const p = checkLassoSystem("lasso", system);
  checkLassoOptions("lasso", options, p);
  return lassoSolveOp(system, options, "lasso");
}

/**
 * min over β of (1/(2n))‖y − Xβ‖² + α‖β‖₁ (sklearn's Lasso objective, no intercept) from
 * G = XᵀX, c = Xᵀy and yᵀy, e.g. as `gram(X, n, p, y)` returns them.
 */
export const lasso = (system: LassoSystem, options: LassoOptions): LassoResult => runInline(kernels(), lassoOp(system, options));

type SolvedPoint = LassoResult & { alpha: number };

/** The solved point nearest to alpha in log α; on a tie (bisection midpoints) the latest. */
function nearestSolved(solved: readonly SolvedPoint[], alpha: number): SolvedPoint {
  let nearest = solved[0];
  let best = Infinity;
  for (const point of solved) {
    const distance = Math.abs(Math.log(point.alpha / alpha));
    if (distance <= best * (1 + 1e-9)) {
      nearest = point;
      best = distance;
    }
  }
  return nearest;
}

/** Resident copies of the system's arrays, so the solves of a search copy nothing. */
function residentSystem(core: KernelCore, system: LassoSystem, temporaries: Float32Array[]): LassoSystem {
  const resident = (a: Float32Array): Float32Array => {
    if (core.isResident(a)) return a;
    const copy = core.allocCopy(a);
    temporaries.push(copy);
    return copy;
  };
  return { ...system, gram: resident(system.gram), xty: resident(system.xty) };
}

/**
 * The LASSO solution with exactly `keep` non-zero coefficients (He et al.'s channel
 * selection: keep k of C channels). Starts at α_max = max|c|/n, where β = 0, walks down by
 * decades until at least `keep` coefficients are non-zero, then bisects on log α; every solve
 * warm-starts from the solution at the nearest α already solved. When no α gives exactly
 * `keep` (the bracket collapses, coefficients entering together, or maxSteps runs out) it
 * returns the closest solution with more than `keep` non-zeros and says so in `note`.
 */
export function lassoForNonZeros(system: LassoSystem, options: NonZeroSearchOptions): NonZeroSearchResult {
  const where = "lassoForNonZeros";
  const p = checkLassoSystem(where, system);
  checkInteger(where, "keep", options.keep, 1, p);
  checkSolverOptions(where, options);
  if (options.maxSteps !== undefined) checkInteger(where, "maxSteps", options.maxSteps, 1);
  const { keep, nonNegative = false } = options;
  const maxSteps = options.maxSteps ?? DEFAULT_MAX_STEPS;
  let top = 0;
  for (let j = 0; j < p; j++) top = Math.max(top, nonNegative ? system.xty[j] : Math.abs(system.xty[j]));
  const alphaMax = top / system.samples;

  const core = kernels();
  const temporaries: Float32Array[] = [];
  const resident = residentSystem(core, system, temporaries);
  try {
    checkFiniteResident(core, where, "gram", resident.gram, resident.gram.byteOffset);
  } catch (error) {
    for (const t of temporaries) core.free(t);
    throw error;
  }
  let hi: SolvedPoint = { alpha: alphaMax, coefficients: new Float64Array(p), iterations: 0, dualityGap: 0, converged: true, nonZeros: 0 };
  let lo: SolvedPoint | undefined;
  const solved: SolvedPoint[] = [hi];
  let totalIterations = 0;
  const finish = (point: SolvedPoint, exact: boolean, note?: string): NonZeroSearchResult => ({
    ...point, exact, steps: solved.length - 1, totalIterations, ...(note ? { note } : {}),
  });
  const solve = (alpha: number): SolvedPoint => {
    const warmStart = nearestSolved(solved, alpha).coefficients;
    const result = runInline(core, lassoSolveOp(resident, { ...options, alpha, warmStart }));
    totalIterations += result.iterations;
    const point = { ...result, alpha };
    solved.push(point);
    if (point.nonZeros > keep) lo = point;
    else if (point.nonZeros < keep) hi = point;
    return point;
  };
  try {
    if (alphaMax > 0) {
      while (!lo && solved.length - 1 < maxSteps && hi.alpha > alphaMax * SEARCH_MIN_ALPHA_RATIO) {
        const point = solve(hi.alpha / SEARCH_DECADE);
        if (point.nonZeros === keep) return finish(point, true);
      }
      while (lo && solved.length - 1 < maxSteps && Math.log(hi.alpha / lo.alpha) > SEARCH_COLLAPSE_LOG) {
        const point = solve(Math.sqrt(hi.alpha * lo.alpha));
        if (point.nonZeros === keep) return finish(point, true);
      }
    }
  } finally {
    for (const t of temporaries) core.free(t);
  }
  if (lo) {
    const why = solved.length - 1 >= maxSteps ? `maxSteps (${maxSteps}) ran out` : "the bracket collapsed (coefficients enter together)";
    return finish(lo, false, `no α gave exactly ${keep} non-zeros (${why}); returned α = ${lo.alpha} with ${lo.nonZeros}, the closest above`);
  }
  return finish(hi, false, `at most ${hi.nonZeros} coefficients become non-zero (α down to ${hi.alpha}); ${keep} is out of reach`);
}

// ---------------------------------------------------------------- least squares

/** (XᵀX + λI) W = XᵀY by Cholesky in f64, for m right-hand sides at once. */
export function leastSquaresOp(system: LeastSquaresSystem, options: LeastSquaresOptions = {}): OperationBuilder<LeastSquaresResult> {
  const where = "leastSquares";
  const { features: p, targets: m } = system;
  checkInteger(where, "features", p, 1);
  checkInteger(where, "targets", m, 1);
  checkGramMatrix(where, system.gram, p);
  checkLength(where, `xty (features × targets = ${p} × ${m})`, system.xty.length, p * m);
  const ridge = options.ridge ?? 0;
  checkNumber(where, "ridge", ridge, "a finite number >= 0", ridge >= 0);
  return (core) => {
    const staging = core.staging();
    const weights = new Float32Array(p * m);
    const pg = staging.input(system.gram);
    const pb = staging.input(system.xty);
    const pw = staging.output(weights);
    try {
      checkFiniteResident(core, where, "gram", system.gram, pg);
      checkFiniteResident(core, where, "xty", system.xty, pb);
    } catch (error) {
      staging.release();
      throw error;
    }
    const factor = staging.scratch(p * p * 8);
    const work = staging.scratch(p * m * 8);
    return {
      phases: [[["cholesky_solve_f32", [pg, pb, p, m, ridge, pw, factor, work]]]],
      costNs: (p * p * p / 6 + 2 * p * p * m) * NS_PER_CHOLESKY_MULTIPLY_ADD,
      finish(results) {
        const used = results[0][0];
        if (used < 0) {
          fail(where, "gram did not become positive definite for any ridge up to 1e30 × trace/p; it is not a Gram matrix XᵀX");
        }
        staging.copyBack(pw, weights);
        return { weights, ridge: used };
      },
      release: () => staging.release(),
    };
  };
}

/**
 * W (p×m) minimising ‖Y − XW‖² from G = XᵀX and XᵀY: the reconstruction step of channel
 * pruning, all output channels at once. A singular G (duplicated or zero columns) gets the
 * smallest ridge λ, from 1e-10·trace/p up by ×10, that factors it; `ridge` reports it.
 */
export const leastSquares = (system: LeastSquaresSystem, options?: LeastSquaresOptions): LeastSquaresResult =>
  runInline(kernels(), leastSquaresOp(system, options));
