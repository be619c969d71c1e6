// Magnitude pruning façade (Zhu & Gupta 2017; PocketFlow WeightSparseLearner: every mask
// update, mask = |w| > percentile(|w|, 100 s)): order statistics by radix select instead of a
// sort, magnitude thresholds, percentiles, Uint8 masks (1 keep, 0 drop), mask application to
// weights or gradients, and sparsity counts. Each op is an OperationBuilder, so KernelPool can
// split the same description over threads; the plain functions run it inline.
import { checkInteger, checkLength, fail } from "../util/check.js";
import { kernels, type KernelCore } from "./core.js";
import { callKernel, runInline, splitGrouped, type KernelCall, type OperationBuilder } from "./operation.js";

// Rough single-thread costs, measured by kernels-bench/mask.ts, that decide when to split work.
const NS_PER_ELEMENT_SELECT = 2.7; // a scattered histogram pass, then mostly-skipping passes
const NS_PER_ELEMENT_SORT = 20;
const NS_PER_ELEMENT_MASK = 0.4;
const NS_PER_ELEMENT_APPLY = 0.6; // memory-bound: 9 bytes per element
const NS_PER_BYTE_COUNT = 0.07;

/** Select state: u32 step, prefix, mask, rank, count, then (shift, width) per digit (assembly/select.ts). */
const SELECT_STATE_BYTES = 64;
const STATE_PREFIX = 1;
const STATE_RANK = 3;
const STATE_COUNT = 4;
/** Digit plans as (shift, width): small histograms for small inputs, two 16-bit digits past this size. */
const SELECT_WIDE_FROM = 1 << 18;
const DIGITS_NARROW: readonly (readonly [number, number])[] = [[21, 11], [10, 11], [0, 10]];
const DIGITS_WIDE: readonly (readonly [number, number])[] = [[16, 16], [0, 16]];
const SORT_HIST_BYTES = 3 * 2048 * 4;

const rangesOf = (n: number, parts: number) => splitGrouped(n, 1, 1, parts);

/** NaN has no place in an order: selection, sorting and percentiles reject it. */
function checkNoNaNInOrder(where: string, nanCount: number, name: string): void {
  if (nanCount > 0) {
    fail(where, `${name} contains ${nanCount} NaN value${nanCount === 1 ? "" : "s"}; NaN has no order, replace or remove them first`);
  }
}

function checkFloat32Array(where: string, name: string, x: unknown): void {
  if (!(x instanceof Float32Array)) fail(where, `${name} must be a Float32Array`);
}

function checkMaskArray(where: string, name: string, mask: unknown, length: number): void {
  if (!(mask instanceof Uint8Array)) fail(where, `${name} must be a Uint8Array (1 keep, 0 drop)`);
  checkLength(where, name, mask.length, length);
}

// ------------------------------------------------------------------------ f32 helpers

const bitsBuffer = new DataView(new ArrayBuffer(4));

function f32OfBits(bits: number): number {
  bitsBuffer.setUint32(0, bits >>> 0);
  return bitsBuffer.getFloat32(0);
}

function bitsOfF32(value: number): number {
  bitsBuffer.setFloat32(0, value);
  return bitsBuffer.getUint32(0);
}

/** The next f32 above v (v an f32; +Infinity stays). */
export function nextUpF32(v: number): number {
  if (Number.isNaN(v) || v === Infinity) return v;
  if (v === 0) return f32OfBits(1);
  const bits = bitsOfF32(v);
  return f32OfBits(v > 0 ? bits + 1 : bits - 1);
}

/** The next f32 below v (v an f32; -Infinity stays). */
export function nextDownF32(v: number): number {
  return -nextUpF32(-v);
}

/** The smallest f32 >= t: then |w| >= t holds exactly when |w| >= f32AtLeast(t) for f32 w. */
function f32AtLeast(t: number): number {
  const f = Math.fround(t);
  return f < t ? nextUpF32(f) : f;
}

