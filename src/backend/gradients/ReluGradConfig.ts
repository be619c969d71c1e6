// Gradient of Relu. Gradients are registered for every backend at once, so this one keeps
// tfjs's own dy·step(x) everywhere but on the pocketflow backend, where float32 tensors of one
// shape take PocketflowReluGrad: a single pass instead of Step plus Multiply, whose copies into
// and out of the kernels' memory cost more than their arithmetic.
import { cast, engine, mul, Relu, step, zerosLike, type GradConfig, type Tensor } from "@tensorflow/tfjs-core";
import { fusableGradient } from "../kernels/fusable-gradient.js";
import { RELU_GRAD } from "../kernels/PocketflowReluGrad.js";

/** dy·step(x), on our kernel where it applies. */
export function reluGradient(dy: Tensor, x: Tensor): Tensor {
  return fusableGradient(dy, x) ? (engine().runKernel(RELU_GRAD, { dy, x }) as Tensor) : mul(dy, cast(step(x), "float32"));
}

export const reluGradientConfig: GradConfig = {
  kernelName: Relu,
  inputsToSave: ["x"],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => {
    const [x] = saved;
    return { x: () => reluGradient(dy as Tensor, x) };
  },
};

/** Gradient of PocketflowReluGrad, for higher-order gradients: step(x) is flat, so x gets zeros. */
export const reluGradGradientConfig: GradConfig = {
  kernelName: RELU_GRAD,
  inputsToSave: ["x"],
  gradFunc: (ddx: Tensor | Tensor[], saved: Tensor[]) => {
    const [x] = saved;
    return { dy: () => reluGradient(ddx as Tensor, x), x: () => zerosLike(x) };
  },
};
