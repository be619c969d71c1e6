// Batch normalization in training mode over x [M, C] (NHWC flattened: M = N·H·W rows of C
// channels), forward and backward, as a few passes over the data instead of the dozen
// element-wise kernels tf.moments + tf.batchNorm and their gradients expand into.
//
// Layout: per-channel values are repeated to a period P that is a multiple of both C and 4, so
// the flat array is walked in whole SIMD vectors whose lanes are consecutive channels, whatever
// C is (C = 3 gives P = 12); only the last, partial period of a range runs scalar. A range
// [start, end) always starts on a period boundary.
//
// Accuracy: sums accumulate f32 lanes over blocks of SUM_BLOCK periods and add each block into
// f64 (the same scheme as the element-wise sums). A pure f64 sum would need two f64x2 vectors
// and two conversions per four values; the blocked f32 sum keeps four lanes per add while its
// error stays that of a 64-term f32 sum, as M grows the f64 part adds nothing measurable. The
// variance is a second pass over x - mean, not E[x²] - mean², which cancels catastrophically
// when |mean| is large against the standard deviation.
//
// Scratch (`block`, `acc`) comes from the caller; nothing here allocates. Optional inputs are
// pointer 0 (the allocator never hands out 0: it starts at heap_base).

const SUM_BLOCK = 64;

/** The value itself: plain sums. */
class Plain {
  // @ts-ignore: decorator
  @inline v(x: v128, c: v128): v128 { return x; }
  // @ts-ignore: decorator
  @inline s(x: f32, c: f32): f32 { return x; }
}
/** (x - c)²: sums of squared deviations from the mean. */
class SquaredDeviation {
  // @ts-ignore: decorator
  @inline v(x: v128, c: v128): v128 { const d = f32x4.sub(x, c); return f32x4.mul(d, d); }
  // @ts-ignore: decorator
  @inline s(x: f32, c: f32): f32 { const d = x - c; return d * d; }
}

/** acc[k] += block[k] for k in [0, n), f32 lanes promoted to f64; n is a multiple of 4. */
// @ts-ignore: decorator
@inline
function flushBlock(block: usize, acc: usize, n: i32): void {
  for (let k = 0; k < n; k += 4) {
    const v = v128.load(block + (<usize>k << 2));
    const a = acc + (<usize>k << 3);
    v128.store(a, f64x2.add(v128.load(a), f64x2.promote_low_f32x4(v)));
    v128.store(a, f64x2.add(v128.load(a, 16), f64x2.promote_low_f32x4(v128.shuffle<u32>(v, v, 2, 3, 0, 1))), 16);
  }
}

/**
 * acc[k] = sum over the periods of x[start, end) of T(x[k], center[k]), k in [0, P): per-lane
 * sums that the fold kernels add up per channel. `block` is scratch for P f32.
 */
// @ts-ignore: decorator
@inline
function periodSums<T>(x: usize, center: usize, P: i32, start: i32, end: i32, block: usize, acc: usize): void {
  const term = changetype<T>(0);
  const bytes = <usize>P << 2;
  memory.fill(acc, 0, bytes << 1);
  let i = start;
  while (i < end) {
    const blockEnd = end - i > SUM_BLOCK * P ? i + SUM_BLOCK * P : end;
    memory.fill(block, 0, bytes);
    for (; i + P <= blockEnd; i += P) {
      const row = x + (<usize>i << 2);
      for (let k = 0; k < P; k += 4) {
        const off = <usize>k << 2;
        v128.store(block + off, f32x4.add(v128.load(block + off), term.v(v128.load(row + off), v128.load(center + off))));
      }
    }
    for (let k = 0; i + k < blockEnd; k++) {
      const off = <usize>k << 2;
      store<f32>(block + off, load<f32>(block + off) + term.s(load<f32>(x + (<usize>(i + k) << 2)), load<f32>(center + off)));
    }
    i = blockEnd;
    flushBlock(block, acc, P);
  }
}

/** Per-lane sums of x[start, end) into acc (P f64): the first pass of the batch mean. */
export function bn_sums_f32(x: usize, P: i32, start: i32, end: i32, block: usize, acc: usize): void {
  periodSums<Plain>(x, x, P, start, end, block, acc);
}

