// fusedBatchNormTraining: batch normalization in training mode as one fused kernel forward and one
// backward, on the pocketflow backend. Same result as tfjs-layers' training path
// (tf.moments over every axis but the last, then tf.batchNorm), which costs a dozen element-wise
// kernels forward and their gradients backward.
import * as tf from "@tensorflow/tfjs-core";
import { checkActivation, type FusedActivation } from "../kernels/batchnorm.js";
import { BACKEND_NAME } from "./backend.js";
import { BATCH_NORM_TRAINING } from "./kernels/PocketflowBatchNormTraining.js";

export interface FusedBatchNormTrainingOptions {
  /** Per-channel scale (default 1: no gradient then). */
  gamma?: tf.Tensor;
  /** Per-channel offset (default 0). */
  beta?: tf.Tensor;
  /** Added to the variance before the square root. */
  varianceEpsilon: number;
  /** A relu or relu6 applied to y in the same pass, and differentiated with it (default none). */
  activation?: FusedActivation;
}

export interface FusedBatchNormTrainingOutputs {
  y: tf.Tensor;
  /** Batch mean per channel [C]. */
  mean: tf.Tensor1D;
  /** Biased batch variance per channel [C] (divided by N·H·W, as tf.moments). */
  variance: tf.Tensor1D;
}

function checkInputs(x: tf.Tensor, options: FusedBatchNormTrainingOptions): number {
  const where = "fusedBatchNormTraining";
  const backend = tf.getBackend();
  if (backend !== BACKEND_NAME) throw new Error(`${where}: runs on the '${BACKEND_NAME}' backend only, but the active backend is '${backend}'; use tf.moments and tf.batchNorm there`);
  if (x.rank < 1 || x.dtype !== "float32") throw new TypeError(`${where}: x must be a float32 tensor of rank >= 1, but got a ${x.dtype} tensor of rank ${x.rank}`);
  const channels = x.shape[x.rank - 1];
  for (const name of ["gamma", "beta"] as const) {
    const t = options[name];
    if (t && (t.rank !== 1 || t.size !== channels || t.dtype !== "float32")) {
      throw new TypeError(`${where}: ${name} must be float32 of shape [${channels}] (x's last axis), but got ${t.dtype} [${t.shape.join(", ")}]`);
    }
  }
  if (!(options.varianceEpsilon >= 0)) throw new RangeError(`${where}: varianceEpsilon must be >= 0, but got ${options.varianceEpsilon}`);
  checkActivation(where, options.activation);
  return channels;
}

/**
 * Normalizes x over every axis but the last with the batch's statistics:
 * y = gamma·(x - mean)/sqrt(variance + epsilon) + beta, then the activation if any.
 * Differentiable with respect to x, gamma and beta (and through mean and variance, should a loss
 * use them).
 */
export function fusedBatchNormTraining(x: tf.Tensor, options: FusedBatchNormTrainingOptions): FusedBatchNormTrainingOutputs {
  const channels = checkInputs(x, options);
  // The kernel always takes gamma and beta, so that its gradient can save them; defaults are
  // constants, which the tape does not differentiate.
  const gamma = options.gamma ?? tf.ones([channels]);
  const beta = options.beta ?? tf.zeros([channels]);
  try {
    // the activation attribute is left out when there is none: tfjs's attrs hold no undefined
    const attrs = { varianceEpsilon: options.varianceEpsilon, ...(options.activation === undefined ? {} : { activation: options.activation }) };
    const [y, mean, variance] = tf.engine().runKernel(BATCH_NORM_TRAINING, { x, gamma, beta }, attrs) as tf.Tensor[];
    return { y, mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D };
  } finally {
    if (gamma !== options.gamma) gamma.dispose();
    if (beta !== options.beta) beta.dispose();
  }
}
