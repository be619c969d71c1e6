// Winograd's minimal filtering for 3×3 stride-1 convolutions (Lavin & Gray 2016), NHWC, with
// channels vectorised 4 at a time (both channel counts must be multiples of 4).
//
// Forward, F(4×4, 3×3): each 4×4 output tile is  Y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A  for the 6×6
// input patch d under it. Summed over input channels, the 36 element-wise products become 36
// GEMMs (tiles × cin) · (cin × cout): 36 multiplies per 16 outputs where direct convolution
// needs 144 (F(2×2, 3×3) needs 64; measured, the larger tile is ~1.3× faster end to end).
//   Bᵀ = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]
//   G  = [¼ 0 0; -⅙ -⅙ -⅙; -⅙ ⅙ -⅙; 1/24 1/12 ⅙; 1/24 -1/12 ⅙; 0 0 1]
//   Aᵀ = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]
// Filter gradient, F(3×3, 4×4): the 3×3 gradient is the correlation of each 6×6 input patch d
// with the 4×4 tile of dY over it, so dW = Gᵀ [Σ_tiles (A dy Aᵀ) ⊙ (Bᵀ d B)] G (the transposed
// algorithm: the roles of A and G swap), the sum over tiles being 36 GEMMs (cin × tiles) · (tiles × cout).
// The 36 transformed matrices ("ξ" = 6·row + column of the 6×6 transform) lie one after another.
// Each 2-D transform runs as two passes of the 1-D one, rows then columns, through the ξ slots
// themselves: 36 vectors do not fit in registers.
import { clipF32x4 } from "./elementwise";
import { gemm_f32_at_b, gemm_f32_rows, hasEpilogue } from "./gemm";

/** Transform points per side, output pixels per tile side, and transformed matrices. */
const ALPHA: i32 = 6;
const TILE: i32 = 4;
const XI: i32 = 36;

/**
 * Bytes from one ξ's matrix of `count` rows × `width` channels to the next: one cache line more
 * than the matrix, so that the 36 streams a transform reads or writes at once do not all fall in
 * the same L1 set (F(2×2)'s 16 matrices of 4 KiB multiples made its input transform 2× slower).
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

// @ts-ignore: decorator
@inline
function scale(v: v128, s: f32): v128 {
  return f32x4.mul(v, f32x4.splat(s));
}

/** Stores the 6 values Bᵀ·d of d0..d5 at p, p + stride, ... */
// @ts-ignore: decorator
@inline
function storeBt(d0: v128, d1: v128, d2: v128, d3: v128, d4: v128, d5: v128, p: usize, stride: usize): void {
  const t1 = f32x4.sub(d4, scale(d2, 4));
  const t2 = f32x4.sub(d3, scale(d1, 4));
  const t3 = f32x4.sub(d4, d2);
  const t4 = scale(f32x4.sub(d3, d1), 2);
  v128.store(p, f32x4.add(scale(f32x4.sub(d0, d2), 4), t3));
  v128.store(p + stride, f32x4.add(t1, t2));
  v128.store(p + 2 * stride, f32x4.sub(t1, t2));
  v128.store(p + 3 * stride, f32x4.add(t3, t4));
  v128.store(p + 4 * stride, f32x4.sub(t3, t4));
  v128.store(p + 5 * stride, f32x4.add(scale(f32x4.sub(d1, d3), 4), f32x4.sub(d5, d3)));
}

/** Stores the 6 values G·g of the 3 taps g0..g2 at p, p + stride, ... */
// @ts-ignore: decorator
@inline
function storeG(g0: v128, g1: v128, g2: v128, p: usize, stride: usize): void {
  const even = f32x4.add(g0, g2);
  const quarter = f32x4.add(scale(g0, 1.0 / 24), scale(g2, 1.0 / 6));
  v128.store(p, scale(g0, 0.25));
  v128.store(p + stride, scale(f32x4.add(even, g1), -1.0 / 6));
  v128.store(p + 2 * stride, scale(f32x4.sub(even, g1), -1.0 / 6));
  v128.store(p + 3 * stride, f32x4.add(quarter, scale(g1, 1.0 / 12)));
  v128.store(p + 4 * stride, f32x4.sub(quarter, scale(g1, 1.0 / 12)));
  v128.store(p + 5 * stride, g2);
}

