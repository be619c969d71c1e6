// Probes of the hardware limit, so that kernels-bench can report each kernel as a fraction of
// what 128-bit wasm SIMD can do on the machine it runs on, measured in the same run.

/**
 * f32x4 multiply and add throughput: 6 independent add chains and 6 independent mul chains
 * (wasm has no baseline FMA, so a GEMM step is one mul and one add). Returns a value that
 * depends on every chain so nothing is optimised away. FLOPs = iters · 12 · 4.
 */
export function peak_f32_mul_add(iters: i32, seed: f32): f32 {
  let a0 = f32x4.splat(seed), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0;
  let m0 = f32x4.splat(seed), m1 = m0, m2 = m0, m3 = m0, m4 = m0, m5 = m0;
  const x = f32x4.splat(1e-9);
  const y = f32x4.splat(1.0000001);
  for (let i = 0; i < iters; i++) {
    a0 = f32x4.add(a0, x); a1 = f32x4.add(a1, x); a2 = f32x4.add(a2, x);
    a3 = f32x4.add(a3, x); a4 = f32x4.add(a4, x); a5 = f32x4.add(a5, x);
    m0 = f32x4.mul(m0, y); m1 = f32x4.mul(m1, y); m2 = f32x4.mul(m2, y);
    m3 = f32x4.mul(m3, y); m4 = f32x4.mul(m4, y); m5 = f32x4.mul(m5, y);
  }
  const sa = f32x4.add(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)), f32x4.add(a4, a5));
  const sm = f32x4.add(f32x4.add(f32x4.add(m0, m1), f32x4.add(m2, m3)), f32x4.add(m4, m5));
  return f32x4.extract_lane(f32x4.add(sa, sm), 0);
}

/**
 * i32x4.dot_i16x8_s + i32x4.add throughput on operands loaded from L1 (as in the int8 GEMM):
 * 8 independent accumulators. Ops = iters · 8 · 16 (8 multiplies + 8 adds per dot).
 */
export function peak_i16_dot(iters: i32, p: usize): i32 {
  let a0 = i32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
  const y = v128.load32_splat(p, 128);
  for (let i = 0; i < iters; i++) {
    a0 = i32x4.add(a0, i32x4.dot_i16x8_s(v128.load(p), y));
    a1 = i32x4.add(a1, i32x4.dot_i16x8_s(v128.load(p, 16), y));
    a2 = i32x4.add(a2, i32x4.dot_i16x8_s(v128.load(p, 32), y));
    a3 = i32x4.add(a3, i32x4.dot_i16x8_s(v128.load(p, 48), y));
    a4 = i32x4.add(a4, i32x4.dot_i16x8_s(v128.load(p, 64), y));
    a5 = i32x4.add(a5, i32x4.dot_i16x8_s(v128.load(p, 80), y));
    a6 = i32x4.add(a6, i32x4.dot_i16x8_s(v128.load(p, 96), y));
    a7 = i32x4.add(a7, i32x4.dot_i16x8_s(v128.load(p, 112), y));
  }
  const s = i32x4.add(i32x4.add(i32x4.add(a0, a1), i32x4.add(a2, a3)), i32x4.add(i32x4.add(a4, a5), i32x4.add(a6, a7)));
  return i32x4.extract_lane(s, 0);
}
