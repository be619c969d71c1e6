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
/**
 * Below this log(α_hi / α_lo), a bracket whose ends still differ by two or more non-zeros is
 * suspect before the last level: on a well-conditioned path coefficients enter about 1e-2
 * apart in log α, so only inaccurate counts make jumps this narrow common.
 */
const SEARCH_SUSPECT_LOG = 1e-4;
/** Each tighter level divides tol by this and multiplies maxIter by SEARCH_TIGHTEN_ITER. */
const SEARCH_TIGHTEN_TOL = 100;
const SEARCH_TIGHTEN_ITER = 10;
/** Tighter levels a search may use: tol 1e-4 goes down to 1e-8 (what correlated inputs need). */
const DEFAULT_TIGHTEN_LEVELS = 2;

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
  /** Maximum number of solves, re-solves at tighter levels included. Default 60. */
  maxSteps?: number;
  /**
   * How many times the search may tighten its solves (tol / 100, maxIter × 10 each) when a
   * solve runs out of sweeps or the bracket narrows to a jump of several non-zeros. Default 2.
   */
  tightenLevels?: number;
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

/** A solve of the search: its α and the accuracy level it was solved at (see searchLevel). */
type SolvedPoint = LassoResult & { alpha: number; level: number };

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

/** Solver settings of a search level: level 0 is the caller's, each level up is tighter. */
function searchLevel(options: NonZeroSearchOptions, level: number): { tol: number; maxIter: number } {
  return {
    tol: (options.tol ?? DEFAULT_TOL) / SEARCH_TIGHTEN_TOL ** level,
    maxIter: (options.maxIter ?? DEFAULT_MAX_ITER) * SEARCH_TIGHTEN_ITER ** level,
  };
}

/** hi: the smallest α with fewer than keep non-zeros; lo: the largest α below it with more. */
function bracketOf(trusted: readonly SolvedPoint[], keep: number): { hi: SolvedPoint; lo?: SolvedPoint } {
  let hi = trusted[0];
  for (const point of trusted) if (point.nonZeros < keep && point.alpha < hi.alpha) hi = point;
  let lo: SolvedPoint | undefined;
  for (const point of trusted) {
    if (point.nonZeros > keep && point.alpha < hi.alpha && (!lo || point.alpha > lo.alpha)) lo = point;
  }
  return { hi, lo };
}

/**
 * State of one penalty search. Only counts of points solved at the current level or above are
 * trusted: with sklearn's stopping rule (a gap below tol · yᵀy), a solve on correlated columns
 * "converges" with spurious or missing non-zeros, since near the end of the path tol · yᵀy
 * exceeds the whole objective. The count of such a solve is noise, and bisecting on it
 * collapses the bracket on a wrong jump; re-solving at a tighter level fixes the count.
 */
class PenaltySearch {
  level = 0;
  totalIterations = 0;
  steps = 0;
  readonly solved: SolvedPoint[];

  constructor(
    private readonly core: KernelCore,
    private readonly system: LassoSystem,
    readonly options: NonZeroSearchOptions,
    readonly maxSteps: number,
    alphaMax: number,
  ) {
    const p = system.xty.length;
    // β = 0 is exact at α_max: trusted at every level
    this.solved = [{ alpha: alphaMax, coefficients: new Float64Array(p), iterations: 0, dualityGap: 0, converged: true, nonZeros: 0, level: Infinity }];
  }

  get maxLevel(): number {
    return this.options.tightenLevels ?? DEFAULT_TIGHTEN_LEVELS;
  }

  bracket(): { hi: SolvedPoint; lo?: SolvedPoint } {
    return bracketOf(this.solved.filter((point) => point.level >= this.level), this.options.keep);
  }

  /** Solves α at the current level; a solve that ran out of sweeps is redone tighter, warm. */
  solve(alpha: number, warmStart = nearestSolved(this.solved, alpha).coefficients): SolvedPoint {
    let level = this.level;
    let point = this.solveOnce(alpha, level, warmStart);
    while (!point.converged && level < this.maxLevel && this.steps < this.maxSteps) {
      level++;
      point = this.solveOnce(alpha, level, point.coefficients);
    }
    return point;
  }

  /**
   * Whether a trusted point at a larger α has more non-zeros than `point`, or one at a smaller
   * α fewer. Paths where a coefficient leaves exist, but at loose levels such inversions are
   * mostly counts that are wrong, so before the last level they call for tightening.
   */
  inverts(point: SolvedPoint): boolean {
    if (this.level >= this.maxLevel) return false;
    return this.solved.some((other) => other.level >= this.level && other !== point &&
      ((other.alpha > point.alpha && other.nonZeros > point.nonZeros) || (other.alpha < point.alpha && other.nonZeros < point.nonZeros)));
  }

  /** Moves to the next level and re-solves the bracket there, each end from its own solution. */
  tighten(): void {
    const { hi, lo } = this.bracket();
    this.level++;
    for (const point of [hi, lo]) {
      if (point && point.level < this.level && this.steps < this.maxSteps) this.solve(point.alpha, point.coefficients);
    }
  }

