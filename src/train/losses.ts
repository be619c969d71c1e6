// Classification losses on logits. Distillation follows PocketFlow's distillation helper
// (Hinton et al. 2015): loss += w · CE(softmax(teacher / T), softmax(student / T)), w = 4, T = 4,
// without Hinton's T² factor, so PocketFlow's weights carry over unchanged.
import * as tf from "@tensorflow/tfjs-core";

export interface DistillationOptions {
  /** Loss weight w (PocketFlow's loss_w_dst, default 4). */
  weight?: number;
  /** Temperature T (PocketFlow's tempr_dst, default 4). */
  temperature?: number;
}

export const DEFAULT_DISTILLATION = { weight: 4, temperature: 4 } as const;

/** Mean softmax cross-entropy of integer labels [batch] against logits [batch, classes]. */
export function crossEntropy(labels: tf.Tensor1D, logits: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const targets = tf.oneHot(labels, logits.shape[1]);
    return tf.losses.softmaxCrossEntropy(targets, logits) as tf.Scalar;
  });
}

/** The distillation term w · CE(softmax(teacher/T), student/T), averaged over the batch. */
export function distillationLoss(studentLogits: tf.Tensor2D, teacherLogits: tf.Tensor2D, options: DistillationOptions = {}): tf.Scalar {
  const weight = options.weight ?? DEFAULT_DISTILLATION.weight;
  const temperature = options.temperature ?? DEFAULT_DISTILLATION.temperature;
  return tf.tidy(() => {
    const soft = tf.softmax(tf.div(teacherLogits, temperature));
    return tf.mul(tf.losses.softmaxCrossEntropy(soft, tf.div(studentLogits, temperature)), weight) as tf.Scalar;
  });
}

export function checkDistillation(options: DistillationOptions): void {
  const { weight = DEFAULT_DISTILLATION.weight, temperature = DEFAULT_DISTILLATION.temperature } = options;
  if (!(Number.isFinite(weight) && weight >= 0)) throw new RangeError(`distillation: weight must be a number >= 0, but got ${weight}`);
  if (!(Number.isFinite(temperature) && temperature > 0)) throw new RangeError(`distillation: temperature must be positive, but got ${temperature}`);
}

/** Number of rows whose largest logit is at the label. */
export function countCorrect(labels: tf.Tensor1D, logits: tf.Tensor2D): number {
  return tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), labels), "int32")).dataSync()[0]);
}
