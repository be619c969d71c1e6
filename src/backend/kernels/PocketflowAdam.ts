// PocketflowAdam: the trainer's Adam update of one variable as one kernel of our own (the
// trainer's ops cost 10 kernels a variable). Inputs w, first, second and gradient, float32 of
// one shape; attributes beta1, beta2, epsilon, correctedRate (the learning rate with the bias
// corrections); outputs the new w, first and second. Registered for the pocketflow backend
// only; no gradient.
import type { KernelConfig, KernelFunc, TensorInfo } from "@tensorflow/tfjs-core";
import { adamOp, type AdamParams } from "../../kernels/optimizers.js";
import { BACKEND_NAME } from "../backend.js";
import { runKernelOp } from "../executor.js";
import { float32Values, makeTensor } from "../tensor-data.js";
import type { KernelArgs } from "./MaxPool.js";

export const ADAM = "PocketflowAdam";

export interface AdamInputs {
  w: TensorInfo;
  first: TensorInfo;
  second: TensorInfo;
  gradient: TensorInfo;
}

export function pocketflowAdam(args: KernelArgs<AdamInputs, AdamParams>): TensorInfo[] {
  const { inputs, backend, attrs } = args;
  const values = (t: TensorInfo): Float32Array => float32Values(backend, t, ADAM);
  const { w, first, second } = runKernelOp(adamOp(values(inputs.w), values(inputs.first), values(inputs.second), values(inputs.gradient), attrs));
  return [w, first, second].map((v) => makeTensor(backend, inputs.w.shape, v));
}

export const adamConfig: KernelConfig = {
  kernelName: ADAM,
  backendName: BACKEND_NAME,
  kernelFunc: pocketflowAdam as unknown as KernelFunc,
};
