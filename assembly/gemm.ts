// Matrix multiplication C[M×N] (+)= A[M×K] · B[K×N], row-major, fp32 and 8-bit.
//
// Both operands are packed first (O(MK + KN), against O(MNK) for the product):
//   A into tiles of 4 rows, k-major:   tile t, step k -> the 4 values A[4t..4t+3][k]
//   B into panels of 8 columns:        panel p, step k -> the 8 values B[k][8p..8p+7]
// so the micro-kernel streams both from contiguous memory, zero-padded at the edges, and
// transposed operands cost nothing extra. The 4×8 micro-tile keeps 8 v128 accumulators,
// 2 B vectors and 1 A splat in registers: x64 gives wasm 16 xmm registers, and this shape
// is the largest that does not spill while keeping 2 mul + 2 add per cycle busy.
// The 8-bit path packs values as int16 (zero point subtracted) in k-pairs, so that one
// i32x4.dot_i16x8_s (pmaddwd) does 8 multiply-adds: A pairs are splatted with
// v128.load32_splat, B holds [b(k,j), b(k+1,j)] for 4 columns per vector.
import { clipF32, clipF32x4 } from "./elementwise";
import { dotPairQ8, storeTileQ8 } from "./tile-q8";

export const GEMM_TILE_ROWS: i32 = 4;
export const GEMM_PANEL_COLS: i32 = 8;

/** Bytes of packed A (f32): ceil(M/4)·4·K floats. */
export function gemm_f32_packed_a_bytes(m: i32, k: i32): usize {
  return (<usize>((m + 3) >> 2) << 2) * <usize>k * 4;
}

/** Bytes of packed B (f32): ceil(N/8)·8·K floats. */
export function gemm_f32_packed_b_bytes(k: i32, n: i32): usize {
  return (<usize>((n + 7) >> 3) << 3) * <usize>k * 4;
}

/**
 * Packs row tiles [t0, t1) of A (M×K, or K×M when transA) into `out`.
 * lda is the row stride of A as stored, in elements.
 */
export function gemm_f32_pack_a(a: usize, lda: i32, m: i32, k: i32, transA: bool, out: usize, t0: i32, t1: i32): void {
  for (let t = t0; t < t1; t++) {
    const row0 = t << 2;
    const rows = min(4, m - row0);
    let dst = out + (<usize>t * <usize>k << 4);
    let kk = 0;
    if (transA && rows == 4) {
      // A stored K×M: the 4 values of step kk are contiguous
      for (; kk < k; kk++) {
        v128.store(dst, v128.load(a + ((<usize>kk * <usize>lda + <usize>row0) << 2)));
        dst += 16;
      }
      continue;
    }
    if (!transA && rows == 4) {
      // 4 rows × 4 steps at a time, transposed in registers
      const r0 = a + ((<usize>row0 * <usize>lda) << 2);
      const stride = <usize>lda << 2;
      for (; kk + 4 <= k; kk += 4) {
        const p = r0 + (<usize>kk << 2);
        const v0 = v128.load(p);
        const v1 = v128.load(p + stride);
        const v2 = v128.load(p + 2 * stride);
        const v3 = v128.load(p + 3 * stride);
        const t0 = i32x4.shuffle(v0, v1, 0, 4, 1, 5);
        const t1 = i32x4.shuffle(v2, v3, 0, 4, 1, 5);
        const t2 = i32x4.shuffle(v0, v1, 2, 6, 3, 7);
        const t3 = i32x4.shuffle(v2, v3, 2, 6, 3, 7);
        v128.store(dst, i32x4.shuffle(t0, t1, 0, 1, 4, 5));
        v128.store(dst, i32x4.shuffle(t0, t1, 2, 3, 6, 7), 16);
        v128.store(dst, i32x4.shuffle(t2, t3, 0, 1, 4, 5), 32);
        v128.store(dst, i32x4.shuffle(t2, t3, 2, 3, 6, 7), 48);
        dst += 64;
      }
    }
    for (; kk < k; kk++) {
      for (let r = 0; r < 4; r++) {
        let v: f32 = 0;
        if (r < rows) {
          v = transA
            ? load<f32>(a + ((<usize>kk * <usize>lda + <usize>(row0 + r)) << 2))
            : load<f32>(a + ((<usize>(row0 + r) * <usize>lda + <usize>kk) << 2));
        }
        store<f32>(dst + (<usize>r << 2), v);
      }
      dst += 16;
    }
  }
}

