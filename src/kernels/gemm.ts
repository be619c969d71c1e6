// Matrix multiplication on the SIMD kernels: fp32 C = A·B (+C) and 8-bit C(int32) = (A-zpA)·(B-zpB).
// Phase 1 packs A (by row tiles) and B (by column panels); phase 2 multiplies row tiles.
// Both phases split over the pool: packing by tile/panel ranges, the product by row tiles,
// so each thread writes its own rows of C.
import { splitCount } from "../util/ranges.js";
import { checkInteger, checkNoNaN, fail } from "../util/check.js";
import { kernels, type KernelCore } from "./core.js";
import { runInline, type KernelCall, type OperationBuilder } from "./operation.js";

const TILE_ROWS = 4;
const PANEL_COLS = 8;
/** Bytes of A (m × k) packed by gemm_f32_pack_a: whole tiles of 4 rows, zero-padded. */
export const packedABytes = (m: number, k: number): number => Math.ceil(m / TILE_ROWS) * TILE_ROWS * k * 4;
/** Bytes of B (k × n) packed by gemm_f32_pack_b: whole panels of 8 columns, zero-padded. */
export const packedBBytes = (k: number, n: number): number => Math.ceil(n / PANEL_COLS) * PANEL_COLS * k * 4;
// Single-thread cost used to decide when splitting pays (kernels-bench measures ~45 GFLOP/s fp32).
const NS_PER_MAC_F32 = 0.045;
const NS_PER_MAC_Q8 = 0.022;
/** Largest K for which int32 accumulation of (a - zp)(b - zp) products cannot overflow. */
export const MAX_GEMM_Q8_DEPTH = 32768;

export interface GemmShape {
  /** Rows of A and C. */
  m: number;
  /** Columns of B and C. */
  n: number;
  /** Columns of A, rows of B. */
  k: number;
}

export interface GemmF32Options {
  /** A is stored K×M (use Aᵀ). */
  transA?: boolean;
  /** B is stored N×K (use Bᵀ). */
  transB?: boolean;
  /** Add the product to `out` instead of overwriting it. */
  accumulate?: boolean;
}


function checkShape(where: string, shape: GemmShape, a: { length: number }, b: { length: number }, out: { length: number } | undefined): void {
  checkInteger(where, "m", shape.m, 0);
  checkInteger(where, "n", shape.n, 0);
  checkInteger(where, "k", shape.k, 0);
  const { m, n, k } = shape;
  if (a.length !== m * k) fail(where, `A must have m·k = ${m}·${k} = ${m * k} elements, but has ${a.length}`);
  if (b.length !== k * n) fail(where, `B must have k·n = ${k}·${n} = ${k * n} elements, but has ${b.length}`);
  if (out && out.length !== m * n) fail(where, `out must have m·n = ${m}·${n} = ${m * n} elements, but has ${out.length}`);
}

function hasNaN(x: Float32Array): number {
  let count = 0;
  for (let i = 0; i < x.length; i++) if (x[i] !== x[i]) count++;
  return count;
}

export function gemmF32Op(a: Float32Array, b: Float32Array, shape: GemmShape, options: GemmF32Options = {}, out?: Float32Array): OperationBuilder<Float32Array> {
  checkShape("gemmF32", shape, a, b, out);
  const { m, n, k } = shape;
  const target = out ?? new Float32Array(m * n);
  const transA = options.transA ? 1 : 0;
  const transB = options.transB ? 1 : 0;
  return (core: KernelCore, parts: number) => {
    const staging = core.staging();
    const pa = staging.input(a);
    const pb = staging.input(b);
    const pc = staging.output(target);
    if (options.accumulate && !core.isResident(target)) core.view(Float32Array, pc, m * n).set(target);
    const tiles = Math.ceil(m / TILE_ROWS);
    const panels = Math.ceil(n / PANEL_COLS);
    const packedA = staging.scratch(packedABytes(m, k));
    const packedB = staging.scratch(packedBBytes(k, n));
    const lda = transA ? m : k;
    const ldb = transB ? k : n;
    const pack: KernelCall[] = [
      ...splitCount(tiles, parts).map(([t0, t1]) => ["gemm_f32_pack_a", [pa, lda, m, k, transA, packedA, t0, t1]] as const),
      ...splitCount(panels, parts).map(([p0, p1]) => ["gemm_f32_pack_b", [pb, ldb, k, n, transB, packedB, p0, p1]] as const),
    ];
    const multiply = splitCount(tiles, parts).map(
      ([t0, t1]) => ["gemm_f32_packed", [packedA, packedB, pc, n, m, n, k, t0, t1, options.accumulate ? 1 : 0]] as const,
    );
    return {
      phases: [pack, multiply],
      costNs: m * n * k * NS_PER_MAC_F32,
      finish() {
        staging.copyBack(pc, target);
        return target;
      },
      release: () => staging.release(),
    };
  };
}

