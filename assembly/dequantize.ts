// Dequantization x = (q - zeroPoint) * scale (ONNX DequantizeLinear), and fake quantization
// (quantize then dequantize in one pass, the straight-through forward of quantization-aware
// training). Parameter grouping is the same as in quantize.ts.

const MAGIC: f32 = 12582912.0; // 1.5 * 2^23, see quantize.ts

// @ts-ignore: decorator
@inline
function widen<T>(bytes: v128, part: i32): v128 {
  // part 0..3 selects which 4 of the 16 bytes become one i32x4
  let h: v128;
  if (isSigned<T>()) {
    h = part < 2 ? i16x8.extend_low_i8x16_s(bytes) : i16x8.extend_high_i8x16_s(bytes);
    return (part & 1) == 0 ? i32x4.extend_low_i16x8_s(h) : i32x4.extend_high_i16x8_s(h);
  }
  h = part < 2 ? i16x8.extend_low_i8x16_u(bytes) : i16x8.extend_high_i8x16_u(bytes);
  return (part & 1) == 0 ? i32x4.extend_low_i16x8_u(h) : i32x4.extend_high_i16x8_u(h);
}

function dequantizeRun<T>(q: usize, n: i32, scale: f32, zp: i32, out: usize): void {
  const vs = f32x4.splat(scale);
  const vzp = i32x4.splat(zp);
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const b = v128.load(q + <usize>i);
    const o = out + (<usize>i << 2);
    v128.store(o, f32x4.mul(f32x4.convert_i32x4_s(i32x4.sub(widen<T>(b, 0), vzp)), vs));
    v128.store(o, f32x4.mul(f32x4.convert_i32x4_s(i32x4.sub(widen<T>(b, 1), vzp)), vs), 16);
    v128.store(o, f32x4.mul(f32x4.convert_i32x4_s(i32x4.sub(widen<T>(b, 2), vzp)), vs), 32);
    v128.store(o, f32x4.mul(f32x4.convert_i32x4_s(i32x4.sub(widen<T>(b, 3), vzp)), vs), 48);
  }
  for (; i < n; i++) {
    store<f32>(out + (<usize>i << 2), <f32>(<i32>load<T>(q + <usize>i) - zp) * scale);
  }
}

function dequantizeRows<T>(q: usize, n: i32, scales: usize, zps: usize, groups: i32, out: usize): void {
  for (let row = 0; row < n; row += groups) {
    const qr = q + <usize>row;
    const or = out + (<usize>row << 2);
    let c = 0;
    for (; c + 4 <= groups; c += 4) {
      const b = v128.load32_zero(qr + <usize>c);
      const v = i32x4.sub(widen<T>(b, 0), v128.load(zps + (<usize>c << 2)));
      v128.store(or + (<usize>c << 2), f32x4.mul(f32x4.convert_i32x4_s(v), v128.load(scales + (<usize>c << 2))));
    }
    for (; c < groups; c++) {
      const v = <i32>load<T>(qr + <usize>c) - load<i32>(zps + (<usize>c << 2));
      store<f32>(or + (<usize>c << 2), <f32>v * load<f32>(scales + (<usize>c << 2)));
    }
  }
}

function dequantizeGrouped<T>(
  q: usize, n: i32, scales: usize, zps: usize, inner: i32, groups: i32, firstGroup: i32, out: usize,
): void {
  if (groups == 1) {
    dequantizeRun<T>(q, n, load<f32>(scales), load<i32>(zps), out);
    return;
  }
  if (inner == 1) {
    dequantizeRows<T>(q, n, scales, zps, groups, out);
    return;
  }
  let g = firstGroup;
  for (let start = 0; start < n; start += inner) {
    const len = min(inner, n - start);
    dequantizeRun<T>(q + <usize>start, len, load<f32>(scales + (<usize>g << 2)), load<i32>(zps + (<usize>g << 2)), out + (<usize>start << 2));
    g++;
    if (g == groups) g = 0;
  }
}

/** Dequantize n int8 values at q into f32 at out. */
export function dequantize_i8_f32(q: usize, n: i32, scales: usize, zps: usize, inner: i32, groups: i32, firstGroup: i32, out: usize): void {
  dequantizeGrouped<i8>(q, n, scales, zps, inner, groups, firstGroup, out);
}

/** Dequantize n uint8 values at q into f32 at out. */
export function dequantize_u8_f32(q: usize, n: i32, scales: usize, zps: usize, inner: i32, groups: i32, firstGroup: i32, out: usize): void {
  dequantizeGrouped<u8>(q, n, scales, zps, inner, groups, firstGroup, out);
}