/** Packs column panels [p0, p1) of B (K×N, or N×K when transB) into `out`. */
export function gemm_f32_pack_b(b: usize, ldb: i32, k: i32, n: i32, transB: bool, out: usize, p0: i32, p1: i32): void {
  for (let p = p0; p < p1; p++) {
    const col0 = p << 3;
    const cols = min(8, n - col0);
    let dst = out + (<usize>p * <usize>k << 5);
    if (!transB && cols == 8) {
      for (let kk = 0; kk < k; kk++) {
        const src = b + ((<usize>kk * <usize>ldb + <usize>col0) << 2);
        v128.store(dst, v128.load(src));
        v128.store(dst, v128.load(src, 16), 16);
        dst += 32;
      }
      continue;
    }
    for (let kk = 0; kk < k; kk++) {
      for (let j = 0; j < 8; j++) {
        let v: f32 = 0;
        if (j < cols) {
          v = transB
            ? load<f32>(b + ((<usize>(col0 + j) * <usize>ldb + <usize>kk) << 2))
            : load<f32>(b + ((<usize>kk * <usize>ldb + <usize>(col0 + j)) << 2));
        }
        store<f32>(dst + (<usize>j << 2), v);
      }
      dst += 32;
    }
  }
}

// @ts-ignore: decorator
@inline
function storeTileF32(c: usize, ldc: i32, rows: i32, cols: i32, add: bool,
  c00: v128, c01: v128, c10: v128, c11: v128, c20: v128, c21: v128, c30: v128, c31: v128): void {
  const stride = <usize>ldc << 2;
  if (rows == 4 && cols == 8) {
    if (add) {
      c00 = f32x4.add(c00, v128.load(c)); c01 = f32x4.add(c01, v128.load(c, 16));
      c10 = f32x4.add(c10, v128.load(c + stride)); c11 = f32x4.add(c11, v128.load(c + stride, 16));
      c20 = f32x4.add(c20, v128.load(c + 2 * stride)); c21 = f32x4.add(c21, v128.load(c + 2 * stride, 16));
      c30 = f32x4.add(c30, v128.load(c + 3 * stride)); c31 = f32x4.add(c31, v128.load(c + 3 * stride, 16));
    }
    v128.store(c, c00); v128.store(c, c01, 16);
    v128.store(c + stride, c10); v128.store(c + stride, c11, 16);
    v128.store(c + 2 * stride, c20); v128.store(c + 2 * stride, c21, 16);
    v128.store(c + 3 * stride, c30); v128.store(c + 3 * stride, c31, 16);
    return;
  }
  // edge tile: write only the valid rows and columns, whole vectors where 4 columns are valid
  for (let r = 0; r < rows; r++) {
    let lo = r == 0 ? c00 : r == 1 ? c10 : r == 2 ? c20 : c30;
    let hi = r == 0 ? c01 : r == 1 ? c11 : r == 2 ? c21 : c31;
    const row = c + <usize>r * stride;
    let j = 0;
    if (cols >= 4) {
      v128.store(row, add ? f32x4.add(lo, v128.load(row)) : lo);
      lo = hi;
      j = 4;
      if (cols == 8) {
        v128.store(row, add ? f32x4.add(hi, v128.load(row, 16)) : hi, 16);
        continue;
      }
    }
    for (; j < cols; j++) {
      const v = extractF32(lo, j & 3);
      const p = row + (<usize>j << 2);
      store<f32>(p, add ? load<f32>(p) + v : v);
    }
  }
}

// @ts-ignore: decorator
@inline
function extractF32(v: v128, lane: i32): f32 {
  return lane == 0 ? f32x4.extract_lane(v, 0) : lane == 1 ? f32x4.extract_lane(v, 1) : lane == 2 ? f32x4.extract_lane(v, 2) : f32x4.extract_lane(v, 3);
}

/**
 * acc + a·b. The relaxed-SIMD build (kernels-relaxed.wasm) uses relaxed_madd, which V8 turns
 * into one fused multiply-add where the CPU has FMA: half the instructions of mul + add, and
 * one rounding instead of two.
 */
// @ts-ignore: decorator
@inline
export function fmaRowF32(acc: v128, a: v128, b: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, acc);
  return f32x4.add(acc, f32x4.mul(a, b));
}

