// Batch normalization in inference form: the per-channel affine map with the moving statistics,
// and a fused relu or relu6. The training form is in batchnorm.ts.
import { clipF32, clipF32x4 } from "./elementwise";

/**
 * out[i] = clip((x[i] - mean[k]) * factor[k] + offset[k], lo, hi) with k = i % period, for i in
 * [start, end); `start` is a multiple of `period`. The batch-norm map with per-channel
 * parameters repeated to a period that is a multiple of both the channel count and 4, so every
 * run is SIMD. The clip is a fused relu (lo 0) or relu6 (lo 0, hi 6) as the Relu kernels compute
 * it (NaN stays NaN); lo = -inf, hi = +inf leave the map as it is.
 */
export function batch_norm_f32(
  x: usize, mean: usize, factor: usize, offset: usize, period: i32, start: i32, end: i32, out: usize, lo: f32, hi: f32,
): void {
  const vlo = f32x4.splat(lo);
  const vhi = f32x4.splat(hi);
  let i = start;
  while (i < end) {
    const len = min(period, end - i);
    const base = <usize>i << 2;
    let k = 0;
    for (; k + 4 <= len; k += 4) {
      const p = <usize>k << 2;
      const centred = f32x4.sub(v128.load(x + base + p), v128.load(mean + p));
      const y = f32x4.add(f32x4.mul(centred, v128.load(factor + p)), v128.load(offset + p));
      v128.store(out + base + p, clipF32x4(y, vlo, vhi));
    }
    for (; k < len; k++) {
      const p = <usize>k << 2;
      const y = (load<f32>(x + base + p) - load<f32>(mean + p)) * load<f32>(factor + p) + load<f32>(offset + p);
      store<f32>(out + base + p, clipF32(y, lo, hi));
    }
    i += len;
  }
}
