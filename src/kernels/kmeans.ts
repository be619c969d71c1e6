// 1-D k-means codebooks (Han et al. 2016, "Deep Compression"; PocketFlow NonUniformQuantLearner):
// k <= 256 centroids, Uint8 assignments, init by k-means++ / quantiles / linspace, Lloyd
// iterations, and the per-centroid gradient sums that train the centroids.
//
// kmeans1d is a sequence of kernel operations whose later steps depend on earlier results, so
// it is written as a generator of OperationBuilders (kmeans1dSteps): runStepsInline runs it on
// this thread, and a pool can run the same generator, each step split over its threads.
// Sums combine per-range partial results in range order, so a split run may differ from the
// inline run in the last bits of a sum (and, rarely, in a k-means++ draw or a centroid).
import { checkInteger, checkLength, fail } from "../util/check.js";
import { kernels, type KernelCore } from "./core.js";
import { nextDownF32, nextUpF32 } from "./mask.js";
import { runInline, splitGrouped, type GroupedRange, type KernelCall, type OperationBuilder } from "./operation.js";
import { seededRandom } from "../util/random.js";

// Rough single-thread costs, measured by kernels-bench/kmeans.ts, that decide when to split work.
const NS_PER_ELEMENT_SUMS = 1.8;
const NS_PER_ELEMENT_DECODE = 0.8;
const NS_PER_ELEMENT_DISTANCE = 1;
const NS_PER_ELEMENT_SORT = 20;
const NS_PER_ELEMENT_RANGE = 0.3;

/** Assignment: k - 1 vector compares per 4 elements up to k = 64, then a binary search. */
const assignNsPerElement = (k: number): number => (k <= 64 ? 0.5 + 0.04 * k : 13);

/** Thresholds and lookup tables are always 256 entries (assembly/kmeans.ts). */
const TABLE = 256;
const SUMS_BYTES = 4 * TABLE * 8;
const COUNTS_BYTES = 4 * TABLE * 4;
export const MAX_CENTROIDS = 256;

/** Ranges for kernels that interleave 4 tables: every range starts at a multiple of 16. */
const rangesOf = (n: number, parts: number): GroupedRange[] => splitGrouped(n, 1, 1, parts);

const sumOf = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0);

// ------------------------------------------------------------------------- thresholds

/**
 * The largest f32 t with t <= (a + b) / 2 exactly, for f32 a < b: an f32 x is strictly closer
 * to b than to a exactly when x > t. The sum is carried exactly as s + e (TwoSum), so the
 * result holds even where (a + b) / 2 rounds in f64.
 */
export function lowerMidpoint(a: number, b: number): number {
  const s = a + b;
  const bv = s - a;
  const e = a - (s - bv) + (b - bv);
  // t <= (s + e) / 2  <=>  2t - s <= e; 2t - s is exact because t is within a few ulps of s / 2
  let t = Math.fround(s / 2);
  while (2 * t - s > e) t = nextDownF32(t);
  for (let up = nextUpF32(t); 2 * up - s <= e; up = nextUpF32(t)) t = up;
  return t;
}

/**
 * Assignment thresholds of sorted centroids, f32[256]: T[j] for j < k - 1, then +Inf. Runs of
 * equal centroids give their first member the whole interval (ties go to the lower index).
 */
export function thresholdsOf(sorted: Float32Array): Float32Array {
  const k = sorted.length;
  const t = new Float32Array(TABLE).fill(Number.POSITIVE_INFINITY);
  for (let j = k - 2; j >= 0; j--) {
    t[j] = sorted[j] === sorted[j + 1] ? t[j + 1] : lowerMidpoint(sorted[j], sorted[j + 1]);
  }
  return t;
}

function isSorted(values: ArrayLike<number>): boolean {
  for (let i = 1; i < values.length; i++) if (values[i - 1] > values[i]) return false;
  return true;
}

// --------------------------------------------------------------------------- checks

function checkFloat32Array(where: string, name: string, x: unknown): void {
  if (!(x instanceof Float32Array)) fail(where, `${name} must be a Float32Array`);
}