  private solveOnce(alpha: number, level: number, warmStart: Float64Array): SolvedPoint {
    const settings = searchLevel(this.options, level);
    const result = runInline(this.core, lassoSolveOp(this.system, { ...this.options, ...settings, alpha, warmStart }));
    this.totalIterations += result.iterations;
    this.steps++;
    const point = { ...result, alpha, level };
    this.solved.push(point);
    return point;
  }
}

/** The next α to solve, or what to do instead: the bracket to bisect, to open, or spent. */
function nextMove(search: PenaltySearch, alphaMax: number): number | "tighten" | "stop" {
  if (search.steps >= search.maxSteps) return "stop";
  const { hi, lo } = search.bracket();
  if (!lo) return hi.alpha > alphaMax * SEARCH_MIN_ALPHA_RATIO ? hi.alpha / SEARCH_DECADE : "stop";
  const width = Math.log(hi.alpha / lo.alpha);
  const narrowest = search.level < search.maxLevel ? SEARCH_SUSPECT_LOG : SEARCH_COLLAPSE_LOG;
  if (width > narrowest) return Math.sqrt(hi.alpha * lo.alpha);
  return search.level < search.maxLevel ? "tighten" : "stop";
}

/**
 * The LASSO solution with exactly `keep` non-zero coefficients (He et al.'s channel
 * selection: keep k of C channels). Starts at α_max = max|c|/n, where β = 0, walks down by
 * decades until more than `keep` coefficients are non-zero, then bisects on log α; every solve
 * warm-starts from the solution at the nearest α already solved. Counts are suspect when a
 * bracket narrows to a jump of two or more non-zeros within a factor 1 + 1e-4 of α, or when a
 * smaller α gives fewer non-zeros than a larger one: the search then re-solves the bracket's
 * ends with tol / 100 and maxIter × 10 (up to `tightenLevels` times) and goes on with those
 * counts only. A solve that runs out of sweeps is redone the same way before its count is
 * used. When no α gives exactly `keep` (the bracket collapses, coefficients entering together,
 * or maxSteps runs out) it returns the closest solution with more than `keep` non-zeros and
 * says so in `note`.
 */
export function lassoForNonZeros(system: LassoSystem, options: NonZeroSearchOptions): NonZeroSearchResult {
  const where = "lassoForNonZeros";
  const p = checkLassoSystem(where, system);
  checkInteger(where, "keep", options.keep, 1, p);
  checkSolverOptions(where, options);
  if (options.maxSteps !== undefined) checkInteger(where, "maxSteps", options.maxSteps, 1);
  if (options.tightenLevels !== undefined) checkInteger(where, "tightenLevels", options.tightenLevels, 0);
  const maxSteps = options.maxSteps ?? DEFAULT_MAX_STEPS;
  let top = 0;
  for (let j = 0; j < p; j++) top = Math.max(top, options.nonNegative ? system.xty[j] : Math.abs(system.xty[j]));
  const alphaMax = top / system.samples;

  const core = kernels();
  const temporaries: Float32Array[] = [];
  const resident = residentSystem(core, system, temporaries);
  try {
    checkFiniteResident(core, where, "gram", resident.gram, resident.gram.byteOffset);
    const search = new PenaltySearch(core, resident, options, maxSteps, alphaMax);
    if (alphaMax > 0) {
      for (let move = nextMove(search, alphaMax); move !== "stop"; move = nextMove(search, alphaMax)) {
        if (move === "tighten") {
          search.tighten();
          continue;
        }
        const point = search.solve(move);
        if (search.inverts(point)) search.tighten();
        else if (point.nonZeros === options.keep) return searchResult(search, point, true);
      }
    }
    return inexactResult(search, options.keep);
  } finally {
    for (const t of temporaries) core.free(t);
  }
}

function searchResult(search: PenaltySearch, point: SolvedPoint, exact: boolean, note?: string): NonZeroSearchResult {
  const { level: _level, ...result } = point;
  return { ...result, exact, steps: search.steps, totalIterations: search.totalIterations, ...(note ? { note } : {}) };
}

/** The closest solution above keep, or the most non-zeros reached, with a note saying why. */
function inexactResult(search: PenaltySearch, keep: number): NonZeroSearchResult {
  const { hi, lo } = search.bracket();
  if (!lo) {
    return searchResult(search, hi, false, `at most ${hi.nonZeros} coefficients become non-zero (α down to ${hi.alpha}); ${keep} is out of reach`);
  }
  const why = search.steps >= search.maxSteps ? `maxSteps (${search.maxSteps}) ran out` : "the bracket collapsed (coefficients enter together)";
  const { tol, maxIter } = searchLevel(search.options, lo.level);
  return searchResult(
    search, lo, false,
    `no α gave exactly ${keep} non-zeros (${why}, solving with tol ${tol} and maxIter ${maxIter}); ` +
      `returned α = ${lo.alpha} with ${lo.nonZeros}, the closest above`,
  );
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
