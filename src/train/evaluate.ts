// Evaluation: loss and top-1 accuracy of a model's logits over a whole dataset, in inference mode
// (batch-norm uses its moving statistics, dropout is off).
import * as tf from "@tensorflow/tfjs-core";
import type * as tfl from "@tensorflow/tfjs-layers";
import { batches, type Normalization } from "../data/batches.js";
import { sampleCount, type Dataset } from "../data/dataset.js";
import { countCorrect, crossEntropy } from "./losses.js";

/** Images [batch, height, width, channels] to logits [batch, classes]. */
export type Forward = (images: tf.Tensor4D, training: boolean) => tf.Tensor2D;

/** The forward pass of a tfjs model that outputs logits. */
export function modelForward(model: tfl.LayersModel): Forward {
  return (images, training) => model.apply(images, { training }) as tf.Tensor2D;
}

export interface EvaluateOptions {
  batchSize?: number;
  normalization?: Normalization;
}

export interface Evaluation {
  loss: number;
  accuracy: number;
  count: number;
}

export function evaluate(forward: Forward, dataset: Dataset, options: EvaluateOptions = {}): Evaluation {
  const { batchSize = 256, normalization } = options;
  const [height, width, channels] = dataset.imageShape;
  let lossSum = 0;
  let correct = 0;
  for (const batch of batches(dataset, { batchSize, normalization })) {
    tf.tidy(() => {
      const images = tf.tensor4d(batch.images, [batch.size, height, width, channels]);
      const labels = tf.tensor1d(batch.labels, "int32");
      const logits = forward(images, false);
      lossSum += crossEntropy(labels, logits).dataSync()[0] * batch.size;
      correct += countCorrect(labels, logits);
    });
  }
  const count = sampleCount(dataset);
  return { loss: count > 0 ? lossSum / count : Number.NaN, accuracy: count > 0 ? correct / count : Number.NaN, count };
}