function checkCentroids(where: string, centroids: Float32Array): void {
  checkFloat32Array(where, "centroids", centroids);
  if (centroids.length < 1 || centroids.length > MAX_CENTROIDS) {
    fail(where, `centroids must hold 1..${MAX_CENTROIDS} values (Uint8 indices), but holds ${centroids.length}`);
  }
  const bad = centroids.findIndex((c) => !Number.isFinite(c));
  if (bad >= 0) fail(where, `centroids must be finite, but centroids[${bad}] is ${centroids[bad]}`);
}

function checkAssignments(where: string, assignments: unknown, length: number): void {
  if (!(assignments instanceof Uint8Array)) fail(where, "assignments must be a Uint8Array of centroid indices");
  checkLength(where, "assignments", assignments.length, length);
}

function checkNoNaNToAssign(where: string, nanCount: number): void {
  if (nanCount > 0) {
    fail(where, `x contains ${nanCount} NaN value${nanCount === 1 ? "" : "s"}; NaN has no nearest centroid, replace or remove them first`);
  }
}

function checkIndicesBelowK(where: string, badCount: number, k: number): void {
  if (badCount > 0) {
    fail(where, `assignments must be indices < k = ${k}, but ${badCount} ${badCount === 1 ? "is" : "are"} not`);
  }
}

// ---------------------------------------------------------------------- single ops

/**
 * Writes into out (default: a new Uint8Array) the index of the nearest centroid of each x[i];
 * equidistant values go to the smaller centroid, equal centroids to the lower index. Centroids
 * need not be sorted (sorted ones skip a remapping pass). NaN is an error.
 */
export function assignNearestOp(x: Float32Array, centroids: Float32Array, out?: Uint8Array): OperationBuilder<Uint8Array> {
  checkFloat32Array("assignNearest", "x", x);
  checkCentroids("assignNearest", centroids);
  const target = out ?? new Uint8Array(x.length);
  checkAssignments("assignNearest", target, x.length);
  const k = centroids.length;
  const order = Array.from(centroids.keys());
  const sorted = isSorted(centroids);
  if (!sorted) order.sort((a, b) => centroids[a] - centroids[b]); // stable: equal values keep index order
  const thresholds = thresholdsOf(Float32Array.from(order, (i) => centroids[i]));
  return (core, parts) => {
    const staging = core.staging();
    const px = staging.input(x);
    const pout = staging.output(target);
    const pt = staging.input(thresholds);
    const ranges = rangesOf(x.length, parts);
    const phases: KernelCall[][] = [
      ranges.map((r) => ["assign_nearest_f32_u8", [px + r.start * 4, r.length, pt, k, pout + r.start]] as KernelCall),
    ];
    if (!sorted) {
      const lut = new Uint8Array(TABLE);
      lut.set(order);
      const plut = staging.input(lut);
      phases.push(ranges.map((r) => ["remap_u8", [pout + r.start, r.length, plut, k, pout + r.start]] as KernelCall));
    }
    return {
      phases,
      costNs: x.length * assignNsPerElement(k),
      finish(results) {
        checkNoNaNToAssign("assignNearest", sumOf(results[0]));
        staging.copyBack(pout, target);
        return target;
      },
      release: () => staging.release(),
    };
  };
}

export interface CentroidGradients {
  /** sums[j] = sum of grad[i] over the i with assignments[i] == j (f64 sums rounded to f32). */
  sums: Float32Array;
  /** counts[j] = how many elements use centroid j. */
  counts: Int32Array;
}

/** Combines per-range f64 sums and u32 counts (one scratch table pair per range) in range order. */
function combineTables(core: KernelCore, sums: number, counts: number, parts: number, k: number): { sums: Float64Array; counts: Int32Array } {
  const total = new Float64Array(k);
  const count = new Int32Array(k);
  for (let p = 0; p < parts; p++) {
    const s = core.view(Float64Array, sums + p * SUMS_BYTES, k);
    const c = core.view(Uint32Array, counts + p * COUNTS_BYTES, k);
    for (let j = 0; j < k; j++) {
      total[j] += s[j];
      count[j] += c[j];
    }
  }
  return { sums: total, counts: count };
}

/**
 * Per-centroid gradient sums, the gradient of a shared codebook value (Han et al. 2016:
 * dL/dc_j = sum over i with idx_i = j of dL/dw_i), and how many weights share each centroid.
 */
