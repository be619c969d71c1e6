// Magnitude pruning masks (Zhu & Gupta 2017; PocketFlow WeightSparseLearner): a Uint8 mask,
// 1 keep and 0 drop, built from a magnitude threshold and applied to weights and gradients.
// Applying a mask is memory-bound (read 4 + 1 bytes, write 4 per element), so the loops move
// 16 elements per step: one 16-byte mask load, widened to four i32x4 lane masks that select
// the floats with v128.and, without branches.

// @ts-ignore: decorator
@inline
function bytesOf(m0: v128, m1: v128, m2: v128, m3: v128): v128 {
  // 16 lane masks (0 or -1) to 16 bytes of 0 or 1
  const b = i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(m0, m1), i16x8.narrow_i32x4_s(m2, m3));
  return v128.and(b, i8x16.splat(1));
}

// @ts-ignore: decorator
@inline
function keepLanes(v: v128, t: v128, strict: bool): v128 {
  const a = f32x4.abs(v);
  return strict ? f32x4.gt(a, t) : f32x4.ge(a, t);
}

// @ts-ignore: decorator
@inline
function maskRun(w: usize, n: i32, threshold: f32, strict: bool, mask: usize): i32 {
  const t = f32x4.splat(threshold);
  let kept = i32x4.splat(0);
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const p = w + (<usize>i << 2);
    const m0 = keepLanes(v128.load(p), t, strict);
    const m1 = keepLanes(v128.load(p, 16), t, strict);
    const m2 = keepLanes(v128.load(p, 32), t, strict);
    const m3 = keepLanes(v128.load(p, 48), t, strict);
    kept = i32x4.sub(kept, i32x4.add(i32x4.add(m0, m1), i32x4.add(m2, m3)));
    v128.store(mask + <usize>i, bytesOf(m0, m1, m2, m3));
  }
  let count = i32x4.extract_lane(kept, 0) + i32x4.extract_lane(kept, 1) + i32x4.extract_lane(kept, 2) + i32x4.extract_lane(kept, 3);
  for (; i < n; i++) {
    const a = abs(load<f32>(w + (<usize>i << 2)));
    const keep = strict ? a > threshold : a >= threshold;
    store<u8>(mask + <usize>i, <u8>keep);
    count += <i32>keep;
  }
  return count;
}

/**
 * mask[i] = |w[i]| >= threshold (strict != 0: |w[i]| > threshold) for n f32 values at w;
 * NaN weights are dropped. Returns the number kept.
 */
export function mask_abs_f32(w: usize, n: i32, threshold: f32, strict: i32, mask: usize): i32 {
  return strict ? maskRun(w, n, threshold, true, mask) : maskRun(w, n, threshold, false, mask);
}

/** out[i] = mask[i] != 0 ? x[i] : 0 for n f32 values; out may be x. */
export function apply_mask_f32(x: usize, mask: usize, n: i32, out: usize): void {
  const zero = i8x16.splat(0);
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const p = x + (<usize>i << 2);
    const o = out + (<usize>i << 2);
    const keep = v128.not(i8x16.eq(v128.load(mask + <usize>i), zero));
    const lo = i16x8.extend_low_i8x16_s(keep);
    const hi = i16x8.extend_high_i8x16_s(keep);
    const a = v128.and(v128.load(p), i32x4.extend_low_i16x8_s(lo));
    const b = v128.and(v128.load(p, 16), i32x4.extend_high_i16x8_s(lo));
    const c = v128.and(v128.load(p, 32), i32x4.extend_low_i16x8_s(hi));
    const d = v128.and(v128.load(p, 48), i32x4.extend_high_i16x8_s(hi));
    v128.store(o, a);
    v128.store(o, b, 16);
    v128.store(o, c, 32);
    v128.store(o, d, 48);
  }
  for (; i < n; i++) {
    const v = load<f32>(x + (<usize>i << 2));
    store<f32>(out + (<usize>i << 2), load<u8>(mask + <usize>i) != 0 ? v : 0);
  }
}

/** Number of elements equal to zero (+0 or -0) among n f32 values at x. */
export function count_zeros_f32(x: usize, n: i32): i32 {
  const zero = f32x4.splat(0);
  let acc0 = i32x4.splat(0);
  let acc1 = i32x4.splat(0);
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const p = x + (<usize>i << 2);
    acc0 = i32x4.sub(acc0, i32x4.add(f32x4.eq(v128.load(p), zero), f32x4.eq(v128.load(p, 16), zero)));
    acc1 = i32x4.sub(acc1, i32x4.add(f32x4.eq(v128.load(p, 32), zero), f32x4.eq(v128.load(p, 48), zero)));
  }
  const acc = i32x4.add(acc0, acc1);
  let count = i32x4.extract_lane(acc, 0) + i32x4.extract_lane(acc, 1) + i32x4.extract_lane(acc, 2) + i32x4.extract_lane(acc, 3);
  for (; i < n; i++) {
    if (load<f32>(x + (<usize>i << 2)) == 0) count++;
  }
  return count;
}

/** Number of non-zero bytes among n bytes at mask (the elements a mask keeps). */
export function count_nonzero_u8(mask: usize, n: i32): i32 {
  const zero = i8x16.splat(0);
  let count = 0;
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    count += popcnt(i8x16.bitmask(i8x16.eq(v128.load(mask + <usize>i), zero)));
  }
  count = (i - count);
  for (; i < n; i++) {
    if (load<u8>(mask + <usize>i) != 0) count++;
  }
  return count;
}
