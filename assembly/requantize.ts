// Requantization of int32 GEMM accumulators to 8 bits, with gemmlowp/TFLite fixed-point
// semantics (Jacob et al. 2018, eq. 5-6): a real multiplier M = M0 * 2^(shift - 31) with M0 in
// [2^30, 2^31) is applied as
//   v = acc + bias[col]                                   (int32, wrapping as TFLite does)
//   v = saturate(v * 2^max(shift, 0))                     (multipliers > 1)
//   v = SaturatingRoundingDoublingHighMul(v, M0)          round(v * M0 / 2^31), ties up
//   v = RoundingDivideByPOT(v, max(-shift, 0))            ties away from zero
//   out = clamp(v + zeroPoint, lo, hi)                    (no int32 wrap: clamp first, then add)
// The 64-bit product comes from i64x2.extmul; its rounded high half is taken as the high
// dword of 2 * (v * M0 + 2^30), because i64x2.shr_s has no x64 instruction. That equals
// gemmlowp's nudge-and-truncate for every product; the single overflow, INT32_MIN * INT32_MIN,
// lands on INT32_MIN, which no other product gives, and is flipped to INT32_MAX.
// wasm shifts take one count for all lanes, so per-column right shifts are done as
// floor(v / 2^e) = hi32(2 * (v ^ 0x80000000) * 2^(31 - e)) - 2^(31 - e), an unsigned extmul.
// Per-column constants are expanded once by requantize_prepare into a table (struct of
// arrays, `count` entries each) so that the main loop only loads them.

const T_MULTIPLIER: usize = 0; // M0
const T_LEFT_MUL: usize = 1; // 2^left
const T_SAT_HI: usize = 2; // INT32_MAX >> left: above it, v * 2^left saturates
const T_SAT_LO: usize = 3; // INT32_MIN >> left
const T_RIGHT_MUL: usize = 4; // 2^(31 - right), as u32
const T_REM_MASK: usize = 5; // 2^right - 1
const T_HALF_MASK: usize = 6; // (2^right - 1) >> 1
const T_HALF: usize = 7; // 2^(right - 1), 0 when right = 0               (bounded mode)
const T_NEG_MASK: usize = 8; // -1 when right > 0, else 0                  (bounded mode)
const T_UP_MUL: usize = 9; // 2^(maxRight - right)                         (bounded mode)
const T_MAX_RIGHT: usize = 10; // the largest right shift of all entries
const TABLE_FIELDS = 11;

/**
 * shiftMode of requantize_i32_q8: whether some shift is a left shift, or, when none is and the
 * caller knows |acc + bias| <= B with (B + 1 + 2^(right - 1)) · 2^(maxRight - right) < 2^31 for
 * every entry, SHIFT_BOUNDED: the per-column rounding divide by 2^right becomes
 * ((v + 2^(right-1) - [v < 0 and right > 0]) · 2^(maxRight - right)) >> maxRight, which is
 * RoundingDivideByPOT exactly while the product fits int32 (|v| <= |acc + bias|: M0 < 2^31),
 * in 6 lane operations instead of 12.
 */
export const SHIFT_RIGHT_ONLY: i32 = 0;
export const SHIFT_ANY_LEFT: i32 = 1;
export const SHIFT_BOUNDED: i32 = 2;

/** Bytes of the table requantize_prepare writes for `entries` entries. */
export function requantize_table_bytes(entries: i32): i32 {
  return entries * TABLE_FIELDS * 4;
}

/**
 * Expands (multiplier, shift) pairs into the table used by requantize_i32_q8: `entries`
 * entries, entry i from pair (count == 1 ? 0 : i). table holds 7 * entries i32.
 */
export function requantize_prepare(multipliers: usize, shifts: usize, count: i32, entries: i32, table: usize): void {
  const stride = <usize>entries << 2;
  let maxRight = 0;
  for (let i = 0; i < entries; i++) maxRight = max(maxRight, -load<i32>(shifts + (<usize>(count == 1 ? 0 : i) << 2)));
  for (let i = 0; i < entries; i++) {
    const src = <usize>(count == 1 ? 0 : i) << 2;
    const shift = load<i32>(shifts + src);
    const left = max(shift, 0);
    const right = max(-shift, 0);
    const p = table + (<usize>i << 2);
    store<i32>(p + T_MULTIPLIER * stride, load<i32>(multipliers + src));
    store<i32>(p + T_LEFT_MUL * stride, 1 << left);
    store<i32>(p + T_SAT_HI * stride, i32.MAX_VALUE >> left);
    store<i32>(p + T_SAT_LO * stride, i32.MIN_VALUE >> left);
    store<u32>(p + T_RIGHT_MUL * stride, <u32>1 << <u32>(31 - right));
    store<i32>(p + T_REM_MASK * stride, <i32>((<u32>1 << <u32>right) - 1));
    store<i32>(p + T_HALF_MASK * stride, <i32>((<u32>1 << <u32>right) - 1) >> 1);
    store<i32>(p + T_HALF * stride, right > 0 ? 1 << (right - 1) : 0);
    store<i32>(p + T_NEG_MASK * stride, right > 0 ? -1 : 0);
    store<i32>(p + T_UP_MUL * stride, <i32>(<u32>1 << <u32>(maxRight - right)));
    store<i32>(p + T_MAX_RIGHT * stride, maxRight);
  }
}

