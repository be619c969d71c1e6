// Winograd's minimal filtering for 3×3 stride-1 convolutions (Lavin & Gray 2016), NHWC, with
// channels vectorised 4 at a time (both channel counts must be multiples of 4).
//
// Forward, F(2×2, 3×3): each 2×2 output tile is  Y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A  for the 4×4 input
// patch d under it. Summed over input channels, the 16 element-wise products become 16 GEMMs
// (tiles × cin) · (cin × cout): 16 multiplies per tile where direct convolution needs 36.
//   Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]   G = [1 0 0; ½ ½ ½; ½ -½ ½; 0 0 1]
//   Aᵀ = [1 1 1 0; 0 1 -1 -1]
// Filter gradient, F(3×3, 2×2): the 3×3 gradient is the correlation of each input patch d with
// the 2×2 tile of dY over it, so dW = A'ᵀ [Σ_tiles (G' dy G'ᵀ) ⊙ (Bᵀ d B)] A', the sum over tiles
// being 16 GEMMs (cin × tiles) · (tiles × cout). Same Bᵀ, and
//   G' = [1 0; 1 1; 1 -1; 0 -1]   A'ᵀ = [1 ½ ½ 0; 0 ½ -½ 0; 0 ½ ½ 1]
// The 16 transformed matrices ("ξ" = 4·row + column of the 4×4 transform) lie one after another.
import { gemm_f32_pack_a, gemm_f32_pack_b, gemm_f32_packed, gemm_f32_rows } from "./gemm";

/**
 * Bytes from one ξ's matrix of `count` rows × `width` channels to the next: one cache line more
 * than the matrix, so that the 16 streams a transform reads or writes at once do not all fall in
 * the same L1 set (matrices of 4 KiB multiples did: the input transform ran 2× slower).
 */
// @ts-ignore: decorator
@inline
export function winogradMatrixBytes(count: i32, width: i32): usize {
  return (<usize>count * <usize>width + 16) << 2;
}

/** Bytes of one ξ's packed filter: the GEMM's packed B of cin × cout. */
// @ts-ignore: decorator
@inline
function packedFilterBytes(cin: i32, cout: i32): usize {
  return (<usize>((cout + 7) >> 3) << 3) * <usize>cin * 4;
}

/**
 * The filter HWIO [3, 3, cin, cout] transformed, U[ξ] = (G g Gᵀ)[ξ], into 16 packed-B matrices
 * of cin × cout for the GEMM (panels of 8 columns, k-major, zero-padded).
 */
export function winograd_filter_f32(w: usize, cin: i32, cout: i32, out: usize): void {
  const xiBytes = packedFilterBytes(cin, cout);
  if ((cout & 7) != 0) memory.fill(out, 0, xiBytes * 16);
  const tap = <usize>cin * <usize>cout * 4;
  for (let k = 0; k < cin; k++) {
    for (let col = 0; col < cout; col += 4) {
      const src = w + ((<usize>k * <usize>cout + <usize>col) << 2);
      const dst = out + ((((<usize>(col >> 3) * <usize>cin + <usize>k) << 3) + <usize>(col & 7)) << 2);
      const half = f32x4.splat(0.5);
      // G g: rows of the 3×3 (taps i·3 + j)
      const g00 = v128.load(src), g01 = v128.load(src + tap), g02 = v128.load(src + 2 * tap);
      const g10 = v128.load(src + 3 * tap), g11 = v128.load(src + 4 * tap), g12 = v128.load(src + 5 * tap);
      const g20 = v128.load(src + 6 * tap), g21 = v128.load(src + 7 * tap), g22 = v128.load(src + 8 * tap);
      filterRow(g00, g01, g02, dst, xiBytes, 0, half);
      filterRow(
        f32x4.mul(f32x4.add(f32x4.add(g00, g10), g20), half),
        f32x4.mul(f32x4.add(f32x4.add(g01, g11), g21), half),
        f32x4.mul(f32x4.add(f32x4.add(g02, g12), g22), half),
        dst, xiBytes, 1, half,
      );
      filterRow(
        f32x4.mul(f32x4.add(f32x4.sub(g00, g10), g20), half),
        f32x4.mul(f32x4.add(f32x4.sub(g01, g11), g21), half),
        f32x4.mul(f32x4.add(f32x4.sub(g02, g12), g22), half),
        dst, xiBytes, 2, half,
      );
      filterRow(g20, g21, g22, dst, xiBytes, 3, half);
    }
  }
}

