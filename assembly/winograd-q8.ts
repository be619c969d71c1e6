// Exact integer Winograd F(2×2, 3×3) for the int8 engine's 3×3 stride-1 convolutions (Lavin &
// Gray 2016). The fp32 engine runs F(4×4, 3×3), 4× fewer multiplies than direct convolution;
// the direct int8 kernel does twice the multiply-adds per instruction of fp32 FMA, so it stays
// ~1.3× slower. F(4×4)'s transform has 1/24ths, which no 16-bit integer filter holds; F(2×2)'s
// only halves, so with G' = 2G every quantity is an integer and the arithmetic is exact:
//   Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]      V = Bᵀ d B,   d = x - zp (padding: 0)
//   G' = [2 0 0; 1 1 1; 1 -1 1; 0 0 2]                 U = G' g G'ᵀ (int8 codes g, at load)
//   Aᵀ = [1 1 1 0; 0 1 -1 -1]                          4·Y = Aᵀ [Σ_c U ⊙ V] A
// |V| <= 4·255 and |U| <= 9·127 fit int16, so the 16 products per tile are i32x4.dot_i16x8_s
// GEMMs (tiles × Cp) · (Cp × N) over channel pairs, 2.25× fewer than direct convolution.
// Every int32 step is an addition, exact modulo 2^32, so 4·Y comes out exact whenever it fits
// int32 (|4·Y| <= 4·9·Cp·255·127, i.e. Cp <= 1840) and Y = (4·Y) >> 2 exactly.
import { requantize_i32_q8 } from "./requantize";
import { dotPairQ8, storeTileQ8 } from "./tile-q8";

/** Transformed matrices ("ξ" = 4·row + column of the 4×4 transform). */
const XI: i32 = 16;

/**
 * V of images [0, images) of the padded int16 images xp [., Hp, Wp, Cp] (pad_widen_u8_i16, with
 * Hp >= 2·tilesY + 2 and Wp >= 2·tilesX + 2): v + ξ·xiStride holds the [tiles, Cp] int16 matrix
 * of ξ, tile (n, ty, tx) at row (n·tilesY + ty)·tilesX + tx.
 */
export function winograd_q8_input_f2(xp: usize, Hp: i32, Wp: i32, Cp: i32, tilesY: i32, tilesX: i32, images: i32, v: usize, xiStride: i32): void {
  const pixel = <usize>Cp << 1;
  const row = <usize>Wp * pixel;
  const rowBytes = pixel; // one tile's row in each ξ matrix
  let t: usize = 0;
  for (let n = 0; n < images; n++) {
    for (let ty = 0; ty < tilesY; ty++) {
      for (let tx = 0; tx < tilesX; tx++) {
        const d = xp + <usize>n * <usize>Hp * row + <usize>(2 * ty) * row + <usize>(2 * tx) * pixel;
        const dst = v + t * rowBytes;
        let c = 0;
        for (; c + 8 <= Cp; c += 8) transformInput8(d + (<usize>c << 1), row, pixel, dst + (<usize>c << 1), <usize>xiStride);
        for (; c < Cp; c++) transformInput1(d + (<usize>c << 1), row, pixel, dst + (<usize>c << 1), <usize>xiStride);
        t++;
      }
    }
  }
}

// @ts-ignore: decorator
@inline
function transformInput8(d: usize, row: usize, pixel: usize, dst: usize, xiStride: usize): void {
  // column j of Bᵀ d, for the four rows of the patch, then that column times B (one per ξ row)
  for (let j = 0; j < 4; j++) {
    const p = d + <usize>j * pixel;
    const d0 = v128.load(p), d1 = v128.load(p + row), d2 = v128.load(p + 2 * row), d3 = v128.load(p + 3 * row);
    const r0 = i16x8.sub(d0, d2), r1 = i16x8.add(d1, d2), r2 = i16x8.sub(d2, d1), r3 = i16x8.sub(d1, d3);
    // r_i is (Bᵀ d)[i][j]; store it in the scratch ξ slot (i, j) first, transformed along j below
    v128.store(dst + <usize>(4 * 0 + j) * xiStride, r0);
    v128.store(dst + <usize>(4 * 1 + j) * xiStride, r1);
    v128.store(dst + <usize>(4 * 2 + j) * xiStride, r2);
    v128.store(dst + <usize>(4 * 3 + j) * xiStride, r3);
  }
  for (let i = 0; i < 4; i++) {
    const p = dst + <usize>(4 * i) * xiStride;
    const t0 = v128.load(p), t1 = v128.load(p + xiStride), t2 = v128.load(p + 2 * xiStride), t3 = v128.load(p + 3 * xiStride);
    v128.store(p, i16x8.sub(t0, t2));
    v128.store(p + xiStride, i16x8.add(t1, t2));
    v128.store(p + 2 * xiStride, i16x8.sub(t2, t1));
    v128.store(p + 3 * xiStride, i16x8.sub(t1, t3));
  }
}

