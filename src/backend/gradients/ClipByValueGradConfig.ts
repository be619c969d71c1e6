// Gradient of ClipByValue. Gradients are registered for every backend at once, so this one keeps
// tfjs's own where(x >= min and x <= max, dy, 0) everywhere but on the pocketflow backend, where
// float32 tensors of one shape take PocketflowClipGrad: one pass instead of five kernels.
import {
  ClipByValue, engine, greaterEqual, lessEqual, logicalAnd, where, zerosLike, type ClipByValueAttrs, type GradConfig, type NamedAttrMap, type Tensor,
} from "@tensorflow/tfjs-core";
import { fusableGradient } from "../kernels/fusable-gradient.js";
import { CLIP_GRAD } from "../kernels/PocketflowClipGrad.js";

/** dy where min <= x <= max, else 0; on our kernel where it applies. */
export function clipGradient(dy: Tensor, x: Tensor, attrs: ClipByValueAttrs): Tensor {
  const { clipValueMin, clipValueMax } = attrs;
  if (fusableGradient(dy, x) && clipValueMin <= clipValueMax) return engine().runKernel(CLIP_GRAD, { dy, x }, { clipValueMin, clipValueMax } as unknown as NamedAttrMap) as Tensor;
  return where(logicalAnd(greaterEqual(x, clipValueMin), lessEqual(x, clipValueMax)), dy, zerosLike(dy));
}

export const clipByValueGradientConfig: GradConfig = {
  kernelName: ClipByValue,
  inputsToSave: ["x"],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
    const [x] = saved;
    return { x: () => clipGradient(dy as Tensor, x, attrs as unknown as ClipByValueAttrs) };
  },
};

/** Gradient of PocketflowClipGrad, for higher-order gradients: the mask is flat, so x gets zeros. */
export const clipGradGradientConfig: GradConfig = {
  kernelName: CLIP_GRAD,
  inputsToSave: ["x"],
  gradFunc: (ddx: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
    const [x] = saved;
    return { dy: () => clipGradient(ddx as Tensor, x, attrs as unknown as ClipByValueAttrs), x: () => zerosLike(x) };
  },
};
