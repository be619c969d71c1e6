// Straight-through estimators (Bengio et al. 2013), the custom gradient the quantization
// learners train through: the forward pass applies a non-differentiable function (rounding to a
// grid), the backward pass treats it as the identity — inside [min, max] only when a clip range
// is given, as Jacob et al. 2018 do for fake quantization, so saturated values get no gradient.
import * as tf from "@tensorflow/tfjs-core";

export interface StraightThroughOptions {
  /** Pass the gradient only where min <= x <= max. */
  clipRange?: [number, number];
}

/** `apply` in the forward pass, the identity (or the clipped identity) in the backward pass. */
export function straightThrough(apply: (x: tf.Tensor) => tf.Tensor, options: StraightThroughOptions = {}): (x: tf.Tensor) => tf.Tensor {
  const { clipRange } = options;
  if (clipRange !== undefined && !(clipRange[0] <= clipRange[1])) {
    throw new RangeError(`straightThrough: clipRange must be [min, max] with min <= max, but got [${clipRange.join(", ")}]`);
  }
  return tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
    save([x]);
    return {
      value: apply(x),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        if (clipRange === undefined) return [dy];
        const [input] = saved;
        const inside = tf.logicalAnd(tf.greaterEqual(input, clipRange[0]), tf.lessEqual(input, clipRange[1]));
        return [tf.mul(dy, tf.cast(inside, dy.dtype))];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor) => tf.Tensor;
}