// @ts-ignore: decorator
@inline
function transformInput1(d: usize, row: usize, pixel: usize, dst: usize, xiStride: usize): void {
  for (let j = 0; j < 4; j++) {
    const p = d + <usize>j * pixel;
    const d0 = <i32>load<i16>(p), d1 = <i32>load<i16>(p + row), d2 = <i32>load<i16>(p + 2 * row), d3 = <i32>load<i16>(p + 3 * row);
    store<i16>(dst + <usize>j * xiStride, <i16>(d0 - d2));
    store<i16>(dst + <usize>(4 + j) * xiStride, <i16>(d1 + d2));
    store<i16>(dst + <usize>(8 + j) * xiStride, <i16>(d2 - d1));
    store<i16>(dst + <usize>(12 + j) * xiStride, <i16>(d1 - d3));
  }
  for (let i = 0; i < 4; i++) {
    const p = dst + <usize>(4 * i) * xiStride;
    const t0 = <i32>load<i16>(p), t1 = <i32>load<i16>(p + xiStride), t2 = <i32>load<i16>(p + 2 * xiStride), t3 = <i32>load<i16>(p + 3 * xiStride);
    store<i16>(p, <i16>(t0 - t2));
    store<i16>(p + xiStride, <i16>(t1 + t2));
    store<i16>(p + 2 * xiStride, <i16>(t2 - t1));
    store<i16>(p + 3 * xiStride, <i16>(t1 - t3));
  }
}

/**
 * M[ξ] = V[ξ] · U[ξ] for the 16 ξ: V from winograd_q8_input_f2 ([tiles, Cp] int16 each, xiStride
 * bytes apart), U packed as gemm_q8_pack_b packs (int16 k-pairs, panels of 8 columns) for K = Cp,
 * uStride bytes apart; M [tiles, n] int32 each, mStride bytes apart. Rows past `tiles` in the
 * last 4-row tile read row 0 again and are not stored.
 */
export function winograd_q8_gemm_f2(v: usize, xiStride: i32, tiles: i32, Cp: i32, pu: usize, uStride: i32, n: i32, m: usize, mStride: i32): void {
  const pairs = Cp >> 1;
  const panels = (n + 7) >> 3;
  const lda = <usize>Cp << 1;
  for (let xi = 0; xi < XI; xi++) {
    const a = v + <usize>xi * <usize>xiStride;
    const pb = pu + <usize>xi * <usize>uStride;
    const c = m + <usize>xi * <usize>mStride;
    for (let t0 = 0; t0 < tiles; t0 += 64) {
      const tEnd = min(tiles, t0 + 64);
      for (let p = 0; p < panels; p++) {
        const b = pb + <usize>p * <usize>pairs * 32;
        const cols = min(8, n - (p << 3));
        for (let r = t0; r < tEnd; r += 4) {
          const rows = min(4, tEnd - r);
          const a0 = a + <usize>r * lda;
          const a1 = rows > 1 ? a0 + lda : a0;
          const a2 = rows > 2 ? a0 + 2 * lda : a0;
          const a3 = rows > 3 ? a0 + 3 * lda : a0;
          microRowsQ8(a0, a1, a2, a3, b, pairs, c + ((<usize>r * <usize>n + <usize>(p << 3)) << 2), n, rows, cols);
        }
      }
    }
  }
}

/** One 4×8 int32 tile over `pairs` k-pairs of four int16 rows read in place. */
// @ts-ignore: decorator
@inline
function microRowsQ8(a0: usize, a1: usize, a2: usize, a3: usize, b: usize, pairs: i32, c: usize, ldc: i32, rows: i32, cols: i32): void {
  let c00 = i32x4.splat(0), c01 = i32x4.splat(0), c10 = i32x4.splat(0), c11 = i32x4.splat(0);
  let c20 = i32x4.splat(0), c21 = i32x4.splat(0), c30 = i32x4.splat(0), c31 = i32x4.splat(0);
  const end = <usize>pairs << 2;
  for (let o: usize = 0; o < end; o += 4) {
    const b0 = v128.load(b);
    const b1 = v128.load(b, 16);
    let a = v128.load32_splat(a0 + o);
    c00 = dotPairQ8(c00, a, b0); c01 = dotPairQ8(c01, a, b1);
    a = v128.load32_splat(a1 + o);
    c10 = dotPairQ8(c10, a, b0); c11 = dotPairQ8(c11, a, b1);
    a = v128.load32_splat(a2 + o);
    c20 = dotPairQ8(c20, a, b0); c21 = dotPairQ8(c21, a, b1);
    a = v128.load32_splat(a3 + o);
    c30 = dotPairQ8(c30, a, b0); c31 = dotPairQ8(c31, a, b1);
    b += 32;
  }
  storeTileQ8(c, ldc, rows, cols, false, c00, c01, c10, c11, c20, c21, c30, c31);
}

