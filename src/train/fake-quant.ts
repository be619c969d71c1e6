// Fake quantization in tfjs ops (Jacob et al. 2018, §3.1 and §3.2): the forward pass computes
// what integer inference will, dequantized (x → (clamp(round(x / s) + z, qmin, qmax) − z)·s),
// the backward pass is the straight-through estimator, clipped to the grid's range for
// activations (their eq. 12: saturated values get no gradient). Only tfjs ops, so a training
// forward pass runs on any backend tfjs has (tfjs-node-gpu included), not on our kernels; the
// grid is the one src/kernels/quant-params.ts gives (round half to even).
import * as tf from "@tensorflow/tfjs-core";
import { straightThrough } from "./straight-through.js";

/** A number, or a tensor that broadcasts against the quantized one (a scalar, or one value per channel). */
type Scalar = tf.Tensor | number;

/** A grid's scale and zero point, as numbers (fixed ranges) or scalar tensors (ranges that move while training). */
export interface TensorGrid {
  scale: Scalar;
  zeroPoint: Scalar;
  qmin: number;
  qmax: number;
}

/**
 * 1.5·2^23: a float32 sum with it, for |x| < 2^22, lies in [2^23, 2^24), where float32 has no
 * fraction bits, so the addition itself rounds x half to even (IEEE 754's default rounding) and
 * subtracting it back is exact.
 */
const ROUNDING_SHIFT = 12582912;

/**
 * Round half to even, as tf.round, in two elementwise passes that our backend runs on the SIMD
 * core (tf.round is a per-element function call on the cpu backend, and was the largest cost of a
 * quantization-aware step). Exact for |x| < 2^22; beyond, a value stays beyond any 8-bit grid and
 * is clamped the same.
 */
export const roundHalfEven = (x: tf.Tensor): tf.Tensor => tf.sub(tf.add(x, ROUNDING_SHIFT), ROUNDING_SHIFT);

/** The forward value of fake quantization on a grid, with no gradient rule (inference). */
export function roundToGrid(x: tf.Tensor, grid: TensorGrid): tf.Tensor {
  const { scale, zeroPoint, qmin, qmax } = grid;
  if (typeof zeroPoint === "number") {
    // clamp(round(x/s) + z, qmin, qmax) − z = clamp(round(x/s), qmin − z, qmax − z) for an integer z: two passes fewer
    return tf.mul(tf.clipByValue(roundHalfEven(tf.div(x, scale)), qmin - zeroPoint, qmax - zeroPoint), scale);
  }
  const q = tf.clipByValue(tf.add(roundHalfEven(tf.div(x, scale)), zeroPoint), qmin, qmax);
  return tf.mul(tf.sub(q, zeroPoint), scale);
}

/**
 * x fake-quantized on the grid, with the straight-through gradient passed only where x lies
 * inside the grid's range [(qmin − z)·s, (qmax − z)·s].
 */
export function fakeQuantizeOnGrid(x: tf.Tensor, grid: TensorGrid): tf.Tensor {
  const scale = typeof grid.scale === "number" ? tf.scalar(grid.scale) : grid.scale;
  const zeroPoint = typeof grid.zeroPoint === "number" ? tf.scalar(grid.zeroPoint) : grid.zeroPoint;
  const op = tf.customGrad(((input: tf.Tensor, s: tf.Scalar, z: tf.Scalar, save: tf.GradSaveFunc) => {
    const low = tf.mul(tf.sub(grid.qmin, z), s);
    const high = tf.mul(tf.sub(grid.qmax, z), s);
    save([input, low, high]);
    return {
      value: roundToGrid(input, { scale: s, zeroPoint: z, qmin: grid.qmin, qmax: grid.qmax }),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [kept, lo, hi] = saved;
        // 1 − [x < lo] − [x > hi] with step (elementwise kernels of our backend): comparisons
        // against a broadcast scalar take the cpu backend's slow broadcasting path
        const inside = tf.sub(1, tf.add(tf.step(tf.sub(lo, kept)), tf.step(tf.sub(kept, hi))));
        return [tf.mul(dy, inside), tf.zerosLike(s), tf.zerosLike(z)];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(x, scale, zeroPoint);
}

/**
 * The asymmetric k-bit grid of a range moving while training, as quantParamsFromRange makes it
 * from numbers: the range widened to hold 0, s = (max − min) / (2^k − 1), z = round(−min / s)
 * clamped to the grid, so that real 0 is exact (zero padding, relu).
 */
export function asymmetricGrid(min: tf.Scalar, max: tf.Scalar, bits: number): TensorGrid {
  const qmax = 2 ** bits - 1;
  const low = tf.minimum(min, 0);
  const span = tf.sub(tf.maximum(max, 0), low);
  const scale = tf.where(tf.greater(span, 0), tf.div(span, qmax), tf.onesLike(span)) as tf.Scalar;
  const zeroPoint = tf.clipByValue(tf.round(tf.div(tf.neg(low), scale)), 0, qmax) as tf.Scalar;
  return { scale, zeroPoint, qmin: 0, qmax };
}

/**
 * A weight transform: symmetric k-bit narrow-range quantization (q in ±(2^(k−1) − 1), zero
 * point 0) with one scale per output channel, s_c = max|w_c| / qmax, channel = flat index
 * modulo `channels` (src/deploy/int8-model.ts outputChannelGrouping); identity gradient, since
 * every weight lies inside its channel's range.
 */
export function perChannelSymmetricFakeQuant(channels: number, bits: number): (weight: tf.Tensor) => tf.Tensor {
  const qmax = 2 ** (bits - 1) - 1;
  return straightThrough((weight) => tf.tidy(() => {
    const rows = tf.reshape(weight, [-1, channels]);
    const amax = tf.max(tf.abs(rows), 0);
    const scale = tf.where(tf.greater(amax, 0), tf.div(amax, qmax), tf.onesLike(amax));
    return tf.reshape(roundToGrid(rows, { scale, zeroPoint: 0, qmin: -qmax, qmax }), weight.shape);
  }));
}
