// 1-D k-means for weight codebooks (Han et al. 2016; PocketFlow NonUniformQuantLearner):
// nearest-centroid assignment to Uint8 indices (k <= 256), Lloyd steps, k-means++ seeding,
// per-centroid gradient sums, and codebook decoding.
//
// Assignment does not measure distances. With centroids sorted ascending, element x belongs to
// centroid #{j : x > T[j]}, where T[j] is the largest f32 not closer to centroid j+1 than to
// centroid j (the JS side computes it exactly); equidistant values go to the lower centroid.
// `thresholds` is always f32[256]: T[0..k-2], then +Inf, so a binary search may run past k - 1.
// For k <= 64 (up to 6-bit codebooks) the count runs on 16 elements at once, one splat
// threshold per step; above that, branch-free binary searches, four interleaved, take fewer
// operations (8 steps per element for k = 256 against 255 / 4 vector compares).
//
// Sums per centroid are accumulated in f64 into 4 interleaved tables (element i into table
// i % 4), which keeps runs of equal indices off one counter's store-to-load latency; the result
// is (t0 + t1) + (t2 + t3), an order the reference twins reproduce exactly. Ranges must start
// at a multiple of 4 elements. Table scratch: sums f64[4 * 256], counts u32[4 * 256].

const LINEAR_MAX_K = 64;
const TABLE = 256;

// @ts-ignore: decorator
@inline
function countAbove(x: v128, t: v128, count: v128): v128 {
  return i32x4.sub(count, f32x4.gt(x, t));
}

/** Centroid indices of the 16 floats at p, as 16 bytes (k <= 256, so counts fit a byte). */
// @ts-ignore: decorator
@inline
function indicesLinear(p: usize, thresholds: usize, k: i32): v128 {
  const x0 = v128.load(p);
  const x1 = v128.load(p, 16);
  const x2 = v128.load(p, 32);
  const x3 = v128.load(p, 48);
  let c0 = i32x4.splat(0);
  let c1 = c0;
  let c2 = c0;
  let c3 = c0;
  for (let j = 0; j < k - 1; j++) {
    const t = v128.load32_splat(thresholds + (<usize>j << 2));
    c0 = countAbove(x0, t, c0);
    c1 = countAbove(x1, t, c1);
    c2 = countAbove(x2, t, c2);
    c3 = countAbove(x3, t, c3);
  }
  return i8x16.narrow_i16x8_u(i16x8.narrow_i32x4_s(c0, c1), i16x8.narrow_i32x4_s(c2, c3));
}

/** Centroid index of v by binary search over `half` * 2 thresholds (NaN gives 0). */
// @ts-ignore: decorator
@inline
function indexBinary(v: f32, thresholds: usize, half: i32): i32 {
  let idx = 0;
  for (let step = half; step > 0; step >>= 1) idx = stepDown(v, idx, step, thresholds);
  return idx;
}

// idx + step when v lies above threshold idx + step - 1; arithmetic, not a select, so that no
// engine turns it into an unpredictable branch
// @ts-ignore: decorator
@inline
function stepDown(v: f32, idx: i32, step: i32, thresholds: usize): i32 {
  return idx + (step & -(<i32>(v > load<f32>(thresholds + (<usize>(idx + step - 1) << 2)))));
}

// @ts-ignore: decorator
@inline
function halfOf(k: i32): i32 {
  // half of the smallest power of two >= k
  return k <= 1 ? 0 : 1 << (31 - clz(k - 1));
}

/** Indices of the 4 floats at p by 4 interleaved binary searches, as 4 bytes. */
// @ts-ignore: decorator
@inline
function indicesBinary4(p: usize, thresholds: usize, half: i32): u32 {
  const a = load<f32>(p);
  const b = load<f32>(p, 4);
  const c = load<f32>(p, 8);
  const d = load<f32>(p, 12);
  let ia = 0;
  let ib = 0;
  let ic = 0;
  let id = 0;
  for (let step = half; step > 0; step >>= 1) {
    ia = stepDown(a, ia, step, thresholds);
    ib = stepDown(b, ib, step, thresholds);
    ic = stepDown(c, ic, step, thresholds);
    id = stepDown(d, id, step, thresholds);
  }
  return <u32>ia | (<u32>ib << 8) | (<u32>ic << 16) | (<u32>id << 24);
}