/** Stores the 6 values A·y of the 4 gradient values y0..y3 at p, p + stride, ... */
// @ts-ignore: decorator
@inline
function storeA(y0: v128, y1: v128, y2: v128, y3: v128, p: usize, stride: usize): void {
  const even = f32x4.add(y0, y2);
  const odd = f32x4.add(y1, y3);
  const even4 = f32x4.add(y0, scale(y2, 4));
  const odd8 = f32x4.add(scale(y1, 2), scale(y3, 8));
  v128.store(p, y0);
  v128.store(p + stride, f32x4.add(even, odd));
  v128.store(p + 2 * stride, f32x4.sub(even, odd));
  v128.store(p + 3 * stride, f32x4.add(even4, odd8));
  v128.store(p + 4 * stride, f32x4.sub(even4, odd8));
  v128.store(p + 5 * stride, y3);
}

/** Stores the 4 values Aᵀ·m of m0..m5 at p, p + stride, ... */
// @ts-ignore: decorator
@inline
function storeAt(m0: v128, m1: v128, m2: v128, m3: v128, m4: v128, m5: v128, p: usize, stride: usize): void {
  const a = f32x4.add(m1, m2), b = f32x4.sub(m1, m2), c = f32x4.add(m3, m4), d = f32x4.sub(m3, m4);
  v128.store(p, f32x4.add(f32x4.add(m0, a), c));
  v128.store(p + stride, f32x4.add(b, scale(d, 2)));
  v128.store(p + 2 * stride, f32x4.add(a, scale(c, 4)));
  v128.store(p + 3 * stride, f32x4.add(f32x4.add(b, scale(d, 8)), m5));
}

/** Stores the 3 values Gᵀ·s of s0..s5 at p, p + stride, p + 2·stride. */
// @ts-ignore: decorator
@inline
function storeGt(s0: v128, s1: v128, s2: v128, s3: v128, s4: v128, s5: v128, p: usize, stride: usize): void {
  const a = f32x4.add(s1, s2), b = f32x4.sub(s1, s2), c = f32x4.add(s3, s4), d = f32x4.sub(s3, s4);
  v128.store(p, f32x4.add(f32x4.sub(scale(s0, 0.25), scale(a, 1.0 / 6)), scale(c, 1.0 / 24)));
  v128.store(p + stride, f32x4.add(scale(b, -1.0 / 6), scale(d, 1.0 / 12)));
  v128.store(p + 2 * stride, f32x4.add(scale(f32x4.sub(c, a), 1.0 / 6), s5));
}

/** The i-th vector of a row or column of ξ slots that lie `stride` bytes apart from p. */
// @ts-ignore: decorator
@inline
function load6(p: usize, stride: usize, i: i32): v128 {
  return v128.load(p + <usize>i * stride);
}

/**
 * The filter HWIO [3, 3, cin, cout] transformed, U[ξ] = (G g Gᵀ)[ξ], into 36 packed-B matrices
 * of cin × cout for the GEMM (panels of 8 columns, k-major, zero-padded).
 */
export function winograd_filter_f32(w: usize, cin: i32, cout: i32, out: usize): void {
  const xiBytes = packedFilterBytes(cin, cout);
  if ((cout & 7) != 0) memory.fill(out, 0, xiBytes * XI);
  const tap = <usize>cin * <usize>cout * 4;
  const row = 6 * xiBytes;
  for (let k = 0; k < cin; k++) {
    for (let col = 0; col < cout; col += 4) {
      const src = w + ((<usize>k * <usize>cout + <usize>col) << 2);
      const dst = out + ((((<usize>(col >> 3) * <usize>cin + <usize>k) << 3) + <usize>(col & 7)) << 2);
      // rows: each tap row i of g -> 6 values in slots ξ = 6i + j
      for (let i = 0; i < 3; i++) {
        const r = src + <usize>(i * 3) * tap;
        storeG(v128.load(r), v128.load(r + tap), v128.load(r + 2 * tap), dst + <usize>i * row, xiBytes);
      }
      // columns: slots (0..2, j) -> (0..5, j)
      for (let j = 0; j < ALPHA; j++) {
        const p = dst + <usize>j * xiBytes;
        storeG(v128.load(p), v128.load(p + row), v128.load(p + 2 * row), p, row);
      }
    }
  }
}