/** Per-lane sums of (x - mean)² over x[start, end) into acc (P f64); mean is repeated to P. */
export function bn_sq_dev_sums_f32(x: usize, mean: usize, P: i32, start: i32, end: i32, block: usize, acc: usize): void {
  periodSums<SquaredDeviation>(x, mean, P, start, end, block, acc);
}

/** The gradient reaching the batch norm's output is dy itself (no fused activation). */
class Ungated {
  // @ts-ignore: decorator
  @inline v(g: v128, d: v128, factor: v128, offset: v128, lo: v128, hi: v128): v128 { return g; }
  // @ts-ignore: decorator
  @inline s(g: f32, d: f32, factor: f32, offset: f32, lo: f32, hi: f32): f32 { return g; }
}

/**
 * The gradient reaching the batch norm's output through a fused relu or relu6: dy where the
 * forward's y = (x - mean)·factor + offset lay in [lo, hi], 0 elsewhere. y is recomputed with
 * the forward's operations (batch_norm_f32), so the mask is bit for bit the forward's. lo is the
 * smallest positive float, so the range is 0 < y <= hi, the Relu6 gradient's.
 */
class Gated {
  // @ts-ignore: decorator
  @inline v(g: v128, d: v128, factor: v128, offset: v128, lo: v128, hi: v128): v128 {
    const y = f32x4.add(f32x4.mul(d, factor), offset);
    return v128.and(g, v128.and(f32x4.ge(y, lo), f32x4.le(y, hi)));
  }
  // @ts-ignore: decorator
  @inline s(g: f32, d: f32, factor: f32, offset: f32, lo: f32, hi: f32): f32 {
    const y = d * factor + offset;
    return y >= lo && y <= hi ? g : 0;
  }
}

// @ts-ignore: decorator
@inline
function gradSums<G>(
  x: usize, dy: usize, mean: usize, P: i32, start: i32, end: i32, block: usize, acc: usize, factor: usize, offset: usize, lo: f32, hi: f32,
): void {
  const gate = changetype<G>(0);
  const vlo = f32x4.splat(lo);
  const vhi = f32x4.splat(hi);
  const bytes = <usize>P << 2;
  memory.fill(acc, 0, bytes << 2);
  let i = start;
  while (i < end) {
    const blockEnd = end - i > SUM_BLOCK * P ? i + SUM_BLOCK * P : end;
    memory.fill(block, 0, bytes << 1);
    for (; i + P <= blockEnd; i += P) {
      const base = <usize>i << 2;
      for (let k = 0; k < P; k += 4) {
        const off = <usize>k << 2;
        const d = f32x4.sub(v128.load(x + base + off), v128.load(mean + off));
        const g = gate.v(v128.load(dy + base + off), d, v128.load(factor + off), v128.load(offset + off), vlo, vhi);
        v128.store(block + off, f32x4.add(v128.load(block + off), g));
        v128.store(block + bytes + off, f32x4.add(v128.load(block + bytes + off), f32x4.mul(g, d)));
      }
    }
    for (let k = 0; i + k < blockEnd; k++) {
      const off = <usize>k << 2;
      const at = <usize>(i + k) << 2;
      const d = load<f32>(x + at) - load<f32>(mean + off);
      const g = gate.s(load<f32>(dy + at), d, load<f32>(factor + off), load<f32>(offset + off), lo, hi);
      store<f32>(block + off, load<f32>(block + off) + g);
      store<f32>(block + bytes + off, load<f32>(block + bytes + off) + g * d);
    }
    i = blockEnd;
    flushBlock(block, acc, P << 1);
  }
}

/**
 * Per-lane sums of dy (acc[0, P)) and of dy·(x - mean) (acc[P, 2P)) over [start, end): what
 * the batch-norm gradient needs for dbeta and dgamma. `block` is scratch for 2P f32. With a
 * fused activation (factor != 0), dy is first gated by it (see Gated); factor and offset are
 * the forward's (bn_forward_map_f32), repeated to P.
 */