/**
 * One 4×8 tile of C over kc steps where step k's 4 A values and 8 B values are contiguous but
 * the steps lie aStep and bStep bytes apart: packed A and B (16 and 32 bytes, microF32), or A
 * stored K×M and B stored K×N, row-major, as Winograd's transformed tiles are (the filter
 * gradient's V[ξ]ᵀ · Z[ξ]).
 */
// @ts-ignore: decorator
@inline
function microF32Strided(a: usize, aStep: usize, b: usize, bStep: usize, kc: i32, c: usize, ldc: i32, rows: i32, cols: i32, add: bool): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  for (let kk = 0; kk < kc; kk++) {
    const b0 = v128.load(b);
    const b1 = v128.load(b, 16);
    let a0 = v128.load32_splat(a);
    c00 = fmaRowF32(c00, a0, b0); c01 = fmaRowF32(c01, a0, b1);
    a0 = v128.load32_splat(a, 4);
    c10 = fmaRowF32(c10, a0, b0); c11 = fmaRowF32(c11, a0, b1);
    a0 = v128.load32_splat(a, 8);
    c20 = fmaRowF32(c20, a0, b0); c21 = fmaRowF32(c21, a0, b1);
    a0 = v128.load32_splat(a, 12);
    c30 = fmaRowF32(c30, a0, b0); c31 = fmaRowF32(c31, a0, b1);
    a += aStep;
    b += bStep;
  }
  storeTileF32(c, ldc, rows, cols, add, c00, c01, c10, c11, c20, c21, c30, c31);
}

/**
 * One 4×8 tile of C over kc steps of packed A (tile) and packed B (panel), one k step per
 * iteration. Inlined into the tile loop, as are the other micro-kernels: V8 does not inline
 * wasm calls, and a call per tile cost 6-14% of the packed GEMMs and up to 30% of
 * gemm_f32_rows at depth 16 (old and new build alternating in one process). Not unrolled:
 * with two k steps per iteration V8 (TurboFan) loads both steps' A and B values up front,
 * runs out of its 16 vector registers and spills half the accumulators to the stack every
 * iteration (seen in --print-wasm-code); one step keeps all 14 live vectors in registers,
 * 1.3-2.0x faster on every GEMM shape of MobileNet-v2 and ResNet-20 (both builds alternating).
 */
// @ts-ignore: decorator
@inline
function microF32(a: usize, b: usize, kc: i32, c: usize, ldc: i32, rows: i32, cols: i32, add: bool): void {
  // a packed tile's 4 A values and a panel's 8 B values per step lie 16 and 32 bytes apart
  microF32Strided(a, 16, b, 32, kc, c, ldc, rows, cols, add);
}

/**
 * Depth of one K block. Measured at 512^3 and 1024^3: deeper blocks win up to 512 steps (fewer
 * passes that reload and store C tiles), even when the B block then spills from L2 to L3:
 * each micro-tile streams its B panel sequentially, which the prefetcher hides.
 */
function blockDepth(k: i32): i32 {
  return min(k, 512);
}

/**
 * Row tiles per block (64 rows): the block's packed A (at most 128 KiB) stays in L2 while each
 * B panel (at most 16 KiB) stays in L1 across the block's tiles, so B is streamed from L3 once
 * per block instead of once per tile (measured: the int8 kernel, which eats B twice as fast,
 * went from ~0.64 to ~0.9 of the dot peak at 512^3).
 */
const BLOCK_TILES: i32 = 16;

/**
 * C rows of tiles [t0, t1) = packed A · packed B (+ C when accumulate).
 * C is M×N with row stride ldc (elements).
 */
export function gemm_f32_packed(pa: usize, pb: usize, c: usize, ldc: i32, m: i32, n: i32, k: i32, t0: i32, t1: i32, accumulate: bool): void {
  const panels = (n + 7) >> 3;
  const kcMax = blockDepth(k);
  if (k == 0) {
    // an empty sum: C = 0 (or unchanged when accumulating)
    if (!accumulate) {
      for (let r = t0 << 2; r < min(m, t1 << 2); r++) memory.fill(c + ((<usize>r * <usize>ldc) << 2), 0, <usize>n << 2);
    }
    return;
  }
  for (let kb = 0; kb < k; kb += kcMax) {
    const kc = min(kcMax, k - kb);
    const add = accumulate || kb > 0;
    for (let tb = t0; tb < t1; tb += BLOCK_TILES) {
      const tEnd = min(t1, tb + BLOCK_TILES);
      for (let p = 0; p < panels; p++) {
        const b = pb + ((<usize>p * <usize>k + <usize>kb) << 5);
        const cols = min(8, n - (p << 3));
        for (let t = tb; t < tEnd; t++) {
          const a = pa + ((<usize>t * <usize>k + <usize>kb) << 4);
          const c0 = c + ((<usize>(t << 2) * <usize>ldc + <usize>(p << 3)) << 2);
          microF32(a, b, kc, c0, ldc, min(4, m - (t << 2)), cols, add);
        }
      }
    }
  }
}