/** One row a of (G g) Gᵀ: the 4 values ξ = 4a..4a+3 from the row's 3 taps. */
// @ts-ignore: decorator
@inline
function filterRow(r0: v128, r1: v128, r2: v128, dst: usize, xiBytes: usize, a: i32, half: v128): void {
  const p = dst + <usize>(a << 2) * xiBytes;
  v128.store(p, r0);
  v128.store(p + xiBytes, f32x4.mul(f32x4.add(f32x4.add(r0, r1), r2), half));
  v128.store(p + 2 * xiBytes, f32x4.mul(f32x4.add(f32x4.sub(r0, r1), r2), half));
  v128.store(p + 3 * xiBytes, r2);
}

/** One row a of (Bᵀ d) B: ξ = 4a..4a+3 from the row's 4 values. */
// @ts-ignore: decorator
@inline
function inputRow(r0: v128, r1: v128, r2: v128, r3: v128, dst: usize, xiBytes: usize, a: i32): void {
  const p = dst + <usize>(a << 2) * xiBytes;
  v128.store(p, f32x4.sub(r0, r2));
  v128.store(p + xiBytes, f32x4.add(r1, r2));
  v128.store(p + 2 * xiBytes, f32x4.sub(r2, r1));
  v128.store(p + 3 * xiBytes, f32x4.sub(r1, r3));
}

/** Bᵀ d B of one 4×4 patch of 4 channels (d_uv is row u, column v). */
// @ts-ignore: decorator
@inline
function inputTile(
  d00: v128, d01: v128, d02: v128, d03: v128, d10: v128, d11: v128, d12: v128, d13: v128,
  d20: v128, d21: v128, d22: v128, d23: v128, d30: v128, d31: v128, d32: v128, d33: v128,
  dst: usize, xiBytes: usize,
): void {
  inputRow(f32x4.sub(d00, d20), f32x4.sub(d01, d21), f32x4.sub(d02, d22), f32x4.sub(d03, d23), dst, xiBytes, 0);
  inputRow(f32x4.add(d10, d20), f32x4.add(d11, d21), f32x4.add(d12, d22), f32x4.add(d13, d23), dst, xiBytes, 1);
  inputRow(f32x4.sub(d20, d10), f32x4.sub(d21, d11), f32x4.sub(d22, d12), f32x4.sub(d23, d13), dst, xiBytes, 2);
  inputRow(f32x4.sub(d10, d30), f32x4.sub(d11, d31), f32x4.sub(d12, d32), f32x4.sub(d13, d33), dst, xiBytes, 3);
}

/** 4 channels at pixel (y, x) of one image, or zeros outside it. */
// @ts-ignore: decorator
@inline
function pixelOrZero(image: usize, y: i32, x: i32, H: i32, W: i32, C: i32, c: i32): v128 {
  if (<u32>y >= <u32>H || <u32>x >= <u32>W) return f32x4.splat(0);
  return v128.load(image + ((<usize>(y * W + x) * <usize>C + <usize>c) << 2));
}

/**
 * V[ξ] rows 0..count-1 = (Bᵀ d B)[ξ] of the tiles tile0..tile0+count-1 of x (NHWC [·, H, W, C]):
 * tile t is image t / (tilesH·tilesW), output rows 2ty..2ty+1 and columns 2tx..2tx+1, over the
 * input patch at (2ty - padTop, 2tx - padLeft); pixels outside the image are 0. Each V[ξ] is a
 * count × C row-major matrix; they follow each other in `out`.
 */
