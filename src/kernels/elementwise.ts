// Element-wise arithmetic and sums over f32 arrays on the SIMD kernels. Binary operations come
// in the broadcast shapes that matter in training (same shape, one side a scalar, one side a
// row repeated over the rows of the other); sums reduce a [rows, cols] matrix over its rows
// (column sums: batch-norm statistics over N, H, W), over its columns (row sums) or entirely.
// Splits over the pool: element and row operations by ranges of the output; column sums by row
// ranges into per-part partial sums, added by a second phase.
import { checkInteger, fail } from "../util/check.js";
import { kernels } from "./core.js";
import { splitCount } from "../util/ranges.js";
import { runInline, type KernelCall, type OperationBuilder } from "./operation.js";

export type BinaryOp = "add" | "sub" | "mul" | "div" | "max" | "min" | "squaredDifference";
export type UnaryOp = "relu" | "relu6" | "neg" | "square" | "sqrt" | "rsqrt" | "abs" | "step";

/** The op codes of ew_binary_f32 and its row variants (assembly/elementwise.ts). */
export const BINARY_CODES: Record<BinaryOp, number> = { add: 0, sub: 1, mul: 2, div: 3, max: 4, min: 5, squaredDifference: 6 };
export const UNARY_CODES: Record<UnaryOp, number> = { relu: 0, relu6: 1, neg: 2, square: 3, sqrt: 4, rsqrt: 5, step: 6, abs: 7 };

// Rough single-thread costs per output element (memory bound), to decide when splitting pays.
const NS_PER_ELEMENT = 0.4;
const NS_PER_SUMMED = 0.15;
const MAX_I32 = 2 ** 31 - 1;
/** Elements per unit of an element-range split: whole SIMD blocks, tails only at the end. */
const SPLIT_UNIT = 16;

function binaryCode(where: string, op: BinaryOp): number {
  if (!Object.hasOwn(BINARY_CODES, op)) fail(where, `op must be one of ${Object.keys(BINARY_CODES).join(", ")}, but got '${op}'`);
  return BINARY_CODES[op];
}

function checkOut(where: string, out: Float32Array | undefined, length: number): Float32Array {
  if (out && out.length !== length) fail(where, `out must have ${length} elements, but has ${out.length}`);
  return out ?? new Float32Array(length);
}

function checkLength(where: string, length: number): void {
  checkInteger(where, "length", length, 0, MAX_I32);
}

/** Element ranges [start, end) of n elements, cut on multiples of SPLIT_UNIT. */
function elementRanges(n: number, parts: number): Array<[number, number]> {
  return splitCount(Math.ceil(n / SPLIT_UNIT), parts).map(([u0, u1]) => [u0 * SPLIT_UNIT, Math.min(n, u1 * SPLIT_UNIT)]);
}

/** An operation writing `target` from the given inputs, one phase of calls made by `calls`. */
function elementwise(
  inputs: Float32Array[], target: Float32Array, costNs: number, calls: (pointers: number[], pout: number, parts: number) => KernelCall[],
): OperationBuilder<Float32Array> {
  return (core, parts) => {
    const staging = core.staging();
    const pointers = inputs.map((x) => staging.input(x));
    const pout = staging.output(target);
    return {
      phases: target.length === 0 ? [] : [calls(pointers, pout, parts)],
      costNs,
      finish() {
        if (target.length > 0) staging.copyBack(pout, target);
        return target;
      },
      release: () => staging.release(),
    };
  };
}

/** out[i] = a[i] op b[i]. */
export function binaryOp(op: BinaryOp, a: Float32Array, b: Float32Array, out?: Float32Array): OperationBuilder<Float32Array> {
  const where = "binary";
  const code = binaryCode(where, op);
  checkLength(where, a.length);
  if (b.length !== a.length) fail(where, `a and b must have the same length, but have ${a.length} and ${b.length}`);
  const target = checkOut(where, out, a.length);
  return elementwise([a, b], target, a.length * NS_PER_ELEMENT, ([pa, pb], pout, parts) =>
    elementRanges(a.length, parts).map(([i0, i1]): KernelCall => ["ew_binary_f32", [code, pa, pb, pout, i0, i1]]));
}

/** out[i] = a[i] op s, or s op a[i] when `scalarFirst`. */
export function binaryScalarOp(op: BinaryOp, a: Float32Array, s: number, scalarFirst: boolean, out?: Float32Array): OperationBuilder<Float32Array> {
  const where = "binaryScalar";
  const code = binaryCode(where, op);
  checkLength(where, a.length);
  if (typeof s !== "number") fail(where, `s must be a number, but got ${typeof s}`);
  const target = checkOut(where, out, a.length);
  return elementwise([a], target, a.length * NS_PER_ELEMENT, ([pa], pout, parts) =>
    elementRanges(a.length, parts).map(([i0, i1]): KernelCall => ["ew_binary_scalar_f32", [code, pa, s, scalarFirst ? 1 : 0, pout, i0, i1]]));
}