// ------------------------------------------------------------------ 8-bit

/** Bytes of packed 8-bit A: ceil(M/4) tiles × ceil(K/2) pairs × 4 rows × 2 int16. */
export function gemm_q8_packed_a_bytes(m: i32, k: i32): usize {
  return <usize>((m + 3) >> 2) * <usize>((k + 1) >> 1) * 16;
}

/** Bytes of packed 8-bit B: ceil(N/8) panels × ceil(K/2) pairs × 8 columns × 2 int16. */
export function gemm_q8_packed_b_bytes(k: i32, n: i32): usize {
  return <usize>((n + 7) >> 3) * <usize>((k + 1) >> 1) * 32;
}

// @ts-ignore: decorator
@inline
function loadQ8(p: usize, signed: bool): i32 {
  return signed ? <i32>load<i8>(p) : <i32>load<u8>(p);
}

/**
 * Packs row tiles [t0, t1) of 8-bit A (M×K row-major, int8 when signed else uint8) as
 * int16 pairs of (a - zeroPoint); padding rows and the odd last k are 0 (= real zero).
 */
export function gemm_q8_pack_a(a: usize, lda: i32, m: i32, k: i32, signed: bool, zeroPoint: i32, out: usize, t0: i32, t1: i32): void {
  const pairs = (k + 1) >> 1;
  const zp = i16x8.splat(<i16>zeroPoint);
  for (let t = t0; t < t1; t++) {
    const row0 = t << 2;
    const rows = min(4, m - row0);
    let dst = out + <usize>t * <usize>pairs * 16;
    let kp = 0;
    if (rows == 4) {
      // 8 k (4 pairs) of 4 rows at a time: widen to int16, then a 4×4 transpose of the
      // 32-bit pairs puts the 4 rows of one pair side by side
      const r0 = a + <usize>row0 * <usize>lda;
      const stride = <usize>lda;
      for (; (kp << 1) + 8 <= k; kp += 4) {
        const p = r0 + <usize>(kp << 1);
        const v0 = i16x8.sub(widenQ8(v128.load64_zero(p), signed), zp);
        const v1 = i16x8.sub(widenQ8(v128.load64_zero(p + stride), signed), zp);
        const v2 = i16x8.sub(widenQ8(v128.load64_zero(p + 2 * stride), signed), zp);
        const v3 = i16x8.sub(widenQ8(v128.load64_zero(p + 3 * stride), signed), zp);
        const x0 = i32x4.shuffle(v0, v1, 0, 4, 1, 5);
        const x1 = i32x4.shuffle(v2, v3, 0, 4, 1, 5);
        const x2 = i32x4.shuffle(v0, v1, 2, 6, 3, 7);
        const x3 = i32x4.shuffle(v2, v3, 2, 6, 3, 7);
        v128.store(dst, i32x4.shuffle(x0, x1, 0, 1, 4, 5));
        v128.store(dst, i32x4.shuffle(x0, x1, 2, 3, 6, 7), 16);
        v128.store(dst, i32x4.shuffle(x2, x3, 0, 1, 4, 5), 32);
        v128.store(dst, i32x4.shuffle(x2, x3, 2, 3, 6, 7), 48);
        dst += 64;
      }
    }
    for (; kp < pairs; kp++) {
      const k0 = kp << 1;
      for (let r = 0; r < 4; r++) {
        let v0 = 0, v1 = 0;
        if (r < rows) {
          const src = a + <usize>(row0 + r) * <usize>lda + <usize>k0;
          v0 = loadQ8(src, signed) - zeroPoint;
          if (k0 + 1 < k) v1 = loadQ8(src + 1, signed) - zeroPoint;
        }
        store<i16>(dst + (<usize>r << 2), <i16>v0);
        store<i16>(dst + (<usize>r << 2) + 2, <i16>v1);
      }
      dst += 16;
    }
  }
}