/** Writes the centroid indices of the 16 floats at p to the 16 bytes at dst. */
// @ts-ignore: decorator
@inline
function assign16(p: usize, thresholds: usize, k: i32, half: i32, dst: usize): void {
  if (k <= LINEAR_MAX_K) {
    v128.store(dst, indicesLinear(p, thresholds, k));
    return;
  }
  store<u32>(dst, indicesBinary4(p, thresholds, half));
  store<u32>(dst, indicesBinary4(p + 16, thresholds, half), 4);
  store<u32>(dst, indicesBinary4(p + 32, thresholds, half), 8);
  store<u32>(dst, indicesBinary4(p + 48, thresholds, half), 12);
}

// @ts-ignore: decorator
@inline
function nanCount16(p: usize): i32 {
  const a = v128.load(p);
  const b = v128.load(p, 16);
  const c = v128.load(p, 32);
  const d = v128.load(p, 48);
  const m = i8x16.narrow_i16x8_s(
    i16x8.narrow_i32x4_s(f32x4.ne(a, a), f32x4.ne(b, b)),
    i16x8.narrow_i32x4_s(f32x4.ne(c, c), f32x4.ne(d, d)),
  );
  return popcnt(i8x16.bitmask(m));
}

/**
 * Writes the index of the nearest of k sorted centroids (given by their thresholds, see above)
 * for each of n f32 values at x into out. Returns the number of NaN inputs (assigned 0).
 */
export function assign_nearest_f32_u8(x: usize, n: i32, thresholds: usize, k: i32, out: usize): i32 {
  const half = halfOf(k);
  let nan = 0;
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const p = x + (<usize>i << 2);
    nan += nanCount16(p);
    assign16(p, thresholds, k, half, out + <usize>i);
  }
  for (; i < n; i++) {
    const v = load<f32>(x + (<usize>i << 2));
    if (v != v) nan++;
    store<u8>(out + <usize>i, <u8>indexBinary(v, thresholds, half));
  }
  return nan;
}

// @ts-ignore: decorator
@inline
function accumulate(sums: usize, counts: usize, table: usize, j: usize, v: f64): void {
  const s = sums + ((table * TABLE + j) << 3);
  const c = counts + ((table * TABLE + j) << 2);
  store<f64>(s, load<f64>(s) + v);
  store<u32>(c, load<u32>(c) + 1);
}

/** Table 0 = (t0 + t1) + (t2 + t3) for the first k entries. */
function reduceTables(sums: usize, counts: usize, k: i32): void {
  for (let j = 0; j < k; j++) {
    const s = sums + (<usize>j << 3);
    const c = counts + (<usize>j << 2);
    const t1 = TABLE << 3;
    const u1 = TABLE << 2;
    store<f64>(s, (load<f64>(s) + load<f64>(s + t1)) + (load<f64>(s + 2 * t1) + load<f64>(s + 3 * t1)));
    store<u32>(c, load<u32>(c) + load<u32>(c + u1) + load<u32>(c + 2 * u1) + load<u32>(c + 3 * u1));
  }
}

function clearTables(sums: usize, counts: usize): void {
  memory.fill(sums, 0, 4 * TABLE * 8);
  memory.fill(counts, 0, 4 * TABLE * 4);
}

/**
 * One Lloyd step over n f32 values at x: assigns each to its nearest centroid (thresholds as
 * above), writes the indices over the previous ones at `assignments`, and accumulates per
 * centroid sum (f64) and count into sums[0..k-1] / counts[0..k-1] (tables described above,
 * this range's own). Returns how many indices changed.
 */
export function kmeans_step_f32_u8(
  x: usize, n: i32, thresholds: usize, k: i32, assignments: usize, sums: usize, counts: usize,
): i32 {
  clearTables(sums, counts);
  const half = halfOf(k);
  let changed = 0;
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const p = x + (<usize>i << 2);
    const a = assignments + <usize>i;
    const previous = v128.load(a);
    assign16(p, thresholds, k, half, a);
    changed += popcnt(i8x16.bitmask(i8x16.ne(v128.load(a), previous)));
    for (let e: usize = 0; e < 16; e++) {
      accumulate(sums, counts, e & 3, <usize>load<u8>(a + e), <f64>load<f32>(p + (e << 2)));
    }
  }
  for (; i < n; i++) {
    const v = load<f32>(x + (<usize>i << 2));
    const j = indexBinary(v, thresholds, half);
    const a = assignments + <usize>i;
    if (<i32>load<u8>(a) != j) changed++;
    store<u8>(a, <u8>j);
    accumulate(sums, counts, <usize>(i & 3), <usize>j, <f64>v);
  }
  reduceTables(sums, counts, k);
  return changed;
}