/** 4 channels at pixel (y, x) of one image, or zeros outside it. */
// @ts-ignore: decorator
@inline
function pixelOrZero(image: usize, y: i32, x: i32, H: i32, W: i32, C: i32, c: i32): v128 {
  if (<u32>y >= <u32>H || <u32>x >= <u32>W) return f32x4.splat(0);
  return v128.load(image + ((<usize>(y * W + x) * <usize>C + <usize>c) << 2));
}

/** Where touchPatches' loads go (a load whose value is kept is not dropped). */
let touchSink = f32x4.splat(0);

/**
 * Reads one value per cache line of the rows that the tiles tile0..tile0+count-1 read
 * (patchRows rows each, from 4ty - padTop), in address order, before a transform reads them
 * patch by patch: a sequential pass brings them from memory at full speed, where the
 * transform's interleaved row streams did not (the input transform 1.15-1.29x, alternating).
 */
// @ts-ignore: decorator
@inline
function touchPatches(x: usize, H: i32, row: usize, perImage: i32, tilesW: i32, padTop: i32, patchRows: i32, tile0: i32, count: i32): void {
  const first = tile0;
  const last = tile0 + count - 1;
  const n0 = first / perImage;
  const n1 = last / perImage;
  const y0 = max(((first - n0 * perImage) / tilesW) * TILE - padTop, 0);
  const y1 = min(((last - n1 * perImage) / tilesW) * TILE - padTop + patchRows, H);
  const start = x + (<usize>n0 * <usize>H + <usize>y0) * row;
  const end = x + (<usize>n1 * <usize>H + <usize>max(y1, 0)) * row;
  let sink = touchSink;
  for (let p = start & ~(<usize>63); p < end; p += 64) sink = v128.or(sink, v128.load(p));
  touchSink = sink;
}

/**
 * V[ξ] rows 0..count-1 = (Bᵀ d B)[ξ] of the tiles tile0..tile0+count-1 of x (NHWC [·, H, W, C]):
 * tile t is image t / (tilesH·tilesW), output rows 4ty..4ty+3 and columns 4tx..4tx+3, over the
 * 6×6 input patch at (4ty - padTop, 4tx - padLeft); pixels outside the image are 0. Each V[ξ] is
 * a count × C row-major matrix; they follow each other in `out`, winogradMatrixBytes apart.
 */
export function winograd_input_f32(x: usize, H: i32, W: i32, C: i32, padTop: i32, padLeft: i32, tilesH: i32, tilesW: i32, tile0: i32, count: i32, out: usize): void {
  const perImage = tilesH * tilesW;
  const xiBytes = winogradMatrixBytes(count, C);
  const rowSlots = 6 * xiBytes;
  const pixel = <usize>C << 2;
  const row = <usize>W * pixel;
  touchPatches(x, H, row, perImage, tilesW, padTop, ALPHA, tile0, count);
  for (let t = 0; t < count; t++) {
    const tile = tile0 + t;
    const n = tile / perImage;
    const rest = tile - n * perImage;
    const ty = rest / tilesW;
    const y0 = ty * TILE - padTop;
    const x0 = (rest - ty * tilesW) * TILE - padLeft;
    const image = x + <usize>n * <usize>H * row;
    const inside = y0 >= 0 && x0 >= 0 && y0 + ALPHA <= H && x0 + ALPHA <= W;
    for (let c = 0; c < C; c += 4) {
      const dst = out + ((<usize>t * <usize>C + <usize>c) << 2);
      // rows u of the patch -> slots ξ = 6u + j
      for (let u = 0; u < ALPHA; u++) {
        const slots = dst + <usize>u * rowSlots;
        if (inside) {
          const p = image + <usize>(y0 + u) * row + <usize>x0 * pixel + (<usize>c << 2);
          storeBt(v128.load(p), v128.load(p + pixel), v128.load(p + 2 * pixel), v128.load(p + 3 * pixel), v128.load(p + 4 * pixel), v128.load(p + 5 * pixel), slots, xiBytes);
        } else {
          const y = y0 + u;
          storeBt(
            pixelOrZero(image, y, x0, H, W, C, c), pixelOrZero(image, y, x0 + 1, H, W, C, c), pixelOrZero(image, y, x0 + 2, H, W, C, c),
            pixelOrZero(image, y, x0 + 3, H, W, C, c), pixelOrZero(image, y, x0 + 4, H, W, C, c), pixelOrZero(image, y, x0 + 5, H, W, C, c),
            slots, xiBytes,
          );
        }
      }
      // columns j: slots (0..5, j) in place
      for (let j = 0; j < ALPHA; j++) {
        const p = dst + <usize>j * xiBytes;
        storeBt(load6(p, rowSlots, 0), load6(p, rowSlots, 1), load6(p, rowSlots, 2), load6(p, rowSlots, 3), load6(p, rowSlots, 4), load6(p, rowSlots, 5), p, rowSlots);
      }
    }
  }
}