/** The largest f32 <= t: then |w| > t holds exactly when |w| > f32AtMost(t) for f32 w. */
function f32AtMost(t: number): number {
  const f = Math.fround(t);
  return f > t ? nextDownF32(f) : f;
}

/** The float (or magnitude) whose order-preserving key is `key` (assembly/select.ts). */
function floatOfKey(key: number, abs: boolean): number {
  const k = key >>> 0;
  if (abs) return f32OfBits(k);
  return f32OfBits(k & 0x80000000 ? k ^ 0x80000000 : ~k);
}

// -------------------------------------------------------------------------- selection

interface Selected {
  /** The order statistic of the requested rank. */
  value: number;
  /** The order statistic of rank + 1 (NaN when not requested). */
  next: number;
}

/**
 * Radix selection of rank `rank` (0-based, ascending) of x or |x|, and optionally of rank + 1.
 * Phases: per key digit, [histogram pass per range] then [combine]; then optionally
 * [smallest key above the selection per range].
 */
function selectOp(where: string, name: string, x: Float32Array, rank: number, abs: boolean, withNext: boolean): OperationBuilder<Selected> {
  const digits = x.length >= SELECT_WIDE_FROM ? DIGITS_WIDE : DIGITS_NARROW;
  return (core, parts) => {
    const staging = core.staging();
    const px = staging.input(x);
    const ranges = rangesOf(x.length, parts);
    const partBytes = callKernel(core, ["radix_select_scratch_bytes", [digits[0][1]]]);
    const state = staging.scratch(SELECT_STATE_BYTES);
    const hist = staging.scratch(ranges.length * partBytes);
    core.view(Uint32Array, state, SELECT_STATE_BYTES / 4).set([0, 0, 0, rank, 0, ...digits.flat()]);
    const flag = abs ? 1 : 0;
    const passes = ranges.map(
      (r, p) => ["radix_select_pass_f32", [px + r.start * 4, r.length, flag, state, hist + p * partBytes]] as KernelCall,
    );
    const combine: KernelCall[] = [["radix_select_combine", [hist, ranges.length, partBytes, state]]];
    const phases: KernelCall[][] = digits.flatMap(() => [passes, combine]);
    if (withNext) {
      phases.push(ranges.map((r) => ["radix_min_key_above_f32", [px + r.start * 4, r.length, flag, state]] as KernelCall));
    }
    return {
      phases,
      costNs: x.length * NS_PER_ELEMENT_SELECT,
      finish(results) {
        checkNoNaNInOrder(where, results[0].reduce((a, b) => a + b, 0), name);
        const s = core.view(Uint32Array, state, SELECT_STATE_BYTES / 4);
        const value = floatOfKey(s[STATE_PREFIX], abs);
        let next = Number.NaN;
        if (withNext) {
          // the selected value repeats at rank + 1 unless it was the last of its ties
          if (s[STATE_RANK] + 1 < s[STATE_COUNT]) next = value;
          else next = floatOfKey(Math.min(...results[2 * digits.length].map((k) => k >>> 0)), abs);
        }
        return { value, next };
      },
      release: () => staging.release(),
    };
  };
}

export interface OrderOptions {
  /** Order |x| instead of x (magnitudes; -0 and +0 are then equal). */
  abs?: boolean;
}

/**
 * The value at index `rank` of x sorted ascending (rank 0: the minimum), or of |x| with
 * `abs`, by radix selection: two or three histogram passes, no sort. NaN is an error.
 */
export function orderStatisticOp(x: Float32Array, rank: number, options: OrderOptions = {}): OperationBuilder<number> {
  checkFloat32Array("orderStatistic", "x", x);
  if (x.length === 0) fail("orderStatistic", "x must not be empty");
  checkInteger("orderStatistic", "rank", rank, 0, x.length - 1);
  const select = selectOp("orderStatistic", "x", x, rank, options.abs ?? false, false);
  return (core, parts) => {
    const op = select(core, parts);
    return { ...op, finish: (results) => op.finish(results).value };
  };
}

