// A tfjs-layers BatchNormalization whose training-mode call runs the fused batch-norm kernels
// when the pocketflow backend is active (batch-norm-training.ts), and is the standard layer
// everywhere else: other backends, axes other than the last, and inference unless it fuses an
// activation. With `fusedActivation` set (buildTfjsModel sets it where a relu or relu6 layer is
// the only reader of this layer's output) it also applies that activation in the same kernels,
// forward and backward, and marks its output so that the activation layer passes it through
// (fused-activation.ts). It serializes as a plain 'BatchNormalization' (the class name is
// inherited, this class is not registered and the fusion is not in its config), so saved models
// load with tf.loadLayersModel and graphFromTfjs reads them as before.
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
// Loaded for its side effect too: it registers the standard layer class read below (the
// namespace import alone is erased, as only its types are used).
import "@tensorflow/tfjs-layers";
import { BACKEND_NAME } from "../backend/backend.js";
import type { FusedActivation } from "../kernels/batchnorm.js";
import { fusedBatchNormTraining } from "../backend/batch-norm-training.js";
import { isFoldedOutput, type FoldableBatchNorm } from "./folded-conv-layers.js";
import { markActivated } from "../backend/fused-activation.js";
import { BATCH_NORM_ACTIVATION } from "../backend/kernels/FusedBatchNorm.js";
import { MOVING_AVERAGE } from "../backend/kernels/PocketflowMovingAverage.js";

type BatchNormalizationArgs = NonNullable<Parameters<typeof tfl.layers.batchNormalization>[0]>;
type StandardBatchNormalization = ReturnType<typeof tfl.layers.batchNormalization>;
type Kwargs = Parameters<tfl.layers.Layer["call"]>[1];

/** The standard layer's state, private in its type declarations. */
interface BatchNormalizationFields {
  axis: number;
  momentum: number;
  epsilon: number;
  center: boolean;
  scale: boolean;
  gamma?: tfl.LayerVariable;
  beta?: tfl.LayerVariable;
  movingMean: tfl.LayerVariable;
  movingVariance: tfl.LayerVariable;
}

// tfjs-layers exports the layer's factory, not its class; the class is where tfjs-layers
// registered it for deserialization.
const Standard = tf.serialization.SerializationMap.getMap().classNameMap.BatchNormalization[0] as unknown as
  new (args?: BatchNormalizationArgs) => StandardBatchNormalization;

/**
 * moving ← moving - (moving - value)·(1 - momentum): tfjs-layers' update, op for op, or as one
 * kernel with the same roundings on our backend (PocketflowMovingAverage).
 */
function updateMovingAverage(variable: tfl.LayerVariable, value: tf.Tensor, momentum: number): void {
  tf.tidy(() => {
    const decay = 1 - momentum;
    const origValue = variable.read();
    const fused = tf.getBackend() === BACKEND_NAME && origValue.dtype === "float32" && value.dtype === "float32" && tf.util.arraysEqual(origValue.shape, value.shape);
    variable.write(fused
      ? tf.engine().runKernel(MOVING_AVERAGE, { moving: origValue, value }, { decay }) as tf.Tensor
      : tf.sub(origValue, tf.mul(tf.sub(origValue, value), decay)));
  });
}

export class PocketflowBatchNormalization extends Standard implements FoldableBatchNorm {
  /** The activation the next layer applies, applied here on the pocketflow backend (default none). */
  fusedActivation?: FusedActivation;

  private get fields(): BatchNormalizationFields {
    return this as unknown as BatchNormalizationFields;
  }

  /** Whether a training call on x can take the fused kernels. */
  private fusable(x: tf.Tensor): boolean {
    const axis = this.fields.axis;
    return tf.getBackend() === BACKEND_NAME && x.dtype === "float32" && x.rank >= 2 && (axis === -1 || axis === x.rank - 1);
  }

  /** The inference map's parameters, for a convolution that folds this layer in (folded-conv-layers.ts). */
  inferenceParameters(): { gamma?: tf.Tensor; beta?: tf.Tensor; mean: tf.Tensor; variance: tf.Tensor; epsilon: number } {
    const f = this.fields;
    return {
      gamma: f.scale ? f.gamma?.read() : undefined, beta: f.center ? f.beta?.read() : undefined,
      mean: f.movingMean.read(), variance: f.movingVariance.read(), epsilon: f.epsilon,
    };
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor | tf.Tensor[] {
    const x = Array.isArray(inputs) && inputs.length === 1 ? inputs[0] : inputs;
    // The convolution before has applied this layer already (and its activation): pass its values on.
    if (!Array.isArray(x) && isFoldedOutput(x, this)) return this.fusedActivation ? markActivated(tf.clone(x), this.fusedActivation) : tf.clone(x);
    if (Array.isArray(x) || !this.fusable(x)) return super.call(inputs, kwargs);
    if (kwargs.training === true) return this.trainingCall(x);
    // The inference kernel with an activation has no gradient: record gradients the standard way.
    if (this.fusedActivation !== undefined && !tf.engine().isTapeOn()) return this.inferenceCall(x, this.fusedActivation);
    return super.call(inputs, kwargs);
  }

  private trainingCall(x: tf.Tensor): tf.Tensor {
    const f = this.fields;
    const activation = this.fusedActivation;
    const y = tf.tidy(() => {
      const { y, mean, variance } = fusedBatchNormTraining(x, {
        gamma: f.scale ? f.gamma?.read() : undefined, beta: f.center ? f.beta?.read() : undefined, varianceEpsilon: f.epsilon, activation,
      });
      // tfjs-layers feeds the moving variance the batch's biased variance, as tf.moments gives it
      updateMovingAverage(f.movingMean, mean, f.momentum);
      updateMovingAverage(f.movingVariance, variance, f.momentum);
      return y;
    });
    return activation === undefined ? y : markActivated(y, activation);
  }

  /** The standard inference map (moving statistics) and the activation, in one kernel. */
  private inferenceCall(x: tf.Tensor, activation: FusedActivation): tf.Tensor {
    const { gamma, beta, mean, variance, epsilon } = this.inferenceParameters();
    const inputs = { x, mean, variance, ...(beta ? { offset: beta } : {}), ...(gamma ? { scale: gamma } : {}) };
    const y = tf.engine().runKernel(BATCH_NORM_ACTIVATION, inputs, { varianceEpsilon: epsilon, activation }) as tf.Tensor;
    return markActivated(y, activation);
  }
}

/**
 * tfl.layers.batchNormalization, with the fused training path on the pocketflow backend, and
 * `fusedActivation` applied there when given (only where that activation's layer is the sole
 * reader of this layer's output).
 */
export function pocketflowBatchNormalization(args: BatchNormalizationArgs = {}, fusedActivation?: FusedActivation): StandardBatchNormalization {
  const layer = new PocketflowBatchNormalization(args);
  layer.fusedActivation = fusedActivation;
  return layer;
}