export function centroidGradientsOp(grad: Float32Array, assignments: Uint8Array, k: number): OperationBuilder<CentroidGradients> {
  checkFloat32Array("centroidGradients", "grad", grad);
  checkAssignments("centroidGradients", assignments, grad.length);
  checkInteger("centroidGradients", "k", k, 1, MAX_CENTROIDS);
  return (core, parts) => {
    const staging = core.staging();
    const pg = staging.input(grad);
    const pa = staging.input(assignments);
    const ranges = rangesOf(grad.length, parts);
    const sums = staging.scratch(ranges.length * SUMS_BYTES);
    const counts = staging.scratch(ranges.length * COUNTS_BYTES);
    const calls = ranges.map(
      (r, p) => ["centroid_grad_sums_f32_u8", [pg + r.start * 4, r.length, pa + r.start, k, sums + p * SUMS_BYTES, counts + p * COUNTS_BYTES]] as KernelCall,
    );
    return {
      phases: [calls],
      costNs: grad.length * NS_PER_ELEMENT_SUMS,
      finish(results) {
        checkIndicesBelowK("centroidGradients", sumOf(results[0]), k);
        const combined = combineTables(core, sums, counts, ranges.length, k);
        return { sums: Float32Array.from(combined.sums), counts: combined.counts };
      },
      release: () => staging.release(),
    };
  };
}

/** out[i] = centroids[assignments[i]]: the codebook-quantized weights (default: a new array). */
export function decodeCodebookOp(centroids: Float32Array, assignments: Uint8Array, out?: Float32Array): OperationBuilder<Float32Array> {
  checkCentroids("decodeCodebook", centroids);
  if (!(assignments instanceof Uint8Array)) fail("decodeCodebook", "assignments must be a Uint8Array of centroid indices");
  const target = out ?? new Float32Array(assignments.length);
  checkFloat32Array("decodeCodebook", "out", target);
  checkLength("decodeCodebook", "out", target.length, assignments.length);
  const k = centroids.length;
  const table = new Float32Array(TABLE);
  table.set(centroids);
  return (core, parts) => {
    const staging = core.staging();
    const pa = staging.input(assignments);
    const pt = staging.input(table);
    const pout = staging.output(target);
    const calls = rangesOf(assignments.length, parts).map(
      (r) => ["codebook_decode_u8_f32", [pa + r.start, r.length, pt, k, pout + r.start * 4]] as KernelCall,
    );
    return {
      phases: [calls],
      costNs: assignments.length * NS_PER_ELEMENT_DECODE,
      finish(results) {
        checkIndicesBelowK("decodeCodebook", sumOf(results[0]), k);
        staging.copyBack(pout, target);
        return target;
      },
      release: () => staging.release(),
    };
  };
}

// ------------------------------------------------------------------------ k-means steps

interface Range {
  min: number;
  max: number;
  nan: number;
}

function rangeOp(px: number, n: number): OperationBuilder<Range> {
  return (core, parts) => {
    const staging = core.staging();
    const ranges = rangesOf(n, parts);
    const mins = staging.scratch(ranges.length * 4);
    const maxs = staging.scratch(ranges.length * 4);
    core.view(Float32Array, mins, ranges.length).fill(Number.POSITIVE_INFINITY);
    core.view(Float32Array, maxs, ranges.length).fill(Number.NEGATIVE_INFINITY);
    const calls = ranges.map((r, p) => ["min_max_f32", [px + r.start * 4, r.length, 1, 1, 0, mins + p * 4, maxs + p * 4]] as KernelCall);
    return {
      phases: [calls],
      costNs: n * NS_PER_ELEMENT_RANGE,
      finish: (results) => ({
        min: Math.min(...core.view(Float32Array, mins, ranges.length)),
        max: Math.max(...core.view(Float32Array, maxs, ranges.length)),
        nan: sumOf(results[0]),
      }),
      release: () => staging.release(),
    };
  };
}

/** x copied and sorted in scratch; returns the centroids at quantiles (i + 1) / (k + 1). */
function quantileInitOp(px: number, n: number, k: number): OperationBuilder<Float32Array> {
  return (core) => {
    const staging = core.staging();
    const sorted = staging.scratch(n * 4);
    const tmp = staging.scratch(n * 4);
    const hist = staging.scratch(3 * 2048 * 4);
    return {
      phases: [[["copy_bytes", [sorted, px, n * 4]]], [["radix_sort_f32", [sorted, n, tmp, hist]]]],
      costNs: n * NS_PER_ELEMENT_SORT,
      finish: () => quantileCentroids(core.view(Float32Array, sorted, n), k),
      release: () => staging.release(),
    };
  };
}