// @ts-ignore: decorator
@inline
function widenQ8(bytes: v128, signed: bool): v128 {
  return signed ? i16x8.extend_low_i8x16_s(bytes) : i16x8.extend_low_i8x16_u(bytes);
}

/** Packs column panels [p0, p1) of 8-bit B (K×N, or N×K when transB) as int16 k-pairs of (b - zeroPoint). */
export function gemm_q8_pack_b(b: usize, ldb: i32, k: i32, n: i32, signed: bool, zeroPoint: i32, transB: bool, out: usize, p0: i32, p1: i32): void {
  const pairs = (k + 1) >> 1;
  const zp = i16x8.splat(<i16>zeroPoint);
  for (let p = p0; p < p1; p++) {
    const col0 = p << 3;
    const cols = min(8, n - col0);
    let dst = out + <usize>p * <usize>pairs * 32;
    let kp = 0;
    if (!transB && cols == 8) {
      // rows k and k+1 of the panel, widened, interleaved into [b(k,j), b(k+1,j)] pairs
      for (; (kp << 1) + 2 <= k; kp++) {
        const src = b + <usize>(kp << 1) * <usize>ldb + <usize>col0;
        const even = i16x8.sub(widenQ8(v128.load64_zero(src), signed), zp);
        const odd = i16x8.sub(widenQ8(v128.load64_zero(src + <usize>ldb), signed), zp);
        v128.store(dst, i16x8.shuffle(even, odd, 0, 8, 1, 9, 2, 10, 3, 11));
        v128.store(dst, i16x8.shuffle(even, odd, 4, 12, 5, 13, 6, 14, 7, 15), 16);
        dst += 32;
      }
    }
    for (; kp < pairs; kp++) {
      const k0 = kp << 1;
      for (let j = 0; j < 8; j++) {
        let v0 = 0, v1 = 0;
        if (j < cols) {
          const col = col0 + j;
          const s0 = transB ? b + <usize>col * <usize>ldb + <usize>k0 : b + <usize>k0 * <usize>ldb + <usize>col;
          v0 = loadQ8(s0, signed) - zeroPoint;
          if (k0 + 1 < k) v1 = loadQ8(transB ? s0 + 1 : s0 + <usize>ldb, signed) - zeroPoint;
        }
        store<i16>(dst + (<usize>j << 2), <i16>v0);
        store<i16>(dst + (<usize>j << 2) + 2, <i16>v1);
      }
      dst += 32;
    }
  }
}

/** One 4×8 int32 tile over `pairs` k-pairs; two pairs per iteration (measured ~15% faster than one). */
// @ts-ignore: decorator
@inline
function microQ8(a: usize, b: usize, pairs: i32, c: usize, ldc: i32, rows: i32, cols: i32, add: bool): void {
  let c00 = i32x4.splat(0), c01 = i32x4.splat(0), c10 = i32x4.splat(0), c11 = i32x4.splat(0);
  let c20 = i32x4.splat(0), c21 = i32x4.splat(0), c30 = i32x4.splat(0), c31 = i32x4.splat(0);
  // one pair per iteration, for the reason microF32 takes one step (see there)
  for (let kp = 0; kp < pairs; kp++) {
    const b0 = v128.load(b);
    const b1 = v128.load(b, 16);
    let a0 = v128.load32_splat(a);
    c00 = dotPairQ8(c00, a0, b0); c01 = dotPairQ8(c01, a0, b1);
    a0 = v128.load32_splat(a, 4);
    c10 = dotPairQ8(c10, a0, b0); c11 = dotPairQ8(c11, a0, b1);
    a0 = v128.load32_splat(a, 8);
    c20 = dotPairQ8(c20, a0, b0); c21 = dotPairQ8(c21, a0, b1);
    a0 = v128.load32_splat(a, 12);
    c30 = dotPairQ8(c30, a0, b0); c31 = dotPairQ8(c31, a0, b1);
    a += 16;
    b += 32;
  }
  storeTileQ8(c, ldc, rows, cols, add, c00, c01, c10, c11, c20, c21, c30, c31);
}