/**
 * The magnitude threshold t that keeps the `keep` largest magnitudes of w: t is the keep-th
 * largest |w|, so keeping |w| >= t (magnitudeMask) keeps exactly `keep` weights when no other
 * weight has magnitude t, and every weight tied at t otherwise (ties are all kept, never cut
 * arbitrarily). keep = 0 gives +Infinity (only infinite weights would pass). NaN is an error.
 */
export function magnitudeThresholdOp(w: Float32Array, keep: number): OperationBuilder<number> {
  checkFloat32Array("magnitudeThreshold", "w", w);
  checkInteger("magnitudeThreshold", "keep", keep, 0, w.length);
  if (keep === 0) {
    return () => ({ phases: [], costNs: 0, finish: () => Number.POSITIVE_INFINITY, release() {} });
  }
  const select = selectOp("magnitudeThreshold", "w", w, w.length - keep, true, false);
  return (core, parts) => {
    const op = select(core, parts);
    return { ...op, finish: (results) => op.finish(results).value };
  };
}

export type PercentileInterpolation = "linear" | "lower" | "higher" | "nearest" | "midpoint";

export interface PercentileOptions extends OrderOptions {
  /**
   * Between two order statistics, as numpy.percentile: "linear" (default) a + (b - a) * f,
   * "lower" a, "higher" b, "nearest" the closer one (a tie to the even index), "midpoint"
   * (a + b) / 2; computed in f64, so "linear" and "midpoint" may fall between f32 values.
   */
  interpolation?: PercentileInterpolation;
}

const INTERPOLATIONS: readonly PercentileInterpolation[] = ["linear", "lower", "higher", "nearest", "midpoint"];

/** Where percentile p falls: the ranks to select and how to combine them. */
function percentilePlan(n: number, p: number, interpolation: PercentileInterpolation): { rank: number; fraction: number } {
  const position = (p / 100) * (n - 1);
  const lower = Math.floor(position);
  const fraction = position - lower;
  switch (interpolation) {
    case "lower":
      return { rank: lower, fraction: 0 };
    case "higher":
      return { rank: Math.ceil(position), fraction: 0 };
    case "nearest": {
      const nearest = fraction > 0.5 || (fraction === 0.5 && lower % 2 === 1) ? lower + 1 : lower;
      return { rank: nearest, fraction: 0 };
    }
    case "midpoint":
      return { rank: lower, fraction: fraction > 0 ? 0.5 : 0 };
    default:
      return { rank: lower, fraction };
  }
}

/** numpy's lerp: a + (b - a) t below t = 0.5, b - (b - a)(1 - t) above (exact at both ends). */
const lerp = (a: number, b: number, t: number): number => (t < 0.5 ? a + (b - a) * t : b - (b - a) * (1 - t));

/**
 * The p-th percentile (p in 0..100) of x, or of |x| with `abs`, as numpy.percentile (see
 * PercentileOptions.interpolation), by radix selection. NaN is an error.
 */
export function percentileOp(x: Float32Array, p: number, options: PercentileOptions = {}): OperationBuilder<number> {
  checkFloat32Array("percentile", "x", x);
  if (x.length === 0) fail("percentile", "x must not be empty");
  if (typeof p !== "number" || !(p >= 0 && p <= 100)) fail("percentile", `p must be a number in 0..100, but got ${p}`);
  const interpolation = options.interpolation ?? "linear";
  if (!INTERPOLATIONS.includes(interpolation)) {
    fail("percentile", `interpolation must be one of ${INTERPOLATIONS.join(", ")}, but got ${String(interpolation)}`);
  }
  const { rank, fraction } = percentilePlan(x.length, p, interpolation);
  const select = selectOp("percentile", "x", x, rank, options.abs ?? false, fraction > 0);
  return (core, parts) => {
    const op = select(core, parts);
    return {
      ...op,
      finish(results) {
        const { value, next } = op.finish(results);
        return fraction > 0 ? lerp(value, next, fraction) : value;
      },
    };
  };
}