/** PocketFlow's quantile init: c_i at quantile (i + 1) / (k + 1), interpolated linearly. */
export function quantileCentroids(sorted: Float32Array, k: number): Float32Array {
  const n = sorted.length;
  const centroids = new Float32Array(k);
  for (let i = 0; i < k; i++) {
    const position = ((i + 1) / (k + 1)) * (n - 1);
    const lo = Math.floor(position);
    const f = position - lo;
    const a = sorted[lo];
    const b = sorted[Math.min(lo + 1, n - 1)];
    centroids[i] = f < 0.5 ? a + (b - a) * f : b - (b - a) * (1 - f);
  }
  return centroids;
}

/** Han et al.'s linear init: k values evenly spaced over [min, max]. */
export function linspaceCentroids(min: number, max: number, k: number): Float32Array {
  return Float32Array.from({ length: k }, (_, i) => min + ((max - min) * i) / (k - 1));
}

interface PartSum {
  start: number;
  length: number;
  sum: number;
}

function distanceOp(px: number, n: number, centroid: number, first: boolean, d2: number): OperationBuilder<PartSum[]> {
  return (_core, parts) => {
    const ranges = rangesOf(n, parts);
    const calls = ranges.map((r) => ["kmeanspp_distance_f32", [px + r.start * 4, r.length, centroid, first ? 1 : 0, d2 + r.start * 8]] as KernelCall);
    return {
      phases: [calls],
      costNs: n * NS_PER_ELEMENT_DISTANCE,
      finish: (results) => ranges.map((r, p) => ({ start: r.start, length: r.length, sum: results[0][p] })),
      release() {},
    };
  };
}

function pickOp(d2: number, part: PartSum, target: number): OperationBuilder<number> {
  return () => ({
    phases: [[["kmeanspp_pick_f64", [d2 + part.start * 8, part.length, target]]]],
    costNs: part.length,
    finish: (results) => part.start + results[0][0],
    release() {},
  });
}

interface StepResult {
  changed: number;
  sums: Float64Array;
  counts: Int32Array;
}

function lloydStepOp(px: number, n: number, sorted: Float32Array, passign: number): OperationBuilder<StepResult> {
  const k = sorted.length;
  const thresholds = thresholdsOf(sorted);
  return (core, parts) => {
    const staging = core.staging();
    const pt = staging.input(thresholds);
    const ranges = rangesOf(n, parts);
    const sums = staging.scratch(ranges.length * SUMS_BYTES);
    const counts = staging.scratch(ranges.length * COUNTS_BYTES);
    const calls = ranges.map(
      (r, p) => ["kmeans_step_f32_u8", [px + r.start * 4, r.length, pt, k, passign + r.start, sums + p * SUMS_BYTES, counts + p * COUNTS_BYTES]] as KernelCall,
    );
    return {
      phases: [calls],
      costNs: n * (assignNsPerElement(k) + NS_PER_ELEMENT_SUMS),
      finish: (results) => ({ changed: sumOf(results[0]), ...combineTables(core, sums, counts, ranges.length, k) }),
      release: () => staging.release(),
    };
  };
}

function assignSortedOp(px: number, n: number, sorted: Float32Array, passign: number): OperationBuilder<void> {
  const thresholds = thresholdsOf(sorted);
  return (core, parts) => {
    const staging = core.staging();
    const pt = staging.input(thresholds);
    const calls = rangesOf(n, parts).map(
      (r) => ["assign_nearest_f32_u8", [px + r.start * 4, r.length, pt, sorted.length, passign + r.start]] as KernelCall,
    );
    return { phases: [calls], costNs: n * assignNsPerElement(sorted.length), finish() {}, release: () => staging.release() };
  };
}

