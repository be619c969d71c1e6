// The condition under which the gradients we register for every backend (Relu, Relu6,
// ClipByValue) take one of our fused kernels instead of tfjs's own formula.
import { getBackend, util, type Tensor } from "@tensorflow/tfjs-core";
import { BACKEND_NAME } from "../backend.js";

/** The pocketflow backend is active and dy and x are float32 tensors of one shape. */
export function fusableGradient(dy: Tensor, x: Tensor): boolean {
  return getBackend() === BACKEND_NAME && dy.dtype === "float32" && x.dtype === "float32" && util.arraysEqual(dy.shape, x.shape);
}
