// PocketflowReluGrad: relu's gradient dy·step(x) as one kernel of our own, one pass over dy and
// x, where tfjs's gradient runs Step and then Multiply over Step's output. Inputs dy and x, both
// float32 of the same shape; output dx. Registered for the pocketflow backend only; Relu_grad.ts
// runs it there.
import type { KernelConfig, KernelFunc, TensorInfo } from "@tensorflow/tfjs-core";
import { reluGradOp } from "../../kernels/elementwise.js";
import { BACKEND_NAME } from "../backend.js";
import { runKernelOp } from "../executor.js";
import { float32Values, makeTensor, outputArray } from "../tensor-data.js";
import type { KernelArgs } from "./MaxPool.js";

export const RELU_GRAD = "PocketflowReluGrad";

export interface ReluGradInputs {
  dy: TensorInfo;
  x: TensorInfo;
}

export function pocketflowReluGrad(args: KernelArgs<ReluGradInputs, Record<string, never>>): TensorInfo {
  const { inputs, backend } = args;
  const dy = float32Values(backend, inputs.dy, RELU_GRAD);
  const x = float32Values(backend, inputs.x, RELU_GRAD);
  return makeTensor(backend, inputs.dy.shape, runKernelOp(reluGradOp(dy, x, outputArray(backend, dy.length))));
}

export const reluGradConfig: KernelConfig = {
  kernelName: RELU_GRAD,
  backendName: BACKEND_NAME,
  kernelFunc: pocketflowReluGrad as unknown as KernelFunc,
};