/** Stores (or adds) 4 channels at output pixel (y, x) when it lies inside the output. */
// @ts-ignore: decorator
@inline
function storeOutput<E>(image: usize, y: i32, x: i32, OH: i32, OW: i32, N: i32, c: i32, v: v128, accumulate: bool, bias: v128, lo: v128, hi: v128): void {
  if (y >= OH || x >= OW) return;
  const p = image + ((<usize>(y * OW + x) * <usize>N + <usize>c) << 2);
  v128.store(p, changetype<E>(0).apply(accumulate ? f32x4.add(v128.load(p), v) : v, bias, lo, hi));
}

/** The stored value as it is: no bias, no clip. */
class Unchanged {
  // @ts-ignore: decorator
  @inline apply(v: v128, bias: v128, lo: v128, hi: v128): v128 { return v; }
}
/** clip(v + bias, lo, hi): a bias and relu/relu6. */
class BiasClip {
  // @ts-ignore: decorator
  @inline apply(v: v128, bias: v128, lo: v128, hi: v128): v128 { return clipF32x4(f32x4.add(v, bias), lo, hi); }
}

/**
 * y = clip(y (when accumulating) + Aᵀ m A + bias, lo, hi) for the tiles tile0..tile0+count-1: m
 * holds 36 count × N row-major matrices (the GEMM products, overwritten here), y is NHWC
 * [·, OH, OW, N]; tile outputs past the edge are dropped. bias: one value per channel, pointer 0
 * for none; lo = -inf, hi = +inf for no clip (relu: lo 0; relu6: lo 0, hi 6).
 */
export function winograd_output_f32(
  m: usize, count: i32, N: i32, y: usize, OH: i32, OW: i32, tilesH: i32, tilesW: i32, tile0: i32, accumulate: i32, bias: usize, lo: f32, hi: f32,
): void {
  if (hasEpilogue(bias, lo, hi)) outputTiles<BiasClip>(m, count, N, y, OH, OW, tilesH, tilesW, tile0, accumulate, bias, lo, hi);
  else outputTiles<Unchanged>(m, count, N, y, OH, OW, tilesH, tilesW, tile0, accumulate, bias, lo, hi);
}