function inertiaOp(px: number, n: number, passign: number, centroids: Float32Array): OperationBuilder<number> {
  const table = new Float32Array(TABLE);
  table.set(centroids);
  return (core, parts) => {
    const staging = core.staging();
    const pt = staging.input(table);
    const calls = rangesOf(n, parts).map(
      (r) => ["kmeans_inertia_f32_u8", [px + r.start * 4, r.length, passign + r.start, pt]] as KernelCall,
    );
    return { phases: [calls], costNs: n * NS_PER_ELEMENT_SUMS, finish: (results) => sumOf(results[0]), release: () => staging.release() };
  };
}

// ------------------------------------------------------------------------------ k-means

export type KMeansInit = "kmeans++" | "quantile" | "linspace";
const INITS: readonly KMeansInit[] = ["kmeans++", "quantile", "linspace"];

export interface KMeansOptions {
  /** Number of centroids, 2..256 (2^bits for a bits-bit codebook). */
  k: number;
  /**
   * "kmeans++" (default; Arthur & Vassilvitskii 2007, seeded), "quantile" (PocketFlow NUQ's
   * default: quantiles (i + 1) / (k + 1)) or "linspace" (Han et al.: evenly over [min, max]).
   */
  init?: KMeansInit;
  /** Most Lloyd iterations (default 50); 0 keeps the initial centroids. */
  maxIter?: number;
  /** Seed of k-means++ (default 0): the same seed gives the same codebook. */
  seed?: number;
}

export interface KMeansResult {
  /** The k centroids, ascending (equal values possible when x has fewer than k distinct values). */
  centroids: Float32Array;
  /** Index of each element's nearest centroid. */
  assignments: Uint8Array;
  /** Lloyd iterations run (the last one found no change when converged). */
  iterations: number;
  /** Whether an iteration changed no assignment before maxIter. */
  converged: boolean;
  /** Sum of squared distances of the elements to their centroids. */
  inertia: number;
}

interface CheckedOptions {
  k: number;
  init: KMeansInit;
  maxIter: number;
  seed: number;
}

function checkKMeansOptions(x: Float32Array, options: KMeansOptions, out: Uint8Array | undefined): CheckedOptions {
  checkFloat32Array("kmeans1d", "x", x);
  if (x.length === 0) fail("kmeans1d", "x must not be empty");
  if (typeof options !== "object" || options === null) fail("kmeans1d", "options must be an object with at least k");
  checkInteger("kmeans1d", "k", options.k, 2, MAX_CENTROIDS);
  const init = options.init ?? "kmeans++";
  if (!INITS.includes(init)) fail("kmeans1d", `init must be one of ${INITS.join(", ")}, but got ${String(init)}`);
  const maxIter = options.maxIter ?? 50;
  checkInteger("kmeans1d", "maxIter", maxIter, 0);
  const seed = options.seed ?? 0;
  checkInteger("kmeans1d", "seed", seed, 0, 0xffffffff);
  if (out !== undefined) checkAssignments("kmeans1d", out, x.length);
  return { k: options.k, init, maxIter, seed };
}

/** A computation as a sequence of kernel operations, each built from the previous results. */
export type KernelSteps<T> = Generator<OperationBuilder<unknown>, T, unknown>;

/** Runs every step on this thread. Stopping early (an error) closes the generator, which frees its memory. */
export function runStepsInline<T>(core: KernelCore, steps: KernelSteps<T>): T {
  let next = steps.next();
  try {
    while (!next.done) next = steps.next(runInline(core, next.value));
    return next.value;
  } finally {
    if (!next.done) steps.return(undefined as T);
  }
}

/**
 * 1-D k-means of x into k <= 256 centroids (see KMeansOptions), as steps for runStepsInline or
 * a pool; assignments are written into out when given. Non-finite x is an error.
 */
export function kmeans1dSteps(core: KernelCore, x: Float32Array, options: KMeansOptions, out?: Uint8Array): KernelSteps<KMeansResult> {
  const checked = checkKMeansOptions(x, options, out);
  return kmeansSteps(core, x, checked, out ?? new Uint8Array(x.length));
}