export function winograd_input_f32(x: usize, H: i32, W: i32, C: i32, padTop: i32, padLeft: i32, tilesH: i32, tilesW: i32, tile0: i32, count: i32, out: usize): void {
  const perImage = tilesH * tilesW;
  const xiBytes = winogradMatrixBytes(count, C);
  const pixel = <usize>C << 2;
  const row = <usize>W * pixel;
  for (let t = 0; t < count; t++) {
    const tile = tile0 + t;
    const n = tile / perImage;
    const rest = tile - n * perImage;
    const ty = rest / tilesW;
    const y0 = (ty << 1) - padTop;
    const x0 = ((rest - ty * tilesW) << 1) - padLeft;
    const image = x + <usize>n * <usize>H * row;
    const dst = out + <usize>t * pixel;
    if (y0 >= 0 && x0 >= 0 && y0 + 4 <= H && x0 + 4 <= W) {
      let p = image + <usize>y0 * row + <usize>x0 * pixel;
      for (let c = 0; c < C; c += 4) {
        inputTile(
          v128.load(p), v128.load(p + pixel), v128.load(p + 2 * pixel), v128.load(p + 3 * pixel),
          v128.load(p + row), v128.load(p + row + pixel), v128.load(p + row + 2 * pixel), v128.load(p + row + 3 * pixel),
          v128.load(p + 2 * row), v128.load(p + 2 * row + pixel), v128.load(p + 2 * row + 2 * pixel), v128.load(p + 2 * row + 3 * pixel),
          v128.load(p + 3 * row), v128.load(p + 3 * row + pixel), v128.load(p + 3 * row + 2 * pixel), v128.load(p + 3 * row + 3 * pixel),
          dst + (<usize>c << 2), xiBytes,
        );
        p += 16;
      }
      continue;
    }
    for (let c = 0; c < C; c += 4) {
      inputTile(
        pixelOrZero(image, y0, x0, H, W, C, c), pixelOrZero(image, y0, x0 + 1, H, W, C, c),
        pixelOrZero(image, y0, x0 + 2, H, W, C, c), pixelOrZero(image, y0, x0 + 3, H, W, C, c),
        pixelOrZero(image, y0 + 1, x0, H, W, C, c), pixelOrZero(image, y0 + 1, x0 + 1, H, W, C, c),
        pixelOrZero(image, y0 + 1, x0 + 2, H, W, C, c), pixelOrZero(image, y0 + 1, x0 + 3, H, W, C, c),
        pixelOrZero(image, y0 + 2, x0, H, W, C, c), pixelOrZero(image, y0 + 2, x0 + 1, H, W, C, c),
        pixelOrZero(image, y0 + 2, x0 + 2, H, W, C, c), pixelOrZero(image, y0 + 2, x0 + 3, H, W, C, c),
        pixelOrZero(image, y0 + 3, x0, H, W, C, c), pixelOrZero(image, y0 + 3, x0 + 1, H, W, C, c),
        pixelOrZero(image, y0 + 3, x0 + 2, H, W, C, c), pixelOrZero(image, y0 + 3, x0 + 3, H, W, C, c),
        dst + (<usize>c << 2), xiBytes,
      );
    }
  }
}

/** Stores (or adds) 4 channels at output pixel (y, x) when it lies inside the output. */
// @ts-ignore: decorator
@inline
function storeOutput(image: usize, y: i32, x: i32, OH: i32, OW: i32, N: i32, c: i32, v: v128, accumulate: bool): void {
  if (y >= OH || x >= OW) return;
  const p = image + ((<usize>(y * OW + x) * <usize>N + <usize>c) << 2);
  v128.store(p, accumulate ? f32x4.add(v128.load(p), v) : v);
}

/**
 * y (+)= Aᵀ m A for the tiles tile0..tile0+count-1: m holds 16 count × N row-major matrices (the
 * GEMM products), y is NHWC [·, OH, OW, N]; tile outputs past the edge are dropped.
 */