/**
 * a seen as [rows, row.length]: out[r, c] = a[r, c] op row[c], or row[c] op a[r, c] when
 * `rowFirst`.
 */
export function binaryRowOp(op: BinaryOp, a: Float32Array, row: Float32Array, rowFirst: boolean, out?: Float32Array): OperationBuilder<Float32Array> {
  const where = "binaryRow";
  const code = binaryCode(where, op);
  checkLength(where, a.length);
  const cols = row.length;
  if (cols === 0 ? a.length !== 0 : a.length % cols !== 0) fail(where, `a's length ${a.length} must be a multiple of the row's length ${cols}`);
  const rows = cols === 0 ? 0 : a.length / cols;
  const target = checkOut(where, out, a.length);
  return elementwise([a, row], target, a.length * NS_PER_ELEMENT, ([pa, prow], pout, parts) =>
    splitCount(rows, parts).map(([r0, r1]): KernelCall => ["ew_binary_row_f32", [code, pa, prow, cols, rowFirst ? 1 : 0, pout, r0, r1]]));
}

/**
 * a seen as [blocks, rows, cols] and row as [blocks, cols]: out[k, r, c] = a[k, r, c] op
 * row[k, c], or row[k, c] op a[k, r, c] when `rowFirst` (a per-sample vector [N, 1, 1, C]
 * against [N, H, W, C], as global average pooling's gradient makes). One row call per block.
 */
export function binaryBlockRowOp(op: BinaryOp, a: Float32Array, row: Float32Array, blocks: number, rowFirst: boolean, out?: Float32Array): OperationBuilder<Float32Array> {
  const where = "binaryBlockRow";
  const code = binaryCode(where, op);
  checkLength(where, a.length);
  checkInteger(where, "blocks", blocks, 1, MAX_I32);
  if (row.length % blocks !== 0) fail(where, `the row's length ${row.length} must be a multiple of blocks (${blocks})`);
  if (row.length === 0 ? a.length !== 0 : a.length % row.length !== 0) fail(where, `a's length ${a.length} must be a multiple of the row's length ${row.length}`);
  const cols = row.length / blocks;
  const rows = row.length === 0 ? 0 : a.length / row.length;
  const target = checkOut(where, out, a.length);
  const blockBytes = rows * cols * 4;
  return elementwise([a, row], target, a.length * NS_PER_ELEMENT, ([pa, prow], pout) =>
    Array.from({ length: blocks }, (_, k): KernelCall =>
      ["ew_binary_row_f32", [code, pa + k * blockBytes, prow + k * cols * 4, cols, rowFirst ? 1 : 0, pout + k * blockBytes, 0, rows]]));
}

/** out[i] = f(x[i]); `alpha` is step's value where x <= 0. */
export function unaryOp(op: UnaryOp, x: Float32Array, alpha = 0, out?: Float32Array): OperationBuilder<Float32Array> {
  const where = "unary";
  if (!Object.hasOwn(UNARY_CODES, op)) fail(where, `op must be one of ${Object.keys(UNARY_CODES).join(", ")}, but got '${op}'`);
  const code = UNARY_CODES[op];
  checkLength(where, x.length);
  const target = checkOut(where, out, x.length);
  return elementwise([x], target, x.length * NS_PER_ELEMENT, ([px], pout, parts) =>
    elementRanges(x.length, parts).map(([i0, i1]): KernelCall => ["ew_unary_f32", [code, px, alpha, pout, i0, i1]]));
}

/** out[i] = dy[i]·step(x[i]) (relu's gradient: dy where x > 0, dy·0 elsewhere, NaN where x is NaN). */
export function reluGradOp(dy: Float32Array, x: Float32Array, out?: Float32Array): OperationBuilder<Float32Array> {
  const where = "reluGrad";
  checkLength(where, dy.length);
  if (x.length !== dy.length) fail(where, `dy and x must have the same length, but have ${dy.length} and ${x.length}`);
  const target = checkOut(where, out, dy.length);
  return elementwise([dy, x], target, dy.length * NS_PER_ELEMENT, ([pdy, px], pout, parts) =>
    elementRanges(dy.length, parts).map(([i0, i1]): KernelCall => ["ew_relu_grad_f32", [pdy, px, pout, i0, i1]]));
}

