// Order statistics and sorting of f32 arrays by radix on order-preserving u32 keys.
// The key of a float flips the sign bit of positives and every bit of negatives, so unsigned
// key order is float order: -Inf < negatives < -0 < +0 < positives < +Inf, with -0 before +0
// as TypedArray.prototype.sort puts them, and NaNs beyond both infinities. The key of a
// magnitude |x| is the bits with the sign cleared (already ordered; -0 and +0 share key 0).
//
// Selection (rank r of n) runs one histogram pass per key digit, high digit first; each pass
// counts only the elements whose higher digits equal the prefix chosen so far, so no element
// is moved and nothing is sorted. The digit plan is the caller's: 11/11/10 bits for small
// inputs (small histograms to clear and scan), 16/16 bits for large ones, where an 11-bit top
// digit (sign, exponent, 2 mantissa bits) would leave a quarter of typical weights sharing
// the selected bucket and the second pass nearly scalar; with 16 bits a bucket spans 1/128 of
// an octave and the second pass mostly skips 16 elements per vector test.
// A pass over one range writes its own histogram and a combine step sums them and chooses the
// digit, so one selection can run on several threads. The shared state lives in memory, so
// every call's arguments are known before the first one runs.

// Select state, u32 fields at these byte offsets (the caller writes the first six):
const S_STEP = 0; // which digit the next pass counts
const S_PREFIX = 4; // key bits chosen so far
const S_MASK = 8; // which key bits are chosen
const S_RANK = 12; // rank of the wanted element among the elements that share the prefix
const S_COUNT = 16; // elements that share the prefix after the last combine
const S_DIGITS = 20; // digit plan: per step, u32 shift then u32 width (bits), from offset 20

/**
 * Each pass spreads its counts over several histograms (element i into histogram i % subs) so
 * that runs of equal digits, common in float data (think of pruned zeros), do not serialise on
 * one counter's store-to-load latency. Range scratch: subs * 2^width u32; the first holds the sum.
 */
// @ts-ignore: decorator
@inline
function subsOf(width: u32): u32 {
  return width > 11 ? 2 : 4;
}

/** Bytes of histogram scratch one range needs for a digit of `width` bits. */
export function radix_select_scratch_bytes(width: i32): i32 {
  return <i32>(subsOf(width) << (width + 2));
}

const SIGN: u32 = 0x80000000;

// Keys as (bits ^ (flipSource & flip)) & keep, where flipSource = (bits >> 31) | SIGN:
// floats use flip = ~0, keep = ~0; magnitudes use flip = 0, keep = 0x7fffffff.
// @ts-ignore: decorator
@inline
function keyScalar(bits: u32, flip: u32, keep: u32): u32 {
  return (bits ^ ((<u32>(<i32>bits >> 31) | SIGN) & flip)) & keep;
}

// @ts-ignore: decorator
@inline
function keyLanes(bits: v128, flip: v128, keep: v128): v128 {
  const flipSource = v128.or(i32x4.shr_s(bits, 31), i32x4.splat(<i32>SIGN));
  return v128.and(v128.xor(bits, v128.and(flipSource, flip)), keep);
}

// @ts-ignore: decorator
@inline
function bump(hist: usize, digit: u32): void {
  const p = hist + (<usize>digit << 2);
  store<u32>(p, load<u32>(p) + 1);
}