export function winograd_output_f32(m: usize, count: i32, N: i32, y: usize, OH: i32, OW: i32, tilesH: i32, tilesW: i32, tile0: i32, accumulate: i32): void {
  const perImage = tilesH * tilesW;
  const xi = winogradMatrixBytes(count, N);
  const add = accumulate != 0;
  for (let t = 0; t < count; t++) {
    const tile = tile0 + t;
    const n = tile / perImage;
    const rest = tile - n * perImage;
    const ty = rest / tilesW;
    const oy = ty << 1;
    const ox = (rest - ty * tilesW) << 1;
    const image = y + <usize>n * <usize>OH * <usize>OW * <usize>N * 4;
    let p = m + <usize>t * <usize>N * 4;
    for (let c = 0; c < N; c += 4) {
      // Aᵀ m: two rows of 4, from the 4 rows of m
      const m00 = v128.load(p), m01 = v128.load(p + xi), m02 = v128.load(p + 2 * xi), m03 = v128.load(p + 3 * xi);
      const m10 = v128.load(p + 4 * xi), m11 = v128.load(p + 5 * xi), m12 = v128.load(p + 6 * xi), m13 = v128.load(p + 7 * xi);
      const m20 = v128.load(p + 8 * xi), m21 = v128.load(p + 9 * xi), m22 = v128.load(p + 10 * xi), m23 = v128.load(p + 11 * xi);
      const m30 = v128.load(p + 12 * xi), m31 = v128.load(p + 13 * xi), m32 = v128.load(p + 14 * xi), m33 = v128.load(p + 15 * xi);
      const s0 = f32x4.add(m10, m20), s1 = f32x4.add(m11, m21), s2 = f32x4.add(m12, m22), s3 = f32x4.add(m13, m23);
      const t00 = f32x4.add(m00, s0), t01 = f32x4.add(m01, s1), t02 = f32x4.add(m02, s2), t03 = f32x4.add(m03, s3);
      const t10 = f32x4.sub(f32x4.sub(m10, m20), m30), t11 = f32x4.sub(f32x4.sub(m11, m21), m31);
      const t12 = f32x4.sub(f32x4.sub(m12, m22), m32), t13 = f32x4.sub(f32x4.sub(m13, m23), m33);
      // (Aᵀ m) A
      storeOutput(image, oy, ox, OH, OW, N, c, f32x4.add(f32x4.add(t00, t01), t02), add);
      storeOutput(image, oy, ox + 1, OH, OW, N, c, f32x4.sub(f32x4.sub(t01, t02), t03), add);
      storeOutput(image, oy + 1, ox, OH, OW, N, c, f32x4.add(f32x4.add(t10, t11), t12), add);
      storeOutput(image, oy + 1, ox + 1, OH, OW, N, c, f32x4.sub(f32x4.sub(t11, t12), t13), add);
      p += 16;
    }
  }
}

/** 4 channels of dY at (y, x), or zeros past the output's edge. */
// @ts-ignore: decorator
@inline
function gradOrZero(image: usize, y: i32, x: i32, OH: i32, OW: i32, N: i32, c: i32): v128 {
  if (y >= OH || x >= OW) return f32x4.splat(0);
  return v128.load(image + ((<usize>(y * OW + x) * <usize>N + <usize>c) << 2));
}

/** One row a of (G' dy) G'ᵀ: ξ = 4a..4a+3 from the row's 2 values. */
// @ts-ignore: decorator
@inline
function gradRow(r0: v128, r1: v128, dst: usize, xiBytes: usize, a: i32): void {
  const p = dst + <usize>(a << 2) * xiBytes;
  v128.store(p, r0);
  v128.store(p + xiBytes, f32x4.add(r0, r1));
  v128.store(p + 2 * xiBytes, f32x4.sub(r0, r1));
  v128.store(p + 3 * xiBytes, f32x4.neg(r1));
}

/**
 * Z[ξ] rows 0..count-1 = (G' dy G'ᵀ)[ξ] of the 2×2 tiles of dY (NHWC [·, OH, OW, N]) numbered
 * as in winograd_input_f32; values past the output's edge are 0. 16 count × N matrices.
 */
