// The 8-bit micro-tile's shared pieces (gemm_q8_packed, conv_q8_direct_nhwc): one k-pair's
// multiply-add of an A pair splat against four columns' B pairs, and the store of a 4×8 int32
// tile. Not re-exported by index.ts: they take and return v128, which JS cannot call.

// @ts-ignore: decorator
@inline
function extractI32(v: v128, lane: i32): i32 {
  return lane == 0 ? i32x4.extract_lane(v, 0) : lane == 1 ? i32x4.extract_lane(v, 1) : lane == 2 ? i32x4.extract_lane(v, 2) : i32x4.extract_lane(v, 3);
}

/** acc + [a0·b0 + a1·b1 per lane]: one i32x4.dot_i16x8_s (pmaddwd) does 8 multiply-adds. */
// @ts-ignore: decorator
@inline
export function dotPairQ8(acc: v128, a: v128, b: v128): v128 {
  return i32x4.add(acc, i32x4.dot_i16x8_s(a, b));
}

/** Stores (or adds) a 4×8 int32 tile (row r in cr0, cr1) at c, row stride ldc; rows × cols of it at the edges. */
// @ts-ignore: decorator
@inline
export function storeTileQ8(
  c: usize, ldc: i32, rows: i32, cols: i32, add: bool,
  c00: v128, c01: v128, c10: v128, c11: v128, c20: v128, c21: v128, c30: v128, c31: v128,
): void {
  const stride = <usize>ldc << 2;
  if (rows == 4 && cols == 8) {
    if (add) {
      c00 = i32x4.add(c00, v128.load(c)); c01 = i32x4.add(c01, v128.load(c, 16));
      c10 = i32x4.add(c10, v128.load(c + stride)); c11 = i32x4.add(c11, v128.load(c + stride, 16));
      c20 = i32x4.add(c20, v128.load(c + 2 * stride)); c21 = i32x4.add(c21, v128.load(c + 2 * stride, 16));
      c30 = i32x4.add(c30, v128.load(c + 3 * stride)); c31 = i32x4.add(c31, v128.load(c + 3 * stride, 16));
    }
    v128.store(c, c00); v128.store(c, c01, 16);
    v128.store(c + stride, c10); v128.store(c + stride, c11, 16);
    v128.store(c + 2 * stride, c20); v128.store(c + 2 * stride, c21, 16);
    v128.store(c + 3 * stride, c30); v128.store(c + 3 * stride, c31, 16);
    return;
  }
  for (let r = 0; r < rows; r++) {
    const lo = r == 0 ? c00 : r == 1 ? c10 : r == 2 ? c20 : c30;
    const hi = r == 0 ? c01 : r == 1 ? c11 : r == 2 ? c21 : c31;
    const row = c + <usize>r * stride;
    for (let j = 0; j < cols; j++) {
      const v = j < 4 ? extractI32(lo, j) : extractI32(hi, j - 4);
      const p = row + (<usize>j << 2);
      store<i32>(p, add ? load<i32>(p) + v : v);
    }
  }
}