/**
 * x sorted ascending into out (default: a new array; out may be x), in the order of
 * Float32Array.prototype.sort (-0 before +0), by a stable LSD radix sort. NaN is an error.
 */
export function sortAscendingOp(x: Float32Array, out?: Float32Array): OperationBuilder<Float32Array> {
  checkFloat32Array("sortAscending", "x", x);
  const target = out ?? new Float32Array(x.length);
  checkFloat32Array("sortAscending", "out", target);
  checkLength("sortAscending", "out", target.length, x.length);
  return (core) => {
    const staging = core.staging();
    const inPlace = target === x;
    const pout = inPlace ? staging.input(x) : staging.output(target);
    const tmp = staging.scratch(x.length * 4);
    const hist = staging.scratch(SORT_HIST_BYTES);
    const sort: KernelCall[] = [["radix_sort_f32", [pout, x.length, tmp, hist]]];
    return {
      phases: inPlace ? [sort] : [[["copy_bytes", [pout, staging.input(x), x.length * 4]]], sort],
      costNs: x.length * NS_PER_ELEMENT_SORT,
      finish(results) {
        checkNoNaNInOrder("sortAscending", results[results.length - 1][0], "x");
        staging.copyBack(pout, target);
        return target;
      },
      release: () => staging.release(),
    };
  };
}

// ------------------------------------------------------------------------------ masks

export interface MagnitudeMask {
  /** 1 where the weight is kept, 0 where it is pruned. */
  mask: Uint8Array;
  /** How many ones the mask holds. */
  kept: number;
}

export interface MagnitudeMaskOptions {
  /** Keep |w| > threshold instead of |w| >= threshold (WeightSparse: |w| > percentile). */
  strict?: boolean;
  /** Where to write the mask (default: a new Uint8Array). */
  out?: Uint8Array;
}

/**
 * mask[i] = 1 where |w[i]| >= threshold (or > with `strict`), else 0; NaN weights are
 * dropped. The threshold may be any number; it is compared exactly, not rounded to f32.
 */
export function magnitudeMaskOp(w: Float32Array, threshold: number, options: MagnitudeMaskOptions = {}): OperationBuilder<MagnitudeMask> {
  checkFloat32Array("magnitudeMask", "w", w);
  if (typeof threshold !== "number" || Number.isNaN(threshold)) {
    fail("magnitudeMask", `threshold must be a number, but got ${threshold}`);
  }
  const strict = options.strict ?? false;
  const mask = options.out ?? new Uint8Array(w.length);
  checkMaskArray("magnitudeMask", "out", mask, w.length);
  const t = strict ? f32AtMost(threshold) : f32AtLeast(threshold);
  return (core, parts) => {
    const staging = core.staging();
    const pw = staging.input(w);
    const pmask = staging.output(mask);
    const calls = rangesOf(w.length, parts).map(
      (r) => ["mask_abs_f32", [pw + r.start * 4, r.length, t, strict ? 1 : 0, pmask + r.start]] as KernelCall,
    );
    return {
      phases: [calls],
      costNs: w.length * NS_PER_ELEMENT_MASK,
      finish(results) {
        staging.copyBack(pmask, mask);
        return { mask, kept: results[0].reduce((a, b) => a + b, 0) };
      },
      release: () => staging.release(),
    };
  };
}