// ---------------------------------------------------------------- lanes

// @ts-ignore: decorator
@inline
function saturatingLeftShift(x: v128, leftMul: v128, satHi: v128, satLo: v128): v128 {
  const shifted = i32x4.mul(x, leftMul);
  const high = v128.bitselect(i32x4.splat(i32.MAX_VALUE), shifted, i32x4.gt_s(x, satHi));
  return v128.bitselect(i32x4.splat(i32.MIN_VALUE), high, i32x4.lt_s(x, satLo));
}

// @ts-ignore: decorator
@inline
function doublingHighMul(x: v128, m: v128): v128 {
  const nudge = i64x2.splat(1 << 30);
  let lo = i64x2.add(i64x2.extmul_low_i32x4_s(x, m), nudge);
  let hi = i64x2.add(i64x2.extmul_high_i32x4_s(x, m), nudge);
  lo = i64x2.add(lo, lo);
  hi = i64x2.add(hi, hi);
  const r = i32x4.shuffle(lo, hi, 1, 3, 5, 7);
  return v128.xor(r, i32x4.eq(r, i32x4.splat(i32.MIN_VALUE)));
}

/** floor(x / 2^e) per lane, given rightMul = 2^(31 - e). */
// @ts-ignore: decorator
@inline
function floorDivideByPOT(x: v128, rightMul: v128): v128 {
  const u = v128.xor(x, i32x4.splat(i32.MIN_VALUE));
  let lo = i64x2.extmul_low_i32x4_u(u, rightMul);
  let hi = i64x2.extmul_high_i32x4_u(u, rightMul);
  lo = i64x2.add(lo, lo);
  hi = i64x2.add(hi, hi);
  return i32x4.sub(i32x4.shuffle(lo, hi, 1, 3, 5, 7), rightMul);
}

/** gemmlowp's rounding: floor + 1 when the remainder is above half (at half for x >= 0). */
// @ts-ignore: decorator
@inline
function roundUpLanes(x: v128, floor: v128, remMask: v128, halfMask: v128): v128 {
  const threshold = i32x4.sub(halfMask, i32x4.lt_s(x, i32x4.splat(0)));
  return i32x4.sub(floor, i32x4.gt_s(v128.and(x, remMask), threshold));
}

// @ts-ignore: decorator
@inline
function clampAddLanes(v: v128, loZ: v128, hiZ: v128, zp: v128): v128 {
  return i32x4.add(i32x4.min_s(i32x4.max_s(v, loZ), hiZ), zp);
}

/** 16 values already inside the 8-bit range -> 16 bytes. */
// @ts-ignore: decorator
@inline
function narrow16(a: v128, b: v128, c: v128, d: v128, unsigned: bool): v128 {
  const ab = i16x8.narrow_i32x4_s(a, b);
  const cd = i16x8.narrow_i32x4_s(c, d);
  return unsigned ? i8x16.narrow_i16x8_u(ab, cd) : i8x16.narrow_i16x8_s(ab, cd);
}

// @ts-ignore: decorator
@inline
function storeNarrow4(p: usize, v: v128, unsigned: bool): void {
  const w = i16x8.narrow_i32x4_s(v, v);
  v128.store32_lane(p, unsigned ? i8x16.narrow_i16x8_u(w, w) : i8x16.narrow_i16x8_s(w, w), 0);
}

// ---------------------------------------------------------------- scalar tail

/** The same arithmetic on one value, with table entry at `t` (field stride `stride`). */
// @ts-ignore: decorator
@inline
function requantizeOne(x: i32, t: usize, stride: usize): i32 {
  let v = x;
  if (v > load<i32>(t + T_SAT_HI * stride)) v = i32.MAX_VALUE;
  else if (v < load<i32>(t + T_SAT_LO * stride)) v = i32.MIN_VALUE;
  else v *= load<i32>(t + T_LEFT_MUL * stride);
  let r = <i32>((<i64>v * <i64>load<i32>(t + T_MULTIPLIER * stride) + (<i64>1 << 30)) >> 31);
  if (r == i32.MIN_VALUE) r = i32.MAX_VALUE;
  const rightMul = load<u32>(t + T_RIGHT_MUL * stride);
  const floor = <i32>(<u32>((<u64>(<u32>r ^ 0x80000000) * <u64>rightMul) >> 31) - rightMul);
  const threshold = load<i32>(t + T_HALF_MASK * stride) + (r < 0 ? 1 : 0);
  return floor + ((r & load<i32>(t + T_REM_MASK * stride)) > threshold ? 1 : 0);
}