function* kmeansSteps(core: KernelCore, x: Float32Array, options: CheckedOptions, assignments: Uint8Array): KernelSteps<KMeansResult> {
  const { k, maxIter } = options;
  const n = x.length;
  const staging = core.staging();
  try {
    const px = staging.input(x);
    const passign = staging.output(assignments);
    const range = (yield rangeOp(px, n)) as Range;
    if (range.nan > 0) fail("kmeans1d", `x contains ${range.nan} NaN value${range.nan === 1 ? "" : "s"}; replace or remove them first`);
    if (!Number.isFinite(range.min) || !Number.isFinite(range.max)) {
      fail("kmeans1d", `x must be finite, but contains ${Number.isFinite(range.min) ? range.max : range.min}; clip or remove it first`);
    }
    let centroids: Float32Array;
    if (options.init === "linspace") centroids = linspaceCentroids(range.min, range.max, k);
    else if (options.init === "quantile") centroids = (yield quantileInitOp(px, n, k)) as Float32Array;
    else {
      const d2 = core.malloc(n * 8);
      try {
        centroids = yield* kmeansPlusPlus(d2, x, px, k, options.seed);
      } finally {
        core.free(d2);
      }
    }
    centroids.sort();

    let iterations = 0;
    let converged = false;
    while (iterations < maxIter) {
      iterations++;
      const step = (yield lloydStepOp(px, n, centroids, passign)) as StepResult;
      if (iterations > 1 && step.changed === 0) {
        converged = true; // the centroids are the means of these very assignments
        break;
      }
      // an empty cluster keeps its centroid; means of ordered intervals stay ordered
      centroids = centroids.map((c, j) => (step.counts[j] > 0 ? step.sums[j] / step.counts[j] : c));
      if (!isSorted(centroids)) centroids.sort();
    }
    if (!converged) yield assignSortedOp(px, n, centroids, passign);
    const inertia = (yield inertiaOp(px, n, passign, centroids)) as number;
    staging.copyBack(passign, assignments);
    return { centroids, assignments, iterations, converged, inertia };
  } finally {
    staging.release();
  }
}

/**
 * k-means++ seeding: the first centroid uniformly, each next one with probability proportional
 * to its squared distance to the nearest chosen one. When every element already sits on a
 * centroid (fewer distinct values than k), the remaining centroids repeat the last one.
 */
function* kmeansPlusPlus(d2: number, x: Float32Array, px: number, k: number, seed: number): Generator<OperationBuilder<unknown>, Float32Array, unknown> {
  const random = seededRandom(seed);
  const n = x.length;
  const centroids = new Float32Array(k);
  centroids[0] = x[Math.floor(random() * n)];
  for (let j = 1; j < k; j++) {
    const parts = (yield distanceOp(px, n, centroids[j - 1], j === 1, d2)) as PartSum[];
    const total = sumOf(parts.map((p) => p.sum));
    if (!(total > 0)) {
      centroids.fill(centroids[j - 1], j);
      break;
    }
    // the range holding the draw; rounding past the end falls to the last range with weight
    let target = random() * total;
    let part = parts.length - 1;
    while (part > 0 && !(parts[part].sum > 0)) part--;
    for (let p = 0; p < part; p++) {
      if (target < parts[p].sum) {
        part = p;
        break;
      }
      target -= parts[p].sum;
    }
    centroids[j] = x[(yield pickOp(d2, parts[part], target)) as number];
  }
  return centroids;
}

// ------------------------------------------------------------------ inline functions

/** 1-D k-means of x (k in 2..256): sorted centroids, Uint8 assignments, iterations, inertia. */
export function kmeans1d(x: Float32Array, options: KMeansOptions, out?: Uint8Array): KMeansResult {
  const core = kernels();
  return runStepsInline(core, kmeans1dSteps(core, x, options, out));
}

/** Index of the nearest centroid for each element; see assignNearestOp. */
export const assignNearest = (x: Float32Array, centroids: Float32Array, out?: Uint8Array): Uint8Array =>
  runInline(kernels(), assignNearestOp(x, centroids, out));

/** Per-centroid gradient sums and counts; see centroidGradientsOp. */
export const centroidGradients = (grad: Float32Array, assignments: Uint8Array, k: number): CentroidGradients =>
  runInline(kernels(), centroidGradientsOp(grad, assignments, k));

/** centroids[assignments[i]] for every i; see decodeCodebookOp. */
export const decodeCodebook = (centroids: Float32Array, assignments: Uint8Array, out?: Float32Array): Float32Array =>
  runInline(kernels(), decodeCodebookOp(centroids, assignments, out));
