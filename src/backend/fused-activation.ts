// An activation layer that follows a batch norm costs a pass over the activations forward and
// another backward. On the pocketflow backend the batch-norm layer applies the activation itself
// (one kernel each way, see batch-norm-layer.ts) and marks its output here; the activation layer
// then passes a marked tensor through. relu and relu6 are idempotent, so passing a tensor they
// have already been applied to is exact whatever produced it; a relu layer also passes a
// relu6-marked one (relu6's outputs are >= 0). The model keeps both layers, and saves as before.
import * as tf from "@tensorflow/tfjs-core";
import type { FusedActivation } from "../kernels/batchnorm.js";

const applied = new WeakMap<tf.Tensor, FusedActivation>();

/** Records that `activation` has been applied to every value of t. Returns t. */
export function markActivated<T extends tf.Tensor>(t: T, activation: FusedActivation): T {
  applied.set(t, activation);
  return t;
}

/** Whether applying `activation` to t would change nothing, by t's mark. */
export function alreadyActivated(t: tf.Tensor, activation: FusedActivation): boolean {
  const mark = applied.get(t);
  return mark === activation || (activation === "relu" && mark === "relu6");
}