export function bn_grad_sums_f32(
  x: usize, dy: usize, mean: usize, P: i32, start: i32, end: i32, block: usize, acc: usize, factor: usize, offset: usize, lo: f32, hi: f32,
): void {
  if (factor == 0) gradSums<Ungated>(x, dy, mean, P, start, end, block, acc, factor, offset, lo, hi);
  else gradSums<Gated>(x, dy, mean, P, start, end, block, acc, factor, offset, lo, hi);
}

/** Channel c's total over `parts` per-part accumulators of `stride` f64: the lanes k ≡ c (mod C) of [first, first + P). */
// @ts-ignore: decorator
@inline
function channelTotal(acc: usize, parts: i32, stride: i32, first: i32, P: i32, C: i32, c: i32): f64 {
  let s: f64 = 0;
  for (let p = 0; p < parts; p++) {
    const part = acc + (<usize>(p * stride + first) << 3);
    for (let k = c; k < P; k += C) s += load<f64>(part + (<usize>k << 3));
  }
  return s;
}

/** out[k] = value for the lanes k ≡ c (mod C) of a period. */
// @ts-ignore: decorator
@inline
function repeatLane(out: usize, value: f32, P: i32, C: i32, c: i32): void {
  for (let k = c; k < P; k += C) store<f32>(out + (<usize>k << 2), value);
}

/** mean[c] = invM · channel c's total of bn_sums_f32's parts; meanP: the same repeated to P. */
export function bn_mean_f32(acc: usize, parts: i32, P: i32, C: i32, invM: f64, mean: usize, meanP: usize): void {
  for (let c = 0; c < C; c++) {
    const m = <f32>(channelTotal(acc, parts, P, 0, P, C, c) * invM);
    store<f32>(mean + (<usize>c << 2), m);
    repeatLane(meanP, m, P, C, c);
  }
}

/** The forward map's factor gamma / sqrt(variance + epsilon) of channel c, in double (gamma 1 where the pointer is 0). */
// @ts-ignore: decorator
@inline
function forwardFactor(gamma: usize, v: f32, epsilon: f64, c: i32): f32 {
  const g: f64 = gamma != 0 ? <f64>load<f32>(gamma + (<usize>c << 2)) : 1;
  return <f32>(g / Math.sqrt(<f64>v + epsilon));
}

/** The forward map's factor and offset (beta, 0 where the pointer is 0) of channel c, repeated to P. */
// @ts-ignore: decorator
@inline
function storeForwardMap(gamma: usize, beta: usize, v: f32, epsilon: f64, P: i32, C: i32, c: i32, factorP: usize, offsetP: usize): void {
  repeatLane(factorP, forwardFactor(gamma, v, epsilon, c), P, C, c);
  repeatLane(offsetP, beta != 0 ? load<f32>(beta + (<usize>c << 2)) : 0, P, C, c);
}

/**
 * variance[c] = invM · channel c's total of bn_sq_dev_sums_f32's parts (biased, as tf.moments),
 * and the forward map's parameters repeated to P: factor = gamma / sqrt(variance + epsilon),
 * offset = beta (gamma 1 and beta 0 where the pointer is 0).
 */
export function bn_scale_f32(
  acc: usize, parts: i32, P: i32, C: i32, invM: f64, epsilon: f64, gamma: usize, beta: usize,
  variance: usize, factorP: usize, offsetP: usize,
): void {
  for (let c = 0; c < C; c++) {
    const v = <f32>(channelTotal(acc, parts, P, 0, P, C, c) * invM);
    store<f32>(variance + (<usize>c << 2), v);
    storeForwardMap(gamma, beta, v, epsilon, P, C, c, factorP, offsetP);
  }
}

/** The forward map's factor and offset from the forward's variance, as bn_scale_f32 made them: what a fused activation's gradient gates with. */
export function bn_forward_map_f32(P: i32, C: i32, epsilon: f64, gamma: usize, beta: usize, variance: usize, factorP: usize, offsetP: usize): void {
  for (let c = 0; c < C; c++) storeForwardMap(gamma, beta, load<f32>(variance + (<usize>c << 2)), epsilon, P, C, c, factorP, offsetP);
}