// @ts-ignore: decorator
@inline
function outputTiles<E>(
  m: usize, count: i32, N: i32, y: usize, OH: i32, OW: i32, tilesH: i32, tilesW: i32, tile0: i32, accumulate: i32, bias: usize, lo: f32, hi: f32,
): void {
  const vlo = f32x4.splat(lo);
  const vhi = f32x4.splat(hi);
  const perImage = tilesH * tilesW;
  const xiBytes = winogradMatrixBytes(count, N);
  const rowSlots = 6 * xiBytes;
  const add = accumulate != 0;
  for (let t = 0; t < count; t++) {
    const tile = tile0 + t;
    const n = tile / perImage;
    const rest = tile - n * perImage;
    const ty = rest / tilesW;
    const oy = ty * TILE;
    const ox = (rest - ty * tilesW) * TILE;
    const image = y + <usize>n * <usize>OH * <usize>OW * <usize>N * 4;
    for (let c = 0; c < N; c += 4) {
      const src = m + ((<usize>t * <usize>N + <usize>c) << 2);
      const vb = bias != 0 ? v128.load(bias + (<usize>c << 2)) : f32x4.splat(0);
      // rows i: slots (i, 0..5) -> (i, 0..3) in place
      for (let i = 0; i < ALPHA; i++) {
        const p = src + <usize>i * rowSlots;
        storeAt(load6(p, xiBytes, 0), load6(p, xiBytes, 1), load6(p, xiBytes, 2), load6(p, xiBytes, 3), load6(p, xiBytes, 4), load6(p, xiBytes, 5), p, xiBytes);
      }
      // columns b: slots (0..5, b) -> output column ox + b
      for (let b = 0; b < TILE; b++) {
        const p = src + <usize>b * xiBytes;
        const m0 = load6(p, rowSlots, 0), m1 = load6(p, rowSlots, 1), m2 = load6(p, rowSlots, 2);
        const m3 = load6(p, rowSlots, 3), m4 = load6(p, rowSlots, 4), m5 = load6(p, rowSlots, 5);
        const s = f32x4.add(m1, m2), d = f32x4.sub(m1, m2), s2 = f32x4.add(m3, m4), d2 = f32x4.sub(m3, m4);
        storeOutput<E>(image, oy, ox + b, OH, OW, N, c, f32x4.add(f32x4.add(m0, s), s2), add, vb, vlo, vhi);
        storeOutput<E>(image, oy + 1, ox + b, OH, OW, N, c, f32x4.add(d, scale(d2, 2)), add, vb, vlo, vhi);
        storeOutput<E>(image, oy + 2, ox + b, OH, OW, N, c, f32x4.add(s, scale(s2, 4)), add, vb, vlo, vhi);
        storeOutput<E>(image, oy + 3, ox + b, OH, OW, N, c, f32x4.add(f32x4.add(d, scale(d2, 8)), m5), add, vb, vlo, vhi);
      }
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

/**
 * Z[ξ] rows 0..count-1 = (A dy Aᵀ)[ξ] of the 4×4 tiles of dY (NHWC [·, OH, OW, N]) numbered
 * as in winograd_input_f32; values past the output's edge are 0. 36 count × N matrices.
 */
export function winograd_grad_tiles_f32(dy: usize, OH: i32, OW: i32, N: i32, tilesH: i32, tilesW: i32, tile0: i32, count: i32, out: usize): void {
  const perImage = tilesH * tilesW;
  const xiBytes = winogradMatrixBytes(count, N);
  const rowSlots = 6 * xiBytes;
  touchPatches(dy, OH, <usize>OW * <usize>N * 4, perImage, tilesW, 0, TILE, tile0, count);
  for (let t = 0; t < count; t++) {
    const tile = tile0 + t;
    const n = tile / perImage;
    const rest = tile - n * perImage;
    const ty = rest / tilesW;
    const oy = ty * TILE;
    const ox = (rest - ty * tilesW) * TILE;
    const image = dy + <usize>n * <usize>OH * <usize>OW * <usize>N * 4;
    for (let c = 0; c < N; c += 4) {
      const dst = out + ((<usize>t * <usize>N + <usize>c) << 2);
      // rows u of the tile -> slots ξ = 6u + j
      for (let u = 0; u < TILE; u++) {
        const yy = oy + u;
        storeA(
          gradOrZero(image, yy, ox, OH, OW, N, c), gradOrZero(image, yy, ox + 1, OH, OW, N, c),
          gradOrZero(image, yy, ox + 2, OH, OW, N, c), gradOrZero(image, yy, ox + 3, OH, OW, N, c),
          dst + <usize>u * rowSlots, xiBytes,
        );
      }
      // columns j: slots (0..3, j) -> (0..5, j)
      for (let j = 0; j < ALPHA; j++) {
        const p = dst + <usize>j * xiBytes;
        storeA(load6(p, rowSlots, 0), load6(p, rowSlots, 1), load6(p, rowSlots, 2), load6(p, rowSlots, 3), p, rowSlots);
      }
    }
  }
}

/**
 * dW HWIO [3, 3, cin, cout] = Gᵀ S G from the 36 summed products S[ξ] (cin × cout row-major
 * each, in `s`, which this overwrites).
 */
export function winograd_filter_grad_f32(s: usize, cin: i32, cout: i32, dw: usize): void {
  const xiBytes = <usize>cin * <usize>cout * 4;
  const rowSlots = 6 * xiBytes;
  for (let k = 0; k < cin; k++) {
    for (let col = 0; col < cout; col += 4) {
      const off = (<usize>k * <usize>cout + <usize>col) << 2;
      const src = s + off;
      // rows i: slots (i, 0..5) -> (i, 0..2) in place
      for (let i = 0; i < ALPHA; i++) {
        const p = src + <usize>i * rowSlots;
        storeGt(load6(p, xiBytes, 0), load6(p, xiBytes, 1), load6(p, xiBytes, 2), load6(p, xiBytes, 3), load6(p, xiBytes, 4), load6(p, xiBytes, 5), p, xiBytes);
      }
      // columns b: slots (0..5, b) -> taps (0..2, b)
      for (let b = 0; b < 3; b++) {
        const p = src + <usize>b * xiBytes;
        storeGt(load6(p, rowSlots, 0), load6(p, rowSlots, 1), load6(p, rowSlots, 2), load6(p, rowSlots, 3), load6(p, rowSlots, 4), load6(p, rowSlots, 5),
          dw + off + <usize>b * xiBytes, 3 * xiBytes);
      }
    }
  }
}

/**
 * Forward convolution of the images [n0, n1) by Winograd F(4×4, 3×3), chunkTiles tiles at a time:
 * input transform into `v` (36 chunk × C matrices), 36 GEMMs with the packed transformed filter
 * into `m` (36 chunk × N), output transform into y (added to y when `accumulate`).
 */
export function conv2d_winograd_forward_images_f32(
  x: usize, H: i32, W: i32, C: i32, padTop: i32, padLeft: i32, OH: i32, OW: i32,
  packedU: usize, N: i32, y: usize, accumulate: i32, bias: usize, lo: f32, hi: f32,
  n0: i32, n1: i32, chunkTiles: i32, v: usize, m: usize,
): void {
  const tilesH = (OH + TILE - 1) / TILE;
  const tilesW = (OW + TILE - 1) / TILE;
  const perImage = tilesH * tilesW;
  const uBytes = packedFilterBytes(C, N);
  const end = n1 * perImage;
  for (let t0 = n0 * perImage; t0 < end; t0 += chunkTiles) {
    const count = min(chunkTiles, end - t0);
    winograd_input_f32(x, H, W, C, padTop, padLeft, tilesH, tilesW, t0, count, v);
    const vBytes = winogradMatrixBytes(count, C);
    const mBytes = winogradMatrixBytes(count, N);
    for (let xi = 0; xi < XI; xi++) {
      gemm_f32_rows(v + <usize>xi * vBytes, C, packedU + <usize>xi * uBytes, m + <usize>xi * mBytes, N, count, N, C, false);
    }
    winograd_output_f32(m, count, N, y, OH, OW, tilesH, tilesW, t0, accumulate, bias, lo, hi);
  }
}

/**
 * S[ξ] (+)= V[ξ]ᵀ · Z[ξ] over the images [n0, n1): the filter gradient's 36 transformed sums for
 * one thread (cin × cout row-major each, in `s`; the caller adds the threads' shares and runs
 * winograd_filter_grad_f32). chunkTiles tiles at a time through `v` and `z`.
 * With `accumulate` the first chunk adds to s too.
 */
export function conv2d_winograd_filter_grad_images_f32(
  x: usize, H: i32, W: i32, C: i32, padTop: i32, padLeft: i32, OH: i32, OW: i32,
  dy: usize, N: i32, s: usize, accumulate: i32,
  n0: i32, n1: i32, chunkTiles: i32, v: usize, z: usize,
): void {
  const tilesH = (OH + TILE - 1) / TILE;
  const tilesW = (OW + TILE - 1) / TILE;
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
    // V[ξ] (count × C) and Z[ξ] (count × N) are already in the GEMM's tile order, step by step
    for (let xi = 0; xi < XI; xi++) {
      gemm_f32_at_b(v + <usize>xi * vBytes, C, z + <usize>xi * zBytes, N, s + <usize>xi * sBytes, N, C, N, count, accumulate != 0 || t0 > start);
    }
  }
}