/** Counts the digit of every element; returns the number of NaNs. Lane l goes to histogram l % subs. */
function histogramAll(x: usize, n: i32, flip: u32, keep: u32, shift: u32, digitMask: u32, hist: usize, stride: usize, subs: u32): i32 {
  const vflip = i32x4.splat(flip);
  const vkeep = i32x4.splat(keep);
  const vdigit = i32x4.splat(digitMask);
  const vabs = i32x4.splat(0x7fffffff);
  const vinf = i32x4.splat(0x7f800000);
  // with 2 histograms, lanes 2 and 3 reuse the first two
  const h1 = hist + stride;
  const h2 = subs == 4 ? hist + 2 * stride : hist;
  const h3 = subs == 4 ? hist + 3 * stride : h1;
  let nan = i32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const bits = v128.load(x + (<usize>i << 2));
    nan = i32x4.sub(nan, i32x4.gt_s(v128.and(bits, vabs), vinf));
    const d = v128.and(i32x4.shr_u(keyLanes(bits, vflip, vkeep), shift), vdigit);
    bump(hist, i32x4.extract_lane(d, 0));
    bump(h1, i32x4.extract_lane(d, 1));
    bump(h2, i32x4.extract_lane(d, 2));
    bump(h3, i32x4.extract_lane(d, 3));
  }
  let count = i32x4.extract_lane(nan, 0) + i32x4.extract_lane(nan, 1) + i32x4.extract_lane(nan, 2) + i32x4.extract_lane(nan, 3);
  for (; i < n; i++) {
    const bits = load<u32>(x + (<usize>i << 2));
    if ((bits & 0x7fffffff) > 0x7f800000) count++;
    bump(hist, (keyScalar(bits, flip, keep) >> shift) & digitMask);
  }
  return count;
}

/** Counts the digit of the elements whose chosen bits equal prefix (element j of a block into histogram j % subs). */
function histogramMatching(
  x: usize, n: i32, flip: u32, keep: u32, shift: u32, digitMask: u32, prefix: u32, mask: u32, hist: usize, stride: usize, subs: u32,
): void {
  const vflip = i32x4.splat(flip);
  const vkeep = i32x4.splat(keep);
  const vmask = i32x4.splat(mask);
  const vprefix = i32x4.splat(prefix);
  const subMask = subs - 1;
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const p = x + (<usize>i << 2);
    // most blocks hold no candidate once the top digit is chosen: test 16 at once
    const m0 = i32x4.eq(v128.and(keyLanes(v128.load(p), vflip, vkeep), vmask), vprefix);
    const m1 = i32x4.eq(v128.and(keyLanes(v128.load(p, 16), vflip, vkeep), vmask), vprefix);
    const m2 = i32x4.eq(v128.and(keyLanes(v128.load(p, 32), vflip, vkeep), vmask), vprefix);
    const m3 = i32x4.eq(v128.and(keyLanes(v128.load(p, 48), vflip, vkeep), vmask), vprefix);
    if (!v128.any_true(v128.or(v128.or(m0, m1), v128.or(m2, m3)))) continue;
    for (let j: u32 = 0; j < 16; j++) {
      const key = keyScalar(load<u32>(p + (<usize>j << 2)), flip, keep);
      if ((key & mask) == prefix) bump(hist + <usize>(j & subMask) * stride, (key >> shift) & digitMask);
    }
  }
  for (; i < n; i++) {
    const key = keyScalar(load<u32>(x + (<usize>i << 2)), flip, keep);
    if ((key & mask) == prefix) bump(hist, (key >> shift) & digitMask);
  }
}

/**
 * One selection pass over n f32 values at x (abs != 0: of |x|): histograms the digit the state
 * at `state` names into this range's own scratch at `hist` (radix_select_scratch_bytes; it
 * need not be cleared). Returns the number of NaNs in the first pass, 0 in later ones.
 */
export function radix_select_pass_f32(x: usize, n: i32, abs: i32, state: usize, hist: usize): i32 {
  const step = load<u32>(state, S_STEP);
  const shift = load<u32>(state + (<usize>step << 3), S_DIGITS);
  const width = load<u32>(state + (<usize>step << 3), S_DIGITS + 4);
  const prefix = load<u32>(state, S_PREFIX);
  const mask = load<u32>(state, S_MASK);
  const subs = subsOf(width);
  const stride = <usize>4 << width;
  const digitMask: u32 = (1 << width) - 1;
  memory.fill(hist, 0, <usize>subs * stride);
  const flip: u32 = abs ? 0 : 0xffffffff;
  const keep: u32 = abs ? 0x7fffffff : 0xffffffff;
  let nan = 0;
  if (mask == 0) nan = histogramAll(x, n, flip, keep, shift, digitMask, hist, stride, subs);
  else histogramMatching(x, n, flip, keep, shift, digitMask, prefix, mask, hist, stride, subs);
  for (let b: usize = 0; b < stride; b += 16) {
    const p = hist + b;
    let s = i32x4.add(v128.load(p), v128.load(p + stride));
    if (subs == 4) s = i32x4.add(s, i32x4.add(v128.load(p + 2 * stride), v128.load(p + 3 * stride)));
    v128.store(p, s);
  }
  return nan;
}