/**
 * From bn_grad_sums_f32's parts: dbeta = Σdy, dgamma = Σdy·x̂ with x̂ = (x - mean)·r and
 * r = 1/sqrt(variance + epsilon), and the coefficients of dx = a·dy + b + c·(x - mean),
 * repeated to P. dx = gamma·r/M·(M·dy - dbeta - x̂·dgamma) gives a = gamma·r,
 * b = -a·dbeta/M, c = -a·r·dgamma/M; gradients reaching the mean and variance outputs add
 * dmean/M to b and 2·dvariance/M to c. gamma, dmean, dvariance: 0 when absent.
 */
export function bn_grad_coeffs_f32(
  acc: usize, parts: i32, P: i32, C: i32, M: f64, epsilon: f64, gamma: usize, variance: usize,
  dmean: usize, dvariance: usize, dgamma: usize, dbeta: usize, aP: usize, bP: usize, cP: usize,
): void {
  for (let c = 0; c < C; c++) {
    const at = <usize>c << 2;
    const sumDy = channelTotal(acc, parts, P << 1, 0, P, C, c);
    const sumDyDev = channelTotal(acc, parts, P << 1, P, P, C, c);
    const r = 1 / Math.sqrt(<f64>load<f32>(variance + at) + epsilon);
    const dg = sumDyDev * r;
    const a = (gamma != 0 ? <f64>load<f32>(gamma + at) : 1) * r;
    const b = -a * sumDy / M + (dmean != 0 ? <f64>load<f32>(dmean + at) / M : 0);
    const k = -a * r * dg / M + (dvariance != 0 ? 2 * <f64>load<f32>(dvariance + at) / M : 0);
    store<f32>(dbeta + at, <f32>sumDy);
    store<f32>(dgamma + at, <f32>dg);
    repeatLane(aP, <f32>a, P, C, c);
    repeatLane(bP, <f32>b, P, C, c);
    repeatLane(cP, <f32>k, P, C, c);
  }
}

// @ts-ignore: decorator
@inline
function gradDx<G>(
  x: usize, dy: usize, mean: usize, aP: usize, bP: usize, cP: usize, P: i32, start: i32, end: i32, dx: usize,
  factor: usize, offset: usize, lo: f32, hi: f32,
): void {
  const gate = changetype<G>(0);
  const vlo = f32x4.splat(lo);
  const vhi = f32x4.splat(hi);
  let i = start;
  for (; i + P <= end; i += P) {
    const base = <usize>i << 2;
    for (let k = 0; k < P; k += 4) {
      const off = <usize>k << 2;
      const d = f32x4.sub(v128.load(x + base + off), v128.load(mean + off));
      const g = gate.v(v128.load(dy + base + off), d, v128.load(factor + off), v128.load(offset + off), vlo, vhi);
      const t = f32x4.add(f32x4.mul(v128.load(aP + off), g), v128.load(bP + off));
      v128.store(dx + base + off, f32x4.add(t, f32x4.mul(v128.load(cP + off), d)));
    }
  }
  for (let k = 0; i + k < end; k++) {
    const off = <usize>k << 2;
    const at = <usize>(i + k) << 2;
    const d = load<f32>(x + at) - load<f32>(mean + off);
    const g = gate.s(load<f32>(dy + at), d, load<f32>(factor + off), load<f32>(offset + off), lo, hi);
    store<f32>(dx + at, load<f32>(aP + off) * g + load<f32>(bP + off) + load<f32>(cP + off) * d);
  }
}

/**
 * dx[i] = a[k]·dy[i] + b[k] + c[k]·(x[i] - mean[k]), k = i mod P, for i in [start, end); with a
 * fused activation (factor != 0) dy is gated as in bn_grad_sums_f32.
 */
export function bn_grad_dx_f32(
  x: usize, dy: usize, mean: usize, aP: usize, bP: usize, cP: usize, P: i32, start: i32, end: i32, dx: usize,
  factor: usize, offset: usize, lo: f32, hi: f32,
): void {
  if (factor == 0) gradDx<Ungated>(x, dy, mean, aP, bP, cP, P, start, end, dx, factor, offset, lo, hi);
  else gradDx<Gated>(x, dy, mean, aP, bP, cP, P, start, end, dx, factor, offset, lo, hi);
}
