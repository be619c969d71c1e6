// Uniform affine quantization, as ONNX QuantizeLinear defines it:
//   q = saturate(round_half_even(x / scale) + zeroPoint)
// with per-group parameters. Element i uses parameter index g(i):
//   groups == 1               -> 0                                  (per tensor)
//   inner == 1, groups > 1    -> i % groups                          (channel is the last axis)
//   inner > 1                 -> (firstGroup + i / inner) % groups   (runs: buckets, first-axis channels)
// Rounding uses the 1.5*2^23 magic number: adding it pushes the fraction out of the mantissa
// under the default round-to-nearest-even mode. It is exact for |v| < 2^22, which clamping to
// [qmin - zp, qmax - zp] guarantees. f32x4.pmin/pmax are used because min/max carry NaN
// semantics that cost several instructions each; pmax(lo, NaN) is lo, so NaN maps to qmin
// (the count of NaNs is returned so the caller can reject them).

const MAGIC: f32 = 12582912.0; // 1.5 * 2^23
const MAGIC_BITS: i32 = 0x4b400000;

// @ts-ignore: decorator
@inline
function nanLanes(v: v128): v128 {
  return f32x4.ne(v, v);
}

// @ts-ignore: decorator
@inline
function quantizeLanes(x: v128, scale: v128, lo: v128, hi: v128, zpBias: v128): v128 {
  let v = f32x4.div(x, scale);
  v = f32x4.pmin(hi, f32x4.pmax(lo, v));
  // bits(v + magic) - bits(magic) == round(v); subtracting (magicBits - zp) adds the zero point.
  return i32x4.sub(f32x4.add(v, f32x4.splat(MAGIC)), zpBias);
}

// @ts-ignore: decorator
@inline
function quantizeScalar(x: f32, scale: f32, lo: f32, hi: f32, zp: i32): i32 {
  let v = x / scale;
  v = v > lo ? v : lo; // NaN -> lo, as the SIMD path
  v = hi < v ? hi : v;
  return (reinterpret<i32>(v + MAGIC) - MAGIC_BITS) + zp;
}

// @ts-ignore: decorator
@inline
function lowBytes(a: v128, b: v128, c: v128, d: v128): v128 {
  // Values are already inside [qmin, qmax] (within -128..255), so each fits i16 and
  // keeping the low byte of each lane gives the int8 or uint8 encoding alike.
  const ab = i16x8.narrow_i32x4_s(a, b);
  const cd = i16x8.narrow_i32x4_s(c, d);
  return v128.shuffle<u8>(ab, cd, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
}

/** One contiguous run with one parameter set. Returns the NaN count. */
function quantizeRun(x: usize, n: i32, scale: f32, zp: i32, qmin: i32, qmax: i32, out: usize): i32 {
  const lo = <f32>(qmin - zp);
  const hi = <f32>(qmax - zp);
  const vs = f32x4.splat(scale);
  const vlo = f32x4.splat(lo);
  const vhi = f32x4.splat(hi);
  const bias = i32x4.splat(MAGIC_BITS - zp);
  let nan = i32x4.splat(0);
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const p = x + (<usize>i << 2);
    const x0 = v128.load(p);
    const x1 = v128.load(p, 16);
    const x2 = v128.load(p, 32);
    const x3 = v128.load(p, 48);
    const anyNan = v128.or(v128.or(nanLanes(x0), nanLanes(x1)), v128.or(nanLanes(x2), nanLanes(x3)));
    nan = i32x4.sub(nan, anyNan);
    const q = lowBytes(
      quantizeLanes(x0, vs, vlo, vhi, bias),
      quantizeLanes(x1, vs, vlo, vhi, bias),
      quantizeLanes(x2, vs, vlo, vhi, bias),
      quantizeLanes(x3, vs, vlo, vhi, bias),
    );
    v128.store(out + <usize>i, q);
  }
  let count = i32x4.extract_lane(nan, 0) + i32x4.extract_lane(nan, 1) + i32x4.extract_lane(nan, 2) + i32x4.extract_lane(nan, 3);
  for (; i < n; i++) {
    const xi = load<f32>(x + (<usize>i << 2));
    if (xi != xi) count++;
    store<i8>(out + <usize>i, <i8>quantizeScalar(xi, scale, lo, hi, zp));
  }
  return count;
}

/** Rows of `groups` elements whose last axis carries the parameters. Returns the NaN count. */
function quantizeRows(x: usize, n: i32, scales: usize, zps: usize, groups: i32, qmin: i32, qmax: i32, out: usize): i32 {
  let nan = i32x4.splat(0);
  let count = 0;
  const qminv = f32x4.splat(<f32>qmin);
  const qmaxv = f32x4.splat(<f32>qmax);
  for (let row = 0; row < n; row += groups) {
    const xr = x + (<usize>row << 2);
    const or = out + <usize>row;
    let c = 0;
    for (; c + 4 <= groups; c += 4) {
      const xv = v128.load(xr + (<usize>c << 2));
      const zpv = v128.load(zps + (<usize>c << 2));
      const zpf = f32x4.convert_i32x4_s(zpv);
      nan = i32x4.sub(nan, nanLanes(xv));
      const q = quantizeLanes(
        xv,
        v128.load(scales + (<usize>c << 2)),
        f32x4.sub(qminv, zpf),
        f32x4.sub(qmaxv, zpf),
        i32x4.sub(i32x4.splat(MAGIC_BITS), zpv),
      );
      // store the 4 low bytes
      const b = v128.shuffle<u8>(q, q, 0, 4, 8, 12, 0, 4, 8, 12, 0, 4, 8, 12, 0, 4, 8, 12);
      v128.store32_lane(or + <usize>c, b, 0);
    }
    for (; c < groups; c++) {
      const xi = load<f32>(xr + (<usize>c << 2));
      if (xi != xi) count++;
      const zp = load<i32>(zps + (<usize>c << 2));
      const q = quantizeScalar(xi, load<f32>(scales + (<usize>c << 2)), <f32>(qmin - zp), <f32>(qmax - zp), zp);
      store<i8>(or + <usize>c, <i8>q);
    }
  }
  return count + i32x4.extract_lane(nan, 0) + i32x4.extract_lane(nan, 1) + i32x4.extract_lane(nan, 2) + i32x4.extract_lane(nan, 3);
}

/**
 * Quantize n f32 values at x into bytes at out (int8 when qmin < 0, else uint8).
 * scales: f32[groups], zps: i32[groups]. Returns the number of NaN inputs.
 */
export function quantize_f32_q8(
  x: usize, n: i32, scales: usize, zps: usize, inner: i32, groups: i32, firstGroup: i32,
  qmin: i32, qmax: i32, out: usize,
): i32 {
  if (groups == 1) {
    return quantizeRun(x, n, load<f32>(scales), load<i32>(zps), qmin, qmax, out);
  }
  if (inner == 1) return quantizeRows(x, n, scales, zps, groups, qmin, qmax, out);
  let count = 0;
  let g = firstGroup;
  for (let start = 0; start < n; start += inner) {
    const len = min(inner, n - start);
    count += quantizeRun(
      x + (<usize>start << 2), len, load<f32>(scales + (<usize>g << 2)), load<i32>(zps + (<usize>g << 2)),
      qmin, qmax, out + <usize>start,
    );
    g++;
    if (g == groups) g = 0;
  }
  return count;
}