/**
 * Sums the histograms of `parts` ranges (`partStride` bytes apart from `hist`), picks the digit
 * holding the wanted rank and advances the state. Returns how many elements share the new
 * prefix; after the last digit, how many elements equal the selected key.
 */
export function radix_select_combine(hist: usize, parts: i32, partStride: usize, state: usize): i32 {
  const step = load<u32>(state, S_STEP);
  const shift = load<u32>(state + (<usize>step << 3), S_DIGITS);
  const width = load<u32>(state + (<usize>step << 3), S_DIGITS + 4);
  const bytes = <usize>4 << width;
  for (let p = 1; p < parts; p++) {
    const src = hist + <usize>p * partStride;
    for (let b: usize = 0; b < bytes; b += 16) {
      v128.store(hist + b, i32x4.add(v128.load(hist + b), v128.load(src + b)));
    }
  }
  const digitMask: u32 = (1 << width) - 1;
  let rank = load<u32>(state, S_RANK);
  let digit: u32 = 0;
  let count: u32 = 0;
  for (; digit <= digitMask; digit++) {
    count = load<u32>(hist + (<usize>digit << 2));
    if (rank < count) break;
    rank -= count;
  }
  if (digit > digitMask) digit = digitMask; // rank >= n: only a caller bug gets here
  store<u32>(state, load<u32>(state, S_PREFIX) | (digit << shift), S_PREFIX);
  store<u32>(state, load<u32>(state, S_MASK) | (digitMask << shift), S_MASK);
  store<u32>(state, rank, S_RANK);
  store<u32>(state, count, S_COUNT);
  store<u32>(state, step + 1, S_STEP);
  return <i32>count;
}

/**
 * The smallest key above the selected one (the state's prefix after the last combine) among
 * n f32 values at x; 0xffffffff (returned as -1) when there is none.
 */
export function radix_min_key_above_f32(x: usize, n: i32, abs: i32, state: usize): i32 {
  const flip: u32 = abs ? 0 : 0xffffffff;
  const keep: u32 = abs ? 0x7fffffff : 0xffffffff;
  const selected = load<u32>(state, S_PREFIX);
  const vflip = i32x4.splat(flip);
  const vkeep = i32x4.splat(keep);
  const vsel = i32x4.splat(selected);
  const none = i32x4.splat(-1);
  let best0 = none;
  let best1 = none;
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const p = x + (<usize>i << 2);
    const k0 = keyLanes(v128.load(p), vflip, vkeep);
    const k1 = keyLanes(v128.load(p, 16), vflip, vkeep);
    best0 = i32x4.min_u(best0, v128.bitselect(k0, none, i32x4.gt_u(k0, vsel)));
    best1 = i32x4.min_u(best1, v128.bitselect(k1, none, i32x4.gt_u(k1, vsel)));
  }
  best0 = i32x4.min_u(best0, best1);
  let best = min(
    min(<u32>i32x4.extract_lane(best0, 0), <u32>i32x4.extract_lane(best0, 1)),
    min(<u32>i32x4.extract_lane(best0, 2), <u32>i32x4.extract_lane(best0, 3)),
  );
  for (; i < n; i++) {
    const key = keyScalar(load<u32>(x + (<usize>i << 2)), flip, keep);
    if (key > selected && key < best) best = key;
  }
  return <i32>best;
}

// ------------------------------------------------------------------------------- sorting

/** Buckets of one sort histogram (digits of 11, 11 and 10 bits). */
const HIST_BYTES: usize = 2048 * 4;

// @ts-ignore: decorator
@inline
function countDigits(hist: usize, key: u32): void {
  bump(hist, key & 0x3ff);
  bump(hist + HIST_BYTES, (key >> 10) & 0x7ff);
  bump(hist + 2 * HIST_BYTES, key >> 21);
}

