// The range [min, max] of one activation tensor, tracked over batches for quantization-aware
// training (Jacob et al. 2018, §3.1: "exponential moving averages of the min and max values
// observed during training"), and for post-training calibration as the mean of the batches'
// extremes. Kept in tfjs variables updated with tfjs ops, so a training step reads no value back
// from the device (tfjs-node-gpu); the numbers are read once, at the end.
import * as tf from "@tensorflow/tfjs-core";

/**
 * How a batch's extremes are folded in: 'ema' (training: min ← d·min + (1 − d)·batchMin, so
 * the range follows the weights as they change) or 'mean' (calibration: the running mean of the
 * batch extremes, every batch weighted alike, less swayed by one outlying batch than a global
 * min/max and, for a few batches, less tied to the first than an EMA of decay near 1).
 */
export type RangeUpdate = "ema" | "mean";

export class RangeTracker {
  readonly min = tf.variable(tf.scalar(0), false);
  readonly max = tf.variable(tf.scalar(0), false);
  private seen = 0;

  /** `decay` of the EMA, in [0, 1). */
  constructor(readonly decay: number) {
    if (!(decay >= 0 && decay < 1)) throw new RangeError(`RangeTracker: decay must be in [0, 1), but got ${decay}`);
  }

  /** Batches observed so far. */
  get batches(): number {
    return this.seen;
  }

  /** Folds the batch's min and max into the range; the first batch sets it. */
  observe(x: tf.Tensor, update: RangeUpdate): void {
    tf.tidy(() => {
      const weight = this.seen === 0 ? 1 : update === "mean" ? 1 / (this.seen + 1) : 1 - this.decay;
      const fold = (variable: tf.Variable, batch: tf.Tensor) => variable.assign(tf.add(variable, tf.mul(tf.sub(batch, variable), weight)) as tf.Scalar);
      fold(this.min, tf.neg(tf.max(tf.neg(x)))); // the cpu backend's Min kernel is slower than Neg and Max together
      fold(this.max, tf.max(x));
    });
    this.seen++;
  }

  /** The range as numbers (reads the variables back). */
  range(): { min: number; max: number } {
    return { min: this.min.dataSync()[0], max: this.max.dataSync()[0] };
  }

  dispose(): void {
    this.min.dispose();
    this.max.dispose();
  }
}