export function winograd_grad_tiles_f32(dy: usize, OH: i32, OW: i32, N: i32, tilesH: i32, tilesW: i32, tile0: i32, count: i32, out: usize): void {
  const perImage = tilesH * tilesW;
  const xiBytes = winogradMatrixBytes(count, N);
  for (let t = 0; t < count; t++) {
    const tile = tile0 + t;
    const n = tile / perImage;
    const rest = tile - n * perImage;
    const ty = rest / tilesW;
    const oy = ty << 1;
    const ox = (rest - ty * tilesW) << 1;
    const image = dy + <usize>n * <usize>OH * <usize>OW * <usize>N * 4;
    const dst = out + <usize>t * <usize>N * 4;
    for (let c = 0; c < N; c += 4) {
      const y00 = gradOrZero(image, oy, ox, OH, OW, N, c), y01 = gradOrZero(image, oy, ox + 1, OH, OW, N, c);
      const y10 = gradOrZero(image, oy + 1, ox, OH, OW, N, c), y11 = gradOrZero(image, oy + 1, ox + 1, OH, OW, N, c);
      const d = dst + (<usize>c << 2);
      gradRow(y00, y01, d, xiBytes, 0);
      gradRow(f32x4.add(y00, y10), f32x4.add(y01, y11), d, xiBytes, 1);
      gradRow(f32x4.sub(y00, y10), f32x4.sub(y01, y11), d, xiBytes, 2);
      gradRow(f32x4.neg(y10), f32x4.neg(y11), d, xiBytes, 3);
    }
  }
}

/** One row i of (A'ᵀ s) A': the 3 gradient taps i·3..i·3+2 from the row's 4 values. */
// @ts-ignore: decorator
@inline
function filterGradRow(r0: v128, r1: v128, r2: v128, r3: v128, dst: usize, tap: usize, i: i32, half: v128): void {
  const p = dst + <usize>(i * 3) * tap;
  const sum = f32x4.mul(f32x4.add(r1, r2), half);
  v128.store(p, f32x4.add(r0, sum));
  v128.store(p + tap, f32x4.mul(f32x4.sub(r1, r2), half));
  v128.store(p + 2 * tap, f32x4.add(sum, r3));
}

/** dW HWIO [3, 3, cin, cout] = A'ᵀ S A' from the 16 summed products S[ξ] (cin × cout row-major each). */
export function winograd_filter_grad_f32(s: usize, cin: i32, cout: i32, dw: usize): void {
  const xi = <usize>cin * <usize>cout * 4;
  const half = f32x4.splat(0.5);
  for (let k = 0; k < cin; k++) {
    for (let col = 0; col < cout; col += 4) {
      const off = (<usize>k * <usize>cout + <usize>col) << 2;
      const p = s + off;
      const s00 = v128.load(p), s01 = v128.load(p + xi), s02 = v128.load(p + 2 * xi), s03 = v128.load(p + 3 * xi);
      const s10 = v128.load(p + 4 * xi), s11 = v128.load(p + 5 * xi), s12 = v128.load(p + 6 * xi), s13 = v128.load(p + 7 * xi);
      const s20 = v128.load(p + 8 * xi), s21 = v128.load(p + 9 * xi), s22 = v128.load(p + 10 * xi), s23 = v128.load(p + 11 * xi);
      const s30 = v128.load(p + 12 * xi), s31 = v128.load(p + 13 * xi), s32 = v128.load(p + 14 * xi), s33 = v128.load(p + 15 * xi);
      // A'ᵀ s: 3 rows of 4
      const h0 = f32x4.mul(f32x4.add(s10, s20), half), h1 = f32x4.mul(f32x4.add(s11, s21), half);
      const h2 = f32x4.mul(f32x4.add(s12, s22), half), h3 = f32x4.mul(f32x4.add(s13, s23), half);
      const d = dw + off;
      filterGradRow(f32x4.add(s00, h0), f32x4.add(s01, h1), f32x4.add(s02, h2), f32x4.add(s03, h3), d, xi, 0, half);
      filterGradRow(
        f32x4.mul(f32x4.sub(s10, s20), half), f32x4.mul(f32x4.sub(s11, s21), half),
        f32x4.mul(f32x4.sub(s12, s22), half), f32x4.mul(f32x4.sub(s13, s23), half),
        d, xi, 1, half,
      );
      filterGradRow(f32x4.add(h0, s30), f32x4.add(h1, s31), f32x4.add(h2, s32), f32x4.add(h3, s33), d, xi, 2, half);
    }
  }
}

