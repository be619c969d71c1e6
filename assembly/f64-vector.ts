// f64 vector helpers shared by the f64 solvers (LASSO's least squares, the GP's Cholesky):
// two f64x2 accumulators, a scalar tail.

/** Σ_k a[k]·b[k] for k < len, f64, two f64x2 accumulators. */
export function dotF64(a: usize, b: usize, len: i32): f64 {
  let s0 = f64x2.splat(0);
  let s1 = f64x2.splat(0);
  let k = 0;
  for (; k + 4 <= len; k += 4) {
    const off = <usize>k << 3;
    s0 = f64x2.add(s0, f64x2.mul(v128.load(a + off), v128.load(b + off)));
    s1 = f64x2.add(s1, f64x2.mul(v128.load(a + off, 16), v128.load(b + off, 16)));
  }
  s0 = f64x2.add(s0, s1);
  let s = f64x2.extract_lane(s0, 0) + f64x2.extract_lane(s0, 1);
  for (; k < len; k++) s += load<f64>(a + (<usize>k << 3)) * load<f64>(b + (<usize>k << 3));
  return s;
}

/** dst[k] += d · src[k] for k < len, f64. */
export function axpyF64(dst: usize, src: usize, len: i32, d: f64): void {
  const dv = f64x2.splat(d);
  let k = 0;
  for (; k + 4 <= len; k += 4) {
    const off = <usize>k << 3;
    v128.store(dst + off, f64x2.add(v128.load(dst + off), f64x2.mul(dv, v128.load(src + off))));
    v128.store(dst + off, f64x2.add(v128.load(dst + off, 16), f64x2.mul(dv, v128.load(src + off, 16))), 16);
  }
  for (; k < len; k++) {
    const off = <usize>k << 3;
    store<f64>(dst + off, load<f64>(dst + off) + d * load<f64>(src + off));
  }
}