function checkClipRange(where: string, lo: number, hi: number): void {
  if (!(lo <= hi)) fail(where, `the range must have lo <= hi, but got [${lo}, ${hi}]`);
}

/** out[i] = x[i] clipped to [lo, hi] as tfjs's ClipByValue does (NaN stays NaN). */
export function clipOp(x: Float32Array, lo: number, hi: number, out?: Float32Array): OperationBuilder<Float32Array> {
  const where = "clip";
  checkLength(where, x.length);
  checkClipRange(where, lo, hi);
  const target = checkOut(where, out, x.length);
  return elementwise([x], target, x.length * NS_PER_ELEMENT, ([px], pout, parts) =>
    elementRanges(x.length, parts).map(([i0, i1]): KernelCall => ["ew_clip_f32", [px, lo, hi, pout, i0, i1]]));
}

/** out[i] = dy[i] where lo <= x[i] <= hi, else 0 (ClipByValue's gradient; NaN x gives 0). */
export function clipGradOp(dy: Float32Array, x: Float32Array, lo: number, hi: number, out?: Float32Array): OperationBuilder<Float32Array> {
  const where = "clipGrad";
  checkLength(where, dy.length);
  checkClipRange(where, lo, hi);
  if (x.length !== dy.length) fail(where, `dy and x must have the same length, but have ${dy.length} and ${x.length}`);
  const target = checkOut(where, out, dy.length);
  return elementwise([dy, x], target, dy.length * NS_PER_ELEMENT, ([pdy, px], pout, parts) =>
    elementRanges(dy.length, parts).map(([i0, i1]): KernelCall => ["ew_clip_grad_f32", [pdy, px, lo, hi, pout, i0, i1]]));
}

/** Which way a [rows, cols] matrix is summed: over its rows (out [cols]), its columns (out [rows]) or all of it (out [1]). */
export type SumAxis = "rows" | "columns" | "all";

function checkMatrix(where: string, x: Float32Array, rows: number, cols: number): void {
  checkInteger(where, "rows", rows, 0, MAX_I32);
  checkInteger(where, "cols", cols, 0, MAX_I32);
  if (rows * cols !== x.length) fail(where, `x must hold [${rows}, ${cols}] (${rows * cols} elements), but has ${x.length}`);
}

/**
 * scale * the sums of x seen as a [rows, cols] matrix: over the rows (`over` = "rows": column
 * sums, out [cols]), over the columns ("columns": row sums, out [rows]) or all ("all": out [1]).
 * Accumulates in f32 blocks added into f64.
 */
export function sumOp(x: Float32Array, rows: number, cols: number, over: SumAxis, scale = 1, out?: Float32Array): OperationBuilder<Float32Array> {
  const where = "sum";
  checkMatrix(where, x, rows, cols);
  if (over !== "rows" && over !== "columns" && over !== "all") fail(where, `over must be 'rows', 'columns' or 'all', but got '${over}'`);
  const length = over === "rows" ? cols : over === "columns" ? rows : 1;
  const target = checkOut(where, out, length);
  const costNs = x.length * NS_PER_SUMMED;
  return (core, parts) => {
    const staging = core.staging();
    const px = x.length > 0 ? staging.input(x) : 0;
    const pout = staging.output(target);
    const phases: KernelCall[][] = [];
    let finishAll: ((results: number[][]) => void) | undefined;
    if (x.length === 0) {
      target.fill(0);
    } else if (over === "all") {
      phases.push(elementRanges(x.length, parts).map(([i0, i1]): KernelCall => ["ew_sum_f32", [px, i0, i1]]));
      finishAll = (results) => {
        let total = 0;
        for (const partial of results[0]) total += partial;
        target[0] = total * scale;
      };
    } else if (over === "columns") {
      phases.push(splitCount(rows, parts).map(([r0, r1]): KernelCall => ["ew_sum_rows_f32", [px, cols, scale, r0, r1, pout]]));
    } else {
      // column sums: each part sums a range of rows into its own partial row, then a phase adds them
      const rowRanges = splitCount(rows, parts);
      const acc = staging.scratch(rowRanges.length * cols * 8);
      if (rowRanges.length === 1) {
        phases.push([["ew_sum_columns_f32", [px, cols, scale, 0, rows, acc, pout]]]);
      } else {
        const partials = staging.scratch(rowRanges.length * cols * 4);
        phases.push(rowRanges.map(([r0, r1], p): KernelCall => [
          "ew_sum_columns_f32", [px, cols, scale, r0, r1, acc + p * cols * 8, partials + p * cols * 4],
        ]));
        phases.push(splitCount(cols, parts).map(([c0, c1]): KernelCall => [
          "ew_sum_partials_f32", [partials, rowRanges.length, cols, c0, c1, pout],
        ]));
      }
    }
    return {
      phases,
      costNs,
      finish(results) {
        if (finishAll) finishAll(results);
        else if (phases.length > 0) staging.copyBack(pout, target);
        return target;
      },
      release: () => staging.release(),
    };
  };
}