// ---------------------------------------------------------------- loops

/** Per-tensor parameters and no bias: one flat run, shifts as lane-uniform shr. */
// @ts-ignore: decorator
@inline
function requantizeFlat(acc: usize, n: i32, table: usize, left: bool, zp: i32, lo: i32, hi: i32, unsigned: bool, out: usize): void {
  const stride: usize = 4;
  const m = i32x4.splat(load<i32>(table + T_MULTIPLIER * stride));
  const leftMul = i32x4.splat(load<i32>(table + T_LEFT_MUL * stride));
  const satHi = i32x4.splat(load<i32>(table + T_SAT_HI * stride));
  const satLo = i32x4.splat(load<i32>(table + T_SAT_LO * stride));
  const remMaskScalar = load<i32>(table + T_REM_MASK * stride);
  const right = ctz(remMaskScalar + 1);
  const remMask = i32x4.splat(remMaskScalar);
  const halfMask = i32x4.splat(load<i32>(table + T_HALF_MASK * stride));
  const loZ = i32x4.splat(lo - zp);
  const hiZ = i32x4.splat(hi - zp);
  const zpv = i32x4.splat(zp);
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const p = acc + (<usize>i << 2);
    let x0 = v128.load(p);
    let x1 = v128.load(p, 16);
    let x2 = v128.load(p, 32);
    let x3 = v128.load(p, 48);
    if (left) {
      x0 = saturatingLeftShift(x0, leftMul, satHi, satLo);
      x1 = saturatingLeftShift(x1, leftMul, satHi, satLo);
      x2 = saturatingLeftShift(x2, leftMul, satHi, satLo);
      x3 = saturatingLeftShift(x3, leftMul, satHi, satLo);
    }
    x0 = doublingHighMul(x0, m);
    x1 = doublingHighMul(x1, m);
    x2 = doublingHighMul(x2, m);
    x3 = doublingHighMul(x3, m);
    x0 = clampAddLanes(roundUpLanes(x0, i32x4.shr_s(x0, right), remMask, halfMask), loZ, hiZ, zpv);
    x1 = clampAddLanes(roundUpLanes(x1, i32x4.shr_s(x1, right), remMask, halfMask), loZ, hiZ, zpv);
    x2 = clampAddLanes(roundUpLanes(x2, i32x4.shr_s(x2, right), remMask, halfMask), loZ, hiZ, zpv);
    x3 = clampAddLanes(roundUpLanes(x3, i32x4.shr_s(x3, right), remMask, halfMask), loZ, hiZ, zpv);
    v128.store(out + <usize>i, narrow16(x0, x1, x2, x3, unsigned));
  }
  for (; i < n; i++) {
    const v = requantizeOne(load<i32>(acc + (<usize>i << 2)), table, stride);
    store<i8>(out + <usize>i, <i8>(min(max(v, lo - zp), hi - zp) + zp));
  }
}

/** Four columns starting at byte offset `off` (of the i32 arrays) of one row. */
// @ts-ignore: decorator
@inline
function requantizeColumns4(
  accRow: usize, bias: usize, hasBias: bool, table: usize, stride: usize, off: usize, left: bool,
  loZ: v128, hiZ: v128, zp: v128, bounded: bool, maxRight: i32,
): v128 {
  const t = table + off;
  let x = v128.load(accRow + off);
  if (hasBias) x = i32x4.add(x, v128.load(bias + off));
  if (left) {
    x = saturatingLeftShift(x, v128.load(t + T_LEFT_MUL * stride), v128.load(t + T_SAT_HI * stride), v128.load(t + T_SAT_LO * stride));
  }
  x = doublingHighMul(x, v128.load(t + T_MULTIPLIER * stride));
  if (bounded) {
    const negative = v128.and(i32x4.lt_s(x, i32x4.splat(0)), v128.load(t + T_NEG_MASK * stride));
    const y = i32x4.add(i32x4.add(x, v128.load(t + T_HALF * stride)), negative);
    return clampAddLanes(i32x4.shr_s(i32x4.mul(y, v128.load(t + T_UP_MUL * stride)), maxRight), loZ, hiZ, zp);
  }
  const floor = floorDivideByPOT(x, v128.load(t + T_RIGHT_MUL * stride));
  x = roundUpLanes(x, floor, v128.load(t + T_REM_MASK * stride), v128.load(t + T_HALF_MASK * stride));
  return clampAddLanes(x, loZ, hiZ, zp);
}