/** Bytes of the scratch winograd_q8_output_f2 takes: the int32 sums of two output rows. */
export function winograd_q8_output_scratch_bytes(OW: i32, n: i32): i32 {
  return 2 * OW * n * 4;
}

/**
 * Y = (Aᵀ M A) >> 2 of each tile, requantized (requantize_i32_q8's arguments) into out
 * [images, OH, OW, n] as uint8: each row of tiles's two output rows of int32 sums go through
 * `scratch` (winograd_q8_output_scratch_bytes) and are requantized while in L1.
 */
export function winograd_q8_output_f2(
  m: usize, mStride: i32, n: i32, tilesY: i32, tilesX: i32, images: i32, OH: i32, OW: i32, scratch: usize,
  bias: usize, hasBias: i32, table: usize, perTensor: i32, anyLeftShift: i32, zeroPoint: i32, lo: i32, hi: i32, out: usize,
): void {
  const s = <usize>mStride;
  const pixel = <usize>n << 2;
  let t: usize = 0;
  for (let img = 0; img < images; img++) {
    for (let ty = 0; ty < tilesY; ty++) {
      const oy = 2 * ty;
      const y1 = oy + 1 < OH;
      for (let tx = 0; tx < tilesX; tx++) {
        const src = m + t * pixel;
        const ox = 2 * tx;
        const x1 = ox + 1 < OW;
        const acc = scratch + <usize>ox * pixel;
        const outRow = <usize>OW * pixel;
        const q0 = acc;
        let o = 0;
        for (; o + 4 <= n; o += 4) {
          const p = src + (<usize>o << 2);
          // Aᵀ M: two rows, each over the four columns j
          let s00 = i32x4.splat(0), s01 = i32x4.splat(0), s02 = i32x4.splat(0), s03 = i32x4.splat(0);
          let s10 = i32x4.splat(0), s11 = i32x4.splat(0), s12 = i32x4.splat(0), s13 = i32x4.splat(0);
          for (let j = 0; j < 4; j++) {
            const m0 = v128.load(p + <usize>j * s), m1 = v128.load(p + <usize>(4 + j) * s);
            const m2 = v128.load(p + <usize>(8 + j) * s), m3 = v128.load(p + <usize>(12 + j) * s);
            const top = i32x4.add(i32x4.add(m0, m1), m2);
            const bottom = i32x4.sub(i32x4.sub(m1, m2), m3);
            if (j == 0) { s00 = top; s10 = bottom; } else if (j == 1) { s01 = top; s11 = bottom; } else if (j == 2) { s02 = top; s12 = bottom; } else { s03 = top; s13 = bottom; }
          }
          const q = q0 + (<usize>o << 2);
          v128.store(q, i32x4.shr_s(i32x4.add(i32x4.add(s00, s01), s02), 2));
          if (x1) v128.store(q + pixel, i32x4.shr_s(i32x4.sub(i32x4.sub(s01, s02), s03), 2));
          if (y1) {
            v128.store(q + outRow, i32x4.shr_s(i32x4.add(i32x4.add(s10, s11), s12), 2));
            if (x1) v128.store(q + outRow + pixel, i32x4.shr_s(i32x4.sub(i32x4.sub(s11, s12), s13), 2));
          }
        }
        for (; o < n; o++) {
          const p = src + (<usize>o << 2);
          let a0 = 0, a1 = 0, a2 = 0, a3 = 0, b0 = 0, b1 = 0, b2 = 0, b3 = 0;
          for (let j = 0; j < 4; j++) {
            const m0 = load<i32>(p + <usize>j * s), m1 = load<i32>(p + <usize>(4 + j) * s);
            const m2 = load<i32>(p + <usize>(8 + j) * s), m3 = load<i32>(p + <usize>(12 + j) * s);
            const top = m0 + m1 + m2;
            const bottom = m1 - m2 - m3;
            if (j == 0) { a0 = top; b0 = bottom; } else if (j == 1) { a1 = top; b1 = bottom; } else if (j == 2) { a2 = top; b2 = bottom; } else { a3 = top; b3 = bottom; }
          }
          const q = q0 + (<usize>o << 2);
          store<i32>(q, (a0 + a1 + a2) >> 2);
          if (x1) store<i32>(q + pixel, (a1 - a2 - a3) >> 2);
          if (y1) {
            store<i32>(q + outRow, (b0 + b1 + b2) >> 2);
            if (x1) store<i32>(q + outRow + pixel, (b1 - b2 - b3) >> 2);
          }
        }
        t++;
      }
      const rows = y1 ? 2 * OW : OW;
      const first = (<usize>img * <usize>OH + <usize>oy) * <usize>OW;
      requantize_i32_q8(scratch, rows, n, bias, hasBias, table, perTensor, anyLeftShift, zeroPoint, lo, hi, out + first * <usize>n);
    }
  }
}