/** int32 C rows of tiles [t0, t1) = packed 8-bit A · packed 8-bit B (+ C when accumulate). */
export function gemm_q8_packed(pa: usize, pb: usize, c: usize, ldc: i32, m: i32, n: i32, k: i32, t0: i32, t1: i32, accumulate: bool): void {
  const pairs = (k + 1) >> 1;
  const panels = (n + 7) >> 3;
  if (pairs == 0) {
    if (!accumulate) {
      for (let r = t0 << 2; r < min(m, t1 << 2); r++) memory.fill(c + ((<usize>r * <usize>ldc) << 2), 0, <usize>n << 2);
    }
    return;
  }
  const pcMax = min(pairs, blockDepth(pairs << 1) >> 1); // the same depth in k as fp32
  for (let kb = 0; kb < pairs; kb += pcMax) {
    const pc = min(pcMax, pairs - kb);
    const add = accumulate || kb > 0;
    for (let tb = t0; tb < t1; tb += BLOCK_TILES) {
      const tEnd = min(t1, tb + BLOCK_TILES);
      for (let p = 0; p < panels; p++) {
        const b = pb + (<usize>p * <usize>pairs + <usize>kb) * 32;
        const cols = min(8, n - (p << 3));
        for (let t = tb; t < tEnd; t++) {
          const a = pa + (<usize>t * <usize>pairs + <usize>kb) * 16;
          const c0 = c + ((<usize>(t << 2) * <usize>ldc + <usize>(p << 3)) << 2);
          microQ8(a, b, pc, c0, ldc, min(4, m - (t << 2)), cols, add);
        }
      }
    }
  }
}

// ------------------------------------------------------------------ fp32, A read in place

/**
 * One 4×8 tile of C over kc steps, A read straight from its 4 rows (a0..a3, row-major with
 * unit stride along k) instead of from a packed tile: for operands written just before in
 * cache (Winograd's transformed tiles), packing would be one more pass for nothing.
 */
// @ts-ignore: decorator
@inline
function microF32Rows(a0: usize, a1: usize, a2: usize, a3: usize, b: usize, kc: i32, c: usize, ldc: i32, rows: i32, cols: i32, add: bool): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  for (let kk = 0; kk < kc; kk++) {
    const b0 = v128.load(b);
    const b1 = v128.load(b, 16);
    let a = v128.load32_splat(a0);
    c00 = fmaRowF32(c00, a, b0); c01 = fmaRowF32(c01, a, b1);
    a = v128.load32_splat(a1);
    c10 = fmaRowF32(c10, a, b0); c11 = fmaRowF32(c11, a, b1);
    a = v128.load32_splat(a2);
    c20 = fmaRowF32(c20, a, b0); c21 = fmaRowF32(c21, a, b1);
    a = v128.load32_splat(a3);
    c30 = fmaRowF32(c30, a, b0); c31 = fmaRowF32(c31, a, b1);
    a0 += 4; a1 += 4; a2 += 4; a3 += 4;
    b += 32;
  }
  storeTileF32(c, ldc, rows, cols, add, c00, c01, c10, c11, c20, c21, c30, c31);
}

/**
 * C rows [r0, r1) = clip(C + bias, lo, hi), bias one value per column (pointer 0: none): a
 * convolution's bias and relu/relu6, applied to a block of rows while it is still in cache.
 */
function epilogueRows(c: usize, ldc: i32, r0: i32, r1: i32, n: i32, bias: usize, lo: f32, hi: f32): void {
  const vlo = f32x4.splat(lo);
  const vhi = f32x4.splat(hi);
  for (let r = r0; r < r1; r++) {
    const row = c + ((<usize>r * <usize>ldc) << 2);
    let j = 0;
    for (; j + 4 <= n; j += 4) {
      const p = row + (<usize>j << 2);
      const v = bias != 0 ? f32x4.add(v128.load(p), v128.load(bias + (<usize>j << 2))) : v128.load(p);
      v128.store(p, clipF32x4(v, vlo, vhi));
    }
    for (; j < n; j++) {
      const p = row + (<usize>j << 2);
      const v = bias != 0 ? load<f32>(p) + load<f32>(bias + (<usize>j << 2)) : load<f32>(p);
      store<f32>(p, clipF32(v, lo, hi));
    }
  }
}

/**
 * C[M×N] (+)= A · packed B with A row-major (row stride lda) read in place. Rows past M in the
 * last tile read row 0 again and are not stored.
 */
