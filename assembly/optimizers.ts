// Optimizer updates over f32, one pass per variable: the trainer's momentum SGD and Adam
// (src/train/optimizers.ts) as tfjs ops cost 4 to 10 kernels per variable, each a pass over the
// variable and, on the pocketflow backend, a copy into and out of this memory. Every step below
// is one f32 operation in the order the ops apply them, so the results are the ops' bit for bit
// (wasm has no fused multiply-add to change a rounding). Outputs may alias their inputs.

/**
 * Momentum SGD (TensorFlow's form) for i in [start, end):
 *   a' = a·m + g;  w' = w − (nesterov ? g + a'·m : a')·lr
 */
export function sgd_momentum_f32(w: usize, acc: usize, g: usize, m: f32, lr: f32, nesterov: i32, wOut: usize, accOut: usize, start: i32, end: i32): void {
  const vm = f32x4.splat(m);
  const vlr = f32x4.splat(lr);
  const nest = nesterov != 0;
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const off = <usize>i << 2;
    const vg = v128.load(g + off);
    const next = f32x4.add(f32x4.mul(v128.load(acc + off), vm), vg);
    const step = nest ? f32x4.add(vg, f32x4.mul(next, vm)) : next;
    v128.store(accOut + off, next);
    v128.store(wOut + off, f32x4.sub(v128.load(w + off), f32x4.mul(step, vlr)));
  }
  for (; i < end; i++) {
    const off = <usize>i << 2;
    const gi = load<f32>(g + off);
    const next = load<f32>(acc + off) * m + gi;
    const step = nest ? gi + next * m : next;
    store<f32>(accOut + off, next);
    store<f32>(wOut + off, load<f32>(w + off) - step * lr);
  }
}

/**
 * Adam (Kingma & Ba 2015) for i in [start, end), bias correction folded into `rate`:
 *   m' = m·b1 + g·c1;  v' = v·b2 + g²·c2;  w' = w − (m' / (√v' + eps))·rate
 * with c1 = 1 − β1 and c2 = 1 − β2 rounded to f32 by the caller, as tfjs rounds its scalars.
 */
export function adam_f32(w: usize, m: usize, v: usize, g: usize, b1: f32, c1: f32, b2: f32, c2: f32, eps: f32, rate: f32, wOut: usize, mOut: usize, vOut: usize, start: i32, end: i32): void {
  const vb1 = f32x4.splat(b1);
  const vc1 = f32x4.splat(c1);
  const vb2 = f32x4.splat(b2);
  const vc2 = f32x4.splat(c2);
  const veps = f32x4.splat(eps);
  const vrate = f32x4.splat(rate);
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const off = <usize>i << 2;
    const vg = v128.load(g + off);
    const first = f32x4.add(f32x4.mul(v128.load(m + off), vb1), f32x4.mul(vg, vc1));
    const second = f32x4.add(f32x4.mul(v128.load(v + off), vb2), f32x4.mul(f32x4.mul(vg, vg), vc2));
    const ratio = f32x4.div(first, f32x4.add(f32x4.sqrt(second), veps));
    v128.store(mOut + off, first);
    v128.store(vOut + off, second);
    v128.store(wOut + off, f32x4.sub(v128.load(w + off), f32x4.mul(ratio, vrate)));
  }
  for (; i < end; i++) {
    const off = <usize>i << 2;
    const gi = load<f32>(g + off);
    const first = load<f32>(m + off) * b1 + gi * c1;
    const second = load<f32>(v + off) * b2 + (gi * gi) * c2;
    store<f32>(mOut + off, first);
    store<f32>(vOut + off, second);
    store<f32>(wOut + off, load<f32>(w + off) - (first / (sqrt<f32>(second) + eps)) * rate);
  }
}