/** Row-major [rows, cols] with a table entry per column and an optional bias per column. */
// @ts-ignore: decorator
@inline
function requantizeRows(
  acc: usize, rows: i32, cols: i32, bias: usize, hasBias: bool, table: usize, left: bool,
  zp: i32, lo: i32, hi: i32, unsigned: bool, out: usize, bounded: bool,
): void {
  const stride = <usize>cols << 2;
  const maxRight = load<i32>(table + T_MAX_RIGHT * stride);
  const loZ = i32x4.splat(lo - zp);
  const hiZ = i32x4.splat(hi - zp);
  const zpv = i32x4.splat(zp);
  for (let row = 0; row < rows; row++) {
    const a = acc + <usize>row * stride;
    const o = out + <usize>row * <usize>cols;
    let c = 0;
    for (; c + 16 <= cols; c += 16) {
      const off = <usize>c << 2;
      const x0 = requantizeColumns4(a, bias, hasBias, table, stride, off, left, loZ, hiZ, zpv, bounded, maxRight);
      const x1 = requantizeColumns4(a, bias, hasBias, table, stride, off + 16, left, loZ, hiZ, zpv, bounded, maxRight);
      const x2 = requantizeColumns4(a, bias, hasBias, table, stride, off + 32, left, loZ, hiZ, zpv, bounded, maxRight);
      const x3 = requantizeColumns4(a, bias, hasBias, table, stride, off + 48, left, loZ, hiZ, zpv, bounded, maxRight);
      v128.store(o + <usize>c, narrow16(x0, x1, x2, x3, unsigned));
    }
    for (; c + 4 <= cols; c += 4) {
      storeNarrow4(o + <usize>c, requantizeColumns4(a, bias, hasBias, table, stride, <usize>c << 2, left, loZ, hiZ, zpv, bounded, maxRight), unsigned);
    }
    for (; c < cols; c++) {
      const off = <usize>c << 2;
      let x = load<i32>(a + off);
      if (hasBias) x += load<i32>(bias + off);
      const v = requantizeOne(x, table + off, stride);
      store<i8>(o + <usize>c, <i8>(min(max(v, lo - zp), hi - zp) + zp));
    }
  }
}

/**
 * Requantizes a row-major int32 [rows, cols] matrix at acc into bytes at out (int8 when
 * lo < 0, else uint8). With perTensor != 0 and hasBias == 0 the table (from
 * requantize_prepare) has 1 entry; otherwise it has `cols` entries. bias: int32[cols].
 * shiftMode: SHIFT_ANY_LEFT (1) when some shift > 0 (multipliers >= 1), else
 * SHIFT_RIGHT_ONLY (0), whose left-shift step is skipped, or SHIFT_BOUNDED (2; see there).
 */
export function requantize_i32_q8(
  acc: usize, rows: i32, cols: i32, bias: usize, hasBias: i32, table: usize, perTensor: i32, shiftMode: i32,
  zeroPoint: i32, lo: i32, hi: i32, out: usize,
): void {
  const unsigned = lo >= 0;
  const left = shiftMode == SHIFT_ANY_LEFT;
  if (shiftMode == SHIFT_BOUNDED && perTensor == 0) {
    if (hasBias != 0) requantizeRows(acc, rows, cols, bias, true, table, false, zeroPoint, lo, hi, unsigned, out, true);
    else requantizeRows(acc, rows, cols, bias, false, table, false, zeroPoint, lo, hi, unsigned, out, true);
    return;
  }
  if (perTensor != 0 && hasBias == 0) {
    if (left) requantizeFlat(acc, rows * cols, table, true, zeroPoint, lo, hi, unsigned, out);
    else requantizeFlat(acc, rows * cols, table, false, zeroPoint, lo, hi, unsigned, out);
  } else if (hasBias != 0) {
    if (left) requantizeRows(acc, rows, cols, bias, true, table, true, zeroPoint, lo, hi, unsigned, out, false);
    else requantizeRows(acc, rows, cols, bias, true, table, false, zeroPoint, lo, hi, unsigned, out, false);
  } else {
    if (left) requantizeRows(acc, rows, cols, bias, false, table, true, zeroPoint, lo, hi, unsigned, out, false);
    else requantizeRows(acc, rows, cols, bias, false, table, false, zeroPoint, lo, hi, unsigned, out, false);
  }
}