// @ts-ignore: decorator
@inline
function fakeLanes(x: v128, scale: v128, lo: v128, hi: v128): v128 {
  let v = f32x4.div(x, scale);
  v = f32x4.pmin(hi, f32x4.pmax(lo, v));
  const magic = f32x4.splat(MAGIC);
  return f32x4.mul(f32x4.sub(f32x4.add(v, magic), magic), scale);
}

// @ts-ignore: decorator
@inline
function fakeScalar(x: f32, scale: f32, lo: f32, hi: f32): f32 {
  let v = x / scale;
  v = v > lo ? v : lo;
  v = hi < v ? hi : v;
  return ((v + MAGIC) - MAGIC) * scale;
}

function fakeQuantRun(x: usize, n: i32, scale: f32, zp: i32, qmin: i32, qmax: i32, out: usize): i32 {
  const lo = <f32>(qmin - zp);
  const hi = <f32>(qmax - zp);
  const vs = f32x4.splat(scale);
  const vlo = f32x4.splat(lo);
  const vhi = f32x4.splat(hi);
  let nan = i32x4.splat(0);
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const p = x + (<usize>i << 2);
    const o = out + (<usize>i << 2);
    const x0 = v128.load(p);
    const x1 = v128.load(p, 16);
    nan = i32x4.sub(nan, v128.or(f32x4.ne(x0, x0), f32x4.ne(x1, x1)));
    v128.store(o, fakeLanes(x0, vs, vlo, vhi));
    v128.store(o, fakeLanes(x1, vs, vlo, vhi), 16);
  }
  let count = i32x4.extract_lane(nan, 0) + i32x4.extract_lane(nan, 1) + i32x4.extract_lane(nan, 2) + i32x4.extract_lane(nan, 3);
  for (; i < n; i++) {
    const xi = load<f32>(x + (<usize>i << 2));
    if (xi != xi) count++;
    store<f32>(out + (<usize>i << 2), fakeScalar(xi, scale, lo, hi));
  }
  return count;
}

function fakeQuantRows(x: usize, n: i32, scales: usize, zps: usize, groups: i32, qmin: i32, qmax: i32, out: usize): i32 {
  let nan = i32x4.splat(0);
  let count = 0;
  const qminv = f32x4.splat(<f32>qmin);
  const qmaxv = f32x4.splat(<f32>qmax);
  for (let row = 0; row < n; row += groups) {
    const xr = x + (<usize>row << 2);
    const or = out + (<usize>row << 2);
    let c = 0;
    for (; c + 4 <= groups; c += 4) {
      const xv = v128.load(xr + (<usize>c << 2));
      const zpf = f32x4.convert_i32x4_s(v128.load(zps + (<usize>c << 2)));
      nan = i32x4.sub(nan, f32x4.ne(xv, xv));
      const y = fakeLanes(xv, v128.load(scales + (<usize>c << 2)), f32x4.sub(qminv, zpf), f32x4.sub(qmaxv, zpf));
      v128.store(or + (<usize>c << 2), y);
    }
    for (; c < groups; c++) {
      const xi = load<f32>(xr + (<usize>c << 2));
      if (xi != xi) count++;
      const zp = load<i32>(zps + (<usize>c << 2));
      store<f32>(or + (<usize>c << 2), fakeScalar(xi, load<f32>(scales + (<usize>c << 2)), <f32>(qmin - zp), <f32>(qmax - zp)));
    }
  }
  return count + i32x4.extract_lane(nan, 0) + i32x4.extract_lane(nan, 1) + i32x4.extract_lane(nan, 2) + i32x4.extract_lane(nan, 3);
}

/** Fake-quantize n f32 values (quantize then dequantize) into f32 at out. Returns the NaN count. */
export function fake_quantize_f32(
  x: usize, n: i32, scales: usize, zps: usize, inner: i32, groups: i32, firstGroup: i32,
  qmin: i32, qmax: i32, out: usize,
): i32 {
  if (groups == 1) return fakeQuantRun(x, n, load<f32>(scales), load<i32>(zps), qmin, qmax, out);
  if (inner == 1) return fakeQuantRows(x, n, scales, zps, groups, qmin, qmax, out);
  let count = 0;
  let g = firstGroup;
  for (let start = 0; start < n; start += inner) {
    const len = min(inner, n - start);
    count += fakeQuantRun(
      x + (<usize>start << 2), len, load<f32>(scales + (<usize>g << 2)), load<i32>(zps + (<usize>g << 2)),
      qmin, qmax, out + (<usize>start << 2),
    );
    g++;
    if (g == groups) g = 0;
  }
  return count;
}