/**
 * Forward convolution of the images [n0, n1) by Winograd F(2×2, 3×3), chunkTiles tiles at a time:
 * input transform into `v` (16 chunk × C matrices), 16 GEMMs with the packed transformed filter
 * into `m` (16 chunk × N), output transform into y (added to y when `accumulate`).
 */
export function conv2d_winograd_forward_images_f32(
  x: usize, H: i32, W: i32, C: i32, padTop: i32, padLeft: i32, OH: i32, OW: i32,
  packedU: usize, N: i32, y: usize, accumulate: i32,
  n0: i32, n1: i32, chunkTiles: i32, v: usize, m: usize,
): void {
  const tilesH = (OH + 1) >> 1;
  const tilesW = (OW + 1) >> 1;
  const perImage = tilesH * tilesW;
  const uBytes = packedFilterBytes(C, N);
  const end = n1 * perImage;
  for (let t0 = n0 * perImage; t0 < end; t0 += chunkTiles) {
    const count = min(chunkTiles, end - t0);
    winograd_input_f32(x, H, W, C, padTop, padLeft, tilesH, tilesW, t0, count, v);
    const vBytes = winogradMatrixBytes(count, C);
    const mBytes = winogradMatrixBytes(count, N);
    for (let xi = 0; xi < 16; xi++) {
      gemm_f32_rows(v + <usize>xi * vBytes, C, packedU + <usize>xi * uBytes, m + <usize>xi * mBytes, N, count, N, C, false);
    }
    winograd_output_f32(m, count, N, y, OH, OW, tilesH, tilesW, t0, accumulate);
  }
}

/**
 * S[ξ] (+)= V[ξ]ᵀ · Z[ξ] over the images [n0, n1): the filter gradient's 16 transformed sums for
 * one thread (cin × cout row-major each, in `s`; the caller adds the threads' shares and runs
 * winograd_filter_grad_f32). chunkTiles tiles at a time through `v`, `z` and the packing buffers.
 * With `accumulate` the first chunk adds to s too.
 */
export function conv2d_winograd_filter_grad_images_f32(
  x: usize, H: i32, W: i32, C: i32, padTop: i32, padLeft: i32, OH: i32, OW: i32,
  dy: usize, N: i32, s: usize, accumulate: i32,
  n0: i32, n1: i32, chunkTiles: i32, v: usize, z: usize, packedA: usize, packedB: usize,
): void {
  const tilesH = (OH + 1) >> 1;
  const tilesW = (OW + 1) >> 1;
  const perImage = tilesH * tilesW;
  const sBytes = <usize>C * <usize>N * 4;
  const start = n0 * perImage;
  const end = n1 * perImage;
  for (let t0 = start; t0 < end; t0 += chunkTiles) {
    const count = min(chunkTiles, end - t0);
    winograd_input_f32(x, H, W, C, padTop, padLeft, tilesH, tilesW, t0, count, v);
    winograd_grad_tiles_f32(dy, OH, OW, N, tilesH, tilesW, t0, count, z);
    const vBytes = winogradMatrixBytes(count, C);
    const zBytes = winogradMatrixBytes(count, N);
    for (let xi = 0; xi < 16; xi++) {
      gemm_f32_pack_a(v + <usize>xi * vBytes, C, C, count, true, packedA, 0, (C + 3) >> 2);
      gemm_f32_pack_b(z + <usize>xi * zBytes, N, count, N, false, packedB, 0, (N + 7) >> 3);
      gemm_f32_packed(packedA, packedB, s + <usize>xi * sBytes, N, C, N, count, 0, (C + 3) >> 2, accumulate != 0 || t0 > start);
    }
  }
}