/** C = A·B for row-major f32 matrices (A m×k, B k×n), with optional transposes and accumulation. */
export function gemmF32(a: Float32Array, b: Float32Array, shape: GemmShape, options: GemmF32Options = {}, out?: Float32Array): Float32Array {
  return runInline(kernels(), gemmF32Op(a, b, shape, options, out));
}

export interface QuantizedMatrix {
  /** int8 (signed) or uint8 values. */
  data: Int8Array | Uint8Array;
  /** The value that represents real 0. */
  zeroPoint: number;
}

export interface GemmQ8Options {
  /** B is stored N×K (weights as [out, in]). */
  transB?: boolean;
  accumulate?: boolean;
}

function checkZeroPoint(where: string, name: string, matrix: QuantizedMatrix): void {
  const signed = matrix.data instanceof Int8Array;
  checkInteger(where, `${name}.zeroPoint`, matrix.zeroPoint, signed ? -128 : 0, signed ? 127 : 255);
}

export function gemmQ8Op(a: QuantizedMatrix, b: QuantizedMatrix, shape: GemmShape, options: GemmQ8Options = {}, out?: Int32Array): OperationBuilder<Int32Array> {
  checkShape("gemmQ8", shape, a.data, b.data, out);
  checkZeroPoint("gemmQ8", "A", a);
  checkZeroPoint("gemmQ8", "B", b);
  const { m, n, k } = shape;
  if (k > MAX_GEMM_Q8_DEPTH) fail("gemmQ8", `k must be at most ${MAX_GEMM_Q8_DEPTH} for exact int32 accumulation, but got ${k}; split the sum over k`);
  const target = out ?? new Int32Array(m * n);
  const signedA = a.data instanceof Int8Array ? 1 : 0;
  const signedB = b.data instanceof Int8Array ? 1 : 0;
  return (core: KernelCore, parts: number) => {
    const staging = core.staging();
    const pa = staging.input(a.data);
    const pb = staging.input(b.data);
    const pc = staging.output(target);
    if (options.accumulate && !core.isResident(target)) core.view(Int32Array, pc, m * n).set(target);
    const tiles = Math.ceil(m / TILE_ROWS);
    const panels = Math.ceil(n / PANEL_COLS);
    const pairs = Math.ceil(k / 2);
    const packedA = staging.scratch(tiles * pairs * 16);
    const packedB = staging.scratch(panels * pairs * 32);
    const pack: KernelCall[] = [
      ...splitCount(tiles, parts).map(([t0, t1]) => ["gemm_q8_pack_a", [pa, k, m, k, signedA, a.zeroPoint, packedA, t0, t1]] as const),
      ...splitCount(panels, parts).map(([p0, p1]) => ["gemm_q8_pack_b", [pb, options.transB ? k : n, k, n, signedB, b.zeroPoint, options.transB ? 1 : 0, packedB, p0, p1]] as const),
    ];
    const multiply = splitCount(tiles, parts).map(
      ([t0, t1]) => ["gemm_q8_packed", [packedA, packedB, pc, n, m, n, k, t0, t1, options.accumulate ? 1 : 0]] as const,
    );
    return {
      phases: [pack, multiply],
      costNs: m * n * k * NS_PER_MAC_Q8,
      finish() {
        staging.copyBack(pc, target);
        return target;
      },
      release: () => staging.release(),
    };
  };
}

/** int32 C = (A - zpA)·(B - zpB) for 8-bit row-major matrices, exact. */
export function gemmQ8(a: QuantizedMatrix, b: QuantizedMatrix, shape: GemmShape, options: GemmQ8Options = {}, out?: Int32Array): Int32Array {
  return runInline(kernels(), gemmQ8Op(a, b, shape, options, out));
}

/** Throws when a matrix holds NaN; GEMM itself propagates NaN, callers that must not can check. */
export function checkFinite(where: string, x: Float32Array, name: string): void {
  checkNoNaN(where, hasNaN(x), name);
}