/**
 * Sum of squared distances, (f64(x) - f64(centroids[a]))^2 added in element order, of n f32
 * values at x to their assigned centroids (f32[256] at centroids).
 */
export function kmeans_inertia_f32_u8(x: usize, n: i32, assignments: usize, centroids: usize): f64 {
  let sum: f64 = 0;
  for (let i = 0; i < n; i++) {
    const c = load<f32>(centroids + (<usize>load<u8>(assignments + <usize>i) << 2));
    const d = <f64>load<f32>(x + (<usize>i << 2)) - <f64>c;
    sum += d * d;
  }
  return sum;
}

// ---------------------------------------------------------------------------- k-means++

// @ts-ignore: decorator
@inline
function distanceRun(x: usize, n: i32, centroid: f32, first: bool, d2: usize): f64 {
  const c = f64x2.splat(<f64>centroid);
  let acc01 = f64x2.splat(0);
  let acc23 = f64x2.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const v = v128.load(x + (<usize>i << 2));
    const q = d2 + (<usize>i << 3);
    const lo = f64x2.sub(f64x2.promote_low_f32x4(v), c);
    const hi = f64x2.sub(f64x2.promote_low_f32x4(v128.shuffle<u32>(v, v, 2, 3, 2, 3)), c);
    let s01 = f64x2.mul(lo, lo);
    let s23 = f64x2.mul(hi, hi);
    if (!first) {
      s01 = f64x2.pmin(v128.load(q), s01);
      s23 = f64x2.pmin(v128.load(q, 16), s23);
    }
    v128.store(q, s01);
    v128.store(q, s23, 16);
    acc01 = f64x2.add(acc01, s01);
    acc23 = f64x2.add(acc23, s23);
  }
  let a0 = f64x2.extract_lane(acc01, 0);
  let a1 = f64x2.extract_lane(acc01, 1);
  let a2 = f64x2.extract_lane(acc23, 0);
  for (; i < n; i++) {
    // at most 3 left: lanes 0, 1, 2
    const d = <f64>load<f32>(x + (<usize>i << 2)) - <f64>centroid;
    const q = d2 + (<usize>i << 3);
    let s = d * d;
    if (!first) s = min(load<f64>(q), s);
    store<f64>(q, s);
    const lane = i & 3;
    if (lane == 0) a0 += s;
    else if (lane == 1) a1 += s;
    else a2 += s;
  }
  return (a0 + a1) + (a2 + f64x2.extract_lane(acc23, 1));
}

/**
 * k-means++ seeding step: d2[i] = min(d2[i], (x[i] - centroid)^2) in f64 for n f32 values at x
 * (first != 0: d2[i] = (x[i] - centroid)^2, d2 need not be initialised). Returns the sum of the
 * new d2, as four lane sums (element i into lane i % 4) combined as (l0 + l1) + (l2 + l3).
 */
export function kmeanspp_distance_f32(x: usize, n: i32, centroid: f32, first: i32, d2: usize): f64 {
  return first ? distanceRun(x, n, centroid, true, d2) : distanceRun(x, n, centroid, false, d2);
}

/**
 * The first index whose running sum of n f64 at d2 exceeds target (sampling with probability
 * proportional to d2); when rounding leaves none, the last index with d2 > 0, else n - 1.
 */
export function kmeanspp_pick_f64(d2: usize, n: i32, target: f64): i32 {
  let sum: f64 = 0;
  let lastPositive = n - 1;
  for (let i = 0; i < n; i++) {
    const v = load<f64>(d2 + (<usize>i << 3));
    sum += v;
    if (sum > target) return i;
    if (v > 0) lastPositive = i;
  }
  return lastPositive;
}

// ------------------------------------------------------------------- centroid gradients

/**
 * Per-centroid sums of n f32 gradients at grad by their Uint8 assignment (Han et al.: the
 * gradient of centroid j is the sum of the gradients of the weights it stands for), into
 * sums[0..k-1] (f64) and counts[0..k-1] (tables described above). Indices >= k are skipped
 * and counted; returns their number.
 */