/**
 * scale * the sums over the middle axis of x seen as [blocks, rows, cols]: out[k, c] = scale *
 * sum over r of x[k, r, c] (global average pooling: a mean over H, W of [N, H, W, C]). One
 * column-sum call per block, each with its own f64 accumulators.
 */
export function sumMiddleOp(x: Float32Array, blocks: number, rows: number, cols: number, scale = 1, out?: Float32Array): OperationBuilder<Float32Array> {
  const where = "sumMiddle";
  checkInteger(where, "blocks", blocks, 0, MAX_I32);
  checkMatrix(where, x, blocks * rows, cols);
  const target = checkOut(where, out, blocks * cols);
  return (core, parts) => {
    const staging = core.staging();
    const px = x.length > 0 ? staging.input(x) : 0;
    const pout = staging.output(target);
    const acc = staging.scratch(Math.max(1, blocks * cols) * 8);
    const calls = Array.from({ length: x.length > 0 ? blocks : 0 }, (_, k): KernelCall =>
      ["ew_sum_columns_f32", [px + k * rows * cols * 4, cols, scale, 0, rows, acc + k * cols * 8, pout + k * cols * 4]]);
    if (calls.length === 0) target.fill(0);
    return {
      phases: calls.length === 0 ? [] : [calls],
      costNs: x.length * NS_PER_SUMMED,
      finish() {
        if (calls.length > 0) staging.copyBack(pout, target);
        return target;
      },
      release: () => staging.release(),
    };
  };
}

/** Element-wise a op b, on this thread. */
export const binary = (op: BinaryOp, a: Float32Array, b: Float32Array, out?: Float32Array): Float32Array =>
  runInline(kernels(), binaryOp(op, a, b, out));

/** a op s (or s op a), on this thread. */
export const binaryScalar = (op: BinaryOp, a: Float32Array, s: number, scalarFirst: boolean, out?: Float32Array): Float32Array =>
  runInline(kernels(), binaryScalarOp(op, a, s, scalarFirst, out));

/** a op row broadcast over a's rows (or row op a), on this thread. */
export const binaryRow = (op: BinaryOp, a: Float32Array, row: Float32Array, rowFirst: boolean, out?: Float32Array): Float32Array =>
  runInline(kernels(), binaryRowOp(op, a, row, rowFirst, out));

/** Element-wise f(x), on this thread. */
export const unary = (op: UnaryOp, x: Float32Array, alpha = 0, out?: Float32Array): Float32Array => runInline(kernels(), unaryOp(op, x, alpha, out));

/** Sums of a [rows, cols] matrix, on this thread. */
export const sum = (x: Float32Array, rows: number, cols: number, over: SumAxis, scale = 1, out?: Float32Array): Float32Array =>
  runInline(kernels(), sumOp(x, rows, cols, over, scale, out));

/** a op row broadcast over the rows of each block (or row op a), on this thread. */
export const binaryBlockRow = (op: BinaryOp, a: Float32Array, row: Float32Array, blocks: number, rowFirst: boolean, out?: Float32Array): Float32Array =>
  runInline(kernels(), binaryBlockRowOp(op, a, row, blocks, rowFirst, out));

/** Sums over the middle axis of [blocks, rows, cols], on this thread. */
export const sumMiddle = (x: Float32Array, blocks: number, rows: number, cols: number, scale = 1, out?: Float32Array): Float32Array =>
  runInline(kernels(), sumMiddleOp(x, blocks, rows, cols, scale, out));

/** Relu's gradient dy·step(x), on this thread. */
export const reluGrad = (dy: Float32Array, x: Float32Array, out?: Float32Array): Float32Array => runInline(kernels(), reluGradOp(dy, x, out));

/** x clipped to [lo, hi], on this thread. */
export const clip = (x: Float32Array, lo: number, hi: number, out?: Float32Array): Float32Array => runInline(kernels(), clipOp(x, lo, hi, out));

/** ClipByValue's gradient, on this thread. */
export const clipGrad = (dy: Float32Array, x: Float32Array, lo: number, hi: number, out?: Float32Array): Float32Array =>
  runInline(kernels(), clipGradOp(dy, x, lo, hi, out));
