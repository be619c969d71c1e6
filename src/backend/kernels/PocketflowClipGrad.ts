// PocketflowClipGrad: ClipByValue's gradient, dy where clipValueMin <= x <= clipValueMax and 0
// elsewhere, as one kernel of our own, where tfjs runs five (two comparisons, a logical and,
// zerosLike and where). Inputs dy and x, float32 of the same shape; output dx. Registered for
// the pocketflow backend only; ClipByValue_grad.ts runs it there.
import type { ClipByValueAttrs, KernelConfig, KernelFunc, TensorInfo } from "@tensorflow/tfjs-core";
import { clipGradOp } from "../../kernels/elementwise.js";
import { BACKEND_NAME } from "../backend.js";
import { runKernelOp } from "../executor.js";
import { float32Values, makeTensor, outputArray } from "../tensor-data.js";
import type { KernelArgs } from "./MaxPool.js";

export const CLIP_GRAD = "PocketflowClipGrad";

export interface ClipGradInputs {
  dy: TensorInfo;
  x: TensorInfo;
}

export function pocketflowClipGrad(args: KernelArgs<ClipGradInputs, ClipByValueAttrs>): TensorInfo {
  const { inputs, backend, attrs } = args;
  const dy = float32Values(backend, inputs.dy, CLIP_GRAD);
  const x = float32Values(backend, inputs.x, CLIP_GRAD);
  return makeTensor(backend, inputs.dy.shape, runKernelOp(clipGradOp(dy, x, attrs.clipValueMin, attrs.clipValueMax, outputArray(backend, dy.length))));
}

export const clipGradConfig: KernelConfig = {
  kernelName: CLIP_GRAD,
  backendName: BACKEND_NAME,
  kernelFunc: pocketflowClipGrad as unknown as KernelFunc,
};
