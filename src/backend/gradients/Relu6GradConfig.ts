// Gradient of Relu6: dy where 0 < x <= 6, else 0. Gradients are registered for every backend
// at once, so this one keeps tfjs's own dy·((x <= 6)·step(x)) everywhere but on the pocketflow
// backend, where float32 tensors of one shape take PocketflowClipGrad (one pass instead of
// four kernels). x > 0 is written x >= the smallest positive float32, the clip gradient's
// inclusive lower bound. Where tfjs's product gives -0 or NaN (negative or non-finite dy
// outside the range, NaN x), ours gives 0.
import { cast, engine, lessEqual, mul, Relu6, step, type GradConfig, type NamedAttrMap, type Tensor } from "@tensorflow/tfjs-core";
import { MIN_POSITIVE_FLOAT32 } from "../../kernels/batchnorm.js";
import { fusableGradient } from "../kernels/fusable-gradient.js";
import { CLIP_GRAD } from "../kernels/PocketflowClipGrad.js";

export function relu6Gradient(dy: Tensor, x: Tensor): Tensor {
  if (fusableGradient(dy, x)) return engine().runKernel(CLIP_GRAD, { dy, x }, { clipValueMin: MIN_POSITIVE_FLOAT32, clipValueMax: 6 } as unknown as NamedAttrMap) as Tensor;
  return mul(dy, cast(mul(lessEqual(x, 6), step(x)), "float32"));
}

export const relu6GradientConfig: GradConfig = {
  kernelName: Relu6,
  inputsToSave: ["x"],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => {
    const [x] = saved;
    return { x: () => relu6Gradient(dy as Tensor, x) };
  },
};