export function gemm_f32_rows(a: usize, lda: i32, pb: usize, c: usize, ldc: i32, m: i32, n: i32, k: i32, accumulate: bool): void {
  gemm_f32_rows_epilogue(a, lda, pb, c, ldc, m, n, k, accumulate, 0, -Infinity, Infinity);
}

/** Whether clip(C + bias, lo, hi) changes anything: a bias, or a finite bound. */
export function hasEpilogue(bias: usize, lo: f32, hi: f32): bool {
  return bias != 0 || lo > -Infinity || hi < Infinity;
}

/**
 * gemm_f32_rows, then C = clip(C + bias, lo, hi) (bias per column, pointer 0: none), each block of
 * rows as soon as its last depth block is done: a convolution's epilogue without another pass.
 * With no bias and infinite bounds, gemm_f32_rows itself.
 */
export function gemm_f32_rows_epilogue(
  a: usize, lda: i32, pb: usize, c: usize, ldc: i32, m: i32, n: i32, k: i32, accumulate: bool, bias: usize, lo: f32, hi: f32,
): void {
  const epilogue = hasEpilogue(bias, lo, hi);
  const panels = (n + 7) >> 3;
  const tiles = (m + 3) >> 2;
  const kcMax = blockDepth(k);
  const stride = <usize>lda << 2;
  if (k == 0) {
    if (!accumulate) {
      for (let r = 0; r < m; r++) memory.fill(c + ((<usize>r * <usize>ldc) << 2), 0, <usize>n << 2);
    }
    if (epilogue) epilogueRows(c, ldc, 0, m, n, bias, lo, hi);
    return;
  }
  for (let kb = 0; kb < k; kb += kcMax) {
    const kc = min(kcMax, k - kb);
    const add = accumulate || kb > 0;
    for (let tb = 0; tb < tiles; tb += BLOCK_TILES) {
      const tEnd = min(tiles, tb + BLOCK_TILES);
      for (let p = 0; p < panels; p++) {
        const b = pb + ((<usize>p * <usize>k + <usize>kb) << 5);
        const cols = min(8, n - (p << 3));
        for (let t = tb; t < tEnd; t++) {
          const row0 = t << 2;
          const rows = min(4, m - row0);
          const r0 = a + <usize>row0 * stride + (<usize>kb << 2);
          const r1 = rows > 1 ? r0 + stride : r0;
          const r2 = rows > 2 ? r0 + 2 * stride : r0;
          const r3 = rows > 3 ? r0 + 3 * stride : r0;
          const c0 = c + ((<usize>row0 * <usize>ldc + <usize>(p << 3)) << 2);
          microF32Rows(r0, r1, r2, r3, b, kc, c0, ldc, rows, cols, add);
        }
      }
      if (epilogue && kb + kc >= k) epilogueRows(c, ldc, tb << 2, min(m, tEnd << 2), n, bias, lo, hi);
    }
  }
}

// ------------------------------------------------------------------ fp32, Aᵀ and B read in place

/**
 * C[M×N] (+)= Aᵀ · B with A stored K×M (row stride lda) and B stored K×N (row stride ldb), both
 * read in place, without packing. M must be a multiple of 4; when N is not a multiple of 8, the
 * last panel reads up to 7 values past each B row (the next row, or padding after the last).
 */
export function gemm_f32_at_b(a: usize, lda: i32, b: usize, ldb: i32, c: usize, ldc: i32, m: i32, n: i32, k: i32, accumulate: bool): void {
  const panels = (n + 7) >> 3;
  const tiles = m >> 2;
  const aStep = <usize>lda << 2;
  const bStep = <usize>ldb << 2;
  if (k == 0) {
    if (!accumulate) {
      for (let r = 0; r < m; r++) memory.fill(c + ((<usize>r * <usize>ldc) << 2), 0, <usize>n << 2);
    }
    return;
  }
  for (let tb = 0; tb < tiles; tb += BLOCK_TILES) {
    const tEnd = min(tiles, tb + BLOCK_TILES);
    for (let p = 0; p < panels; p++) {
      const cols = min(8, n - (p << 3));
      for (let t = tb; t < tEnd; t++) {
        microF32Strided(
          a + (<usize>t << 4), aStep, b + (<usize>p << 5), bStep, k,
          c + ((<usize>(t << 2) * <usize>ldc + <usize>(p << 3)) << 2), ldc, 4, cols, accumulate,
        );
      }
    }
  }
}