export function centroid_grad_sums_f32_u8(grad: usize, n: i32, assignments: usize, k: i32, sums: usize, counts: usize): i32 {
  clearTables(sums, counts);
  let bad = 0;
  for (let i = 0; i < n; i++) {
    const j = <i32>load<u8>(assignments + <usize>i);
    if (j >= k) {
      bad++;
      continue;
    }
    accumulate(sums, counts, <usize>(i & 3), <usize>j, <f64>load<f32>(grad + (<usize>i << 2)));
  }
  reduceTables(sums, counts, k);
  return bad;
}

// --------------------------------------------------------------------------- decoding

/**
 * out[i] = table[idx[i]] for n Uint8 indices (table: f32[256], the k codebook values first).
 * For k <= 16 the lookup is four byte-plane swizzles per 16 elements. Returns how many
 * indices are >= k.
 */
export function codebook_decode_u8_f32(idx: usize, n: i32, table: usize, k: i32, out: usize): i32 {
  const limit = i8x16.splat(<i8>(k - 1));
  let bad = 0;
  let i = 0;
  if (k <= 16) {
    // plane b holds byte b of each of the 16 entries
    const entries = v128.load(table);
    const entries1 = v128.load(table, 16);
    const entries2 = v128.load(table, 32);
    const entries3 = v128.load(table, 48);
    const p01 = v128.shuffle<u8>(entries, entries1, 0, 4, 8, 12, 16, 20, 24, 28, 1, 5, 9, 13, 17, 21, 25, 29);
    const p23 = v128.shuffle<u8>(entries2, entries3, 0, 4, 8, 12, 16, 20, 24, 28, 1, 5, 9, 13, 17, 21, 25, 29);
    const q01 = v128.shuffle<u8>(entries, entries1, 2, 6, 10, 14, 18, 22, 26, 30, 3, 7, 11, 15, 19, 23, 27, 31);
    const q23 = v128.shuffle<u8>(entries2, entries3, 2, 6, 10, 14, 18, 22, 26, 30, 3, 7, 11, 15, 19, 23, 27, 31);
    const plane0 = i64x2.shuffle(p01, p23, 0, 2);
    const plane1 = i64x2.shuffle(p01, p23, 1, 3);
    const plane2 = i64x2.shuffle(q01, q23, 0, 2);
    const plane3 = i64x2.shuffle(q01, q23, 1, 3);
    for (; i + 16 <= n; i += 16) {
      const s = v128.load(idx + <usize>i);
      bad += popcnt(i8x16.bitmask(i8x16.gt_u(s, limit)));
      const b0 = i8x16.swizzle(plane0, s);
      const b1 = i8x16.swizzle(plane1, s);
      const b2 = i8x16.swizzle(plane2, s);
      const b3 = i8x16.swizzle(plane3, s);
      const lo01 = v128.shuffle<u8>(b0, b1, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
      const hi01 = v128.shuffle<u8>(b0, b1, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
      const lo23 = v128.shuffle<u8>(b2, b3, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
      const hi23 = v128.shuffle<u8>(b2, b3, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
      const o = out + (<usize>i << 2);
      v128.store(o, i16x8.shuffle(lo01, lo23, 0, 8, 1, 9, 2, 10, 3, 11));
      v128.store(o, i16x8.shuffle(lo01, lo23, 4, 12, 5, 13, 6, 14, 7, 15), 16);
      v128.store(o, i16x8.shuffle(hi01, hi23, 0, 8, 1, 9, 2, 10, 3, 11), 32);
      v128.store(o, i16x8.shuffle(hi01, hi23, 4, 12, 5, 13, 6, 14, 7, 15), 48);
    }
  }
  for (; i < n; i++) {
    const j = <i32>load<u8>(idx + <usize>i);
    if (j >= k) bad++;
    store<f32>(out + (<usize>i << 2), load<f32>(table + (<usize>j << 2)));
  }
  return bad;
}

/** out[i] = table[idx[i]] for n bytes (table: u8[256]); out may be idx. */
export function remap_u8(idx: usize, n: i32, table: usize, k: i32, out: usize): void {
  let i = 0;
  if (k <= 16) {
    const t = v128.load(table);
    for (; i + 16 <= n; i += 16) v128.store(out + <usize>i, i8x16.swizzle(t, v128.load(idx + <usize>i)));
  }
  for (; i < n; i++) store<u8>(out + <usize>i, load<u8>(table + <usize>load<u8>(idx + <usize>i)));
}
