// The optimizer updates as one kernel per variable on the pocketflow backend (PocketflowSgdMomentum,
// PocketflowAdam), for the trainer's optimizers. Each returns undefined where the kernels do not
// apply (another backend, a dtype other than float32, mismatched shapes), and the caller runs
// its tfjs ops, which give the same values.
import * as tf from "@tensorflow/tfjs-core";
import type { AdamParams, SgdMomentumParams } from "../kernels/optimizers.js";
import { BACKEND_NAME } from "./backend.js";
import { ADAM } from "./kernels/PocketflowAdam.js";
import { SGD_MOMENTUM } from "./kernels/PocketflowSgdMomentum.js";

function applies(tensors: tf.Tensor[]): boolean {
  const shape = tensors[0].shape;
  return tf.getBackend() === BACKEND_NAME && tensors.every((t) => t.dtype === "float32" && tf.util.arraysEqual(t.shape, shape));
}

/** [w', accumulator'] of momentum SGD in one kernel, or undefined. */
export function fusedSgdMomentum(w: tf.Tensor, accumulator: tf.Tensor, gradient: tf.Tensor, params: SgdMomentumParams): [tf.Tensor, tf.Tensor] | undefined {
  if (!applies([w, accumulator, gradient])) return undefined;
  return tf.engine().runKernel(SGD_MOMENTUM, { w, accumulator, gradient }, { ...params }) as [tf.Tensor, tf.Tensor];
}

/** [w', first', second'] of Adam in one kernel, or undefined. */
export function fusedAdam(w: tf.Tensor, first: tf.Tensor, second: tf.Tensor, gradient: tf.Tensor, params: AdamParams): [tf.Tensor, tf.Tensor, tf.Tensor] | undefined {
  if (!applies([w, first, second, gradient])) return undefined;
  return tf.engine().runKernel(ADAM, { w, first, second, gradient }, { ...params }) as [tf.Tensor, tf.Tensor, tf.Tensor];
}