/** Replaces n floats at x by their keys and counts all three digits into hist (3 x 2048 u32). */
function encodeAndCount(x: usize, n: i32, hist: usize): i32 {
  const ones = i32x4.splat(-1);
  const vabs = i32x4.splat(0x7fffffff);
  const vinf = i32x4.splat(0x7f800000);
  let nan = i32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const p = x + (<usize>i << 2);
    const bits = v128.load(p);
    nan = i32x4.sub(nan, i32x4.gt_s(v128.and(bits, vabs), vinf));
    const key = keyLanes(bits, ones, ones);
    v128.store(p, key);
    countDigits(hist, i32x4.extract_lane(key, 0));
    countDigits(hist, i32x4.extract_lane(key, 1));
    countDigits(hist, i32x4.extract_lane(key, 2));
    countDigits(hist, i32x4.extract_lane(key, 3));
  }
  let count = i32x4.extract_lane(nan, 0) + i32x4.extract_lane(nan, 1) + i32x4.extract_lane(nan, 2) + i32x4.extract_lane(nan, 3);
  for (; i < n; i++) {
    const p = x + (<usize>i << 2);
    const bits = load<u32>(p);
    if ((bits & 0x7fffffff) > 0x7f800000) count++;
    const key = keyScalar(bits, 0xffffffff, 0xffffffff);
    store<u32>(p, key);
    countDigits(hist, key);
  }
  return count;
}

/** Turns a histogram into exclusive offsets; false when one bucket holds all n (nothing to move). */
function offsetsOf(hist: usize, n: u32): bool {
  let sum: u32 = 0;
  for (let b: usize = 0; b < HIST_BYTES; b += 4) {
    const c = load<u32>(hist + b);
    if (c == n) return false;
    store<u32>(hist + b, sum);
    sum += c;
  }
  return true;
}

function scatter(src: usize, dst: usize, n: i32, shift: u32, digitMask: u32, offsets: usize): void {
  for (let i = 0; i < n; i++) {
    const key = load<u32>(src + (<usize>i << 2));
    const slot = offsets + (<usize>((key >> shift) & digitMask) << 2);
    const at = load<u32>(slot);
    store<u32>(slot, at + 1);
    store<u32>(dst + (<usize>at << 2), key);
  }
}

/** Keys at src back to floats at dst (may be the same place). */
function decode(src: usize, dst: usize, n: i32): void {
  const sign = i32x4.splat(<i32>SIGN);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const key = v128.load(src + (<usize>i << 2));
    // top bit set: was positive, flip the sign bit back; clear: was negative, flip all
    v128.store(dst + (<usize>i << 2), v128.xor(key, v128.or(v128.not(i32x4.shr_s(key, 31)), sign)));
  }
  for (; i < n; i++) {
    const key = load<u32>(src + (<usize>i << 2));
    store<u32>(dst + (<usize>i << 2), key ^ (~<u32>(<i32>key >> 31) | SIGN));
  }
}

/**
 * Sorts n f32 values at x ascending in place (LSD radix, 11/11/10-bit digits, stable), in the
 * order TypedArray.prototype.sort gives (NaNs, which it puts last, go to either end here by
 * sign). tmp: n u32 of scratch; hist: 3 x 2048 u32 of scratch. Returns the number of NaNs.
 */
export function radix_sort_f32(x: usize, n: i32, tmp: usize, hist: usize): i32 {
  memory.fill(hist, 0, 3 * HIST_BYTES);
  const nan = encodeAndCount(x, n, hist);
  let src = x;
  let dst = tmp;
  for (let d = 0; d < 3; d++) {
    const offsets = hist + <usize>d * HIST_BYTES;
    if (!offsetsOf(offsets, <u32>n)) continue;
    scatter(src, dst, n, d == 0 ? 0 : d == 1 ? 10 : 21, d == 0 ? 0x3ff : 0x7ff, offsets);
    const t = src;
    src = dst;
    dst = t;
  }
  decode(src, x, n);
  return nan;
}