/** out[i] = mask[i] ? x[i] : 0, for weights or gradients; out may be x (default: a new array). */
export function applyMaskOp(x: Float32Array, mask: Uint8Array, out?: Float32Array): OperationBuilder<Float32Array> {
  checkFloat32Array("applyMask", "x", x);
  checkMaskArray("applyMask", "mask", mask, x.length);
  const target = out ?? new Float32Array(x.length);
  checkFloat32Array("applyMask", "out", target);
  checkLength("applyMask", "out", target.length, x.length);
  return (core, parts) => {
    const staging = core.staging();
    const px = staging.input(x);
    const pmask = staging.input(mask);
    const pout = target === x ? px : staging.output(target);
    const calls = rangesOf(x.length, parts).map(
      (r) => ["apply_mask_f32", [px + r.start * 4, pmask + r.start, r.length, pout + r.start * 4]] as KernelCall,
    );
    return {
      phases: [calls],
      costNs: x.length * NS_PER_ELEMENT_APPLY,
      finish() {
        staging.copyBack(pout, target);
        return target;
      },
      release: () => staging.release(),
    };
  };
}

function countOp(fn: string, array: Float32Array | Uint8Array, bytesPerElement: number): OperationBuilder<number> {
  return (core: KernelCore, parts: number) => {
    const staging = core.staging();
    const p = staging.input(array);
    const calls = rangesOf(array.length, parts).map(
      (r) => [fn, [p + r.start * bytesPerElement, r.length]] as KernelCall,
    );
    return {
      phases: [calls],
      costNs: array.length * NS_PER_BYTE_COUNT * bytesPerElement,
      finish: (results) => results[0].reduce((a, b) => a + b, 0),
      release: () => staging.release(),
    };
  };
}

/** Number of zeros (+0 or -0) in x. */
export function countZerosOp(x: Float32Array): OperationBuilder<number> {
  checkFloat32Array("countZeros", "x", x);
  return countOp("count_zeros_f32", x, 4);
}

/** Number of ones (non-zero bytes) in a mask: the weights it keeps. */
export function countKeptOp(mask: Uint8Array): OperationBuilder<number> {
  if (!(mask instanceof Uint8Array)) fail("countKept", "mask must be a Uint8Array (1 keep, 0 drop)");
  return countOp("count_nonzero_u8", mask, 1);
}

// ------------------------------------------------------------------ inline functions

/** The value at index `rank` of x (or |x|) sorted ascending; see orderStatisticOp. */
export const orderStatistic = (x: Float32Array, rank: number, options?: OrderOptions): number =>
  runInline(kernels(), orderStatisticOp(x, rank, options));

/** The threshold that keeps the `keep` largest magnitudes (ties at it all kept); see magnitudeThresholdOp. */
export const magnitudeThreshold = (w: Float32Array, keep: number): number => runInline(kernels(), magnitudeThresholdOp(w, keep));

/** The p-th percentile (0..100) of x or |x|, as numpy.percentile; see percentileOp. */
export const percentile = (x: Float32Array, p: number, options?: PercentileOptions): number =>
  runInline(kernels(), percentileOp(x, p, options));

/** x sorted ascending (radix sort); see sortAscendingOp. */
export const sortAscending = (x: Float32Array, out?: Float32Array): Float32Array => runInline(kernels(), sortAscendingOp(x, out));

/** Uint8 mask of |w| >= threshold (or >), with the count kept; see magnitudeMaskOp. */
export const magnitudeMask = (w: Float32Array, threshold: number, options?: MagnitudeMaskOptions): MagnitudeMask =>
  runInline(kernels(), magnitudeMaskOp(w, threshold, options));

/** x with the elements the mask drops set to 0; see applyMaskOp. */
export const applyMask = (x: Float32Array, mask: Uint8Array, out?: Float32Array): Float32Array =>
  runInline(kernels(), applyMaskOp(x, mask, out));

/** Number of zeros (+0 or -0) in x. */
export const countZeros = (x: Float32Array): number => runInline(kernels(), countZerosOp(x));

/** Fraction of x that is zero (0 for an empty array). */
export const sparsity = (x: Float32Array): number => (x.length === 0 ? 0 : countZeros(x) / x.length);

/** Number of ones in a mask. */
export const countKept = (mask: Uint8Array): number => runInline(kernels(), countKeptOp(mask));
