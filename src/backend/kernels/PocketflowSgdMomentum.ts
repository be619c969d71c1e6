// PocketflowSgdMomentum: the trainer's momentum SGD update of one variable as one kernel of our
// own (tfjs has none; the trainer's ops cost 4 to 5 kernels a variable). Inputs w, accumulator
// and gradient, float32 of one shape; attributes momentum, learningRate, nesterov; outputs the
// new w and accumulator. Registered for the pocketflow backend only; no gradient.
import type { KernelConfig, KernelFunc, TensorInfo } from "@tensorflow/tfjs-core";
import { sgdMomentumOp, type SgdMomentumParams } from "../../kernels/optimizers.js";
import { BACKEND_NAME } from "../backend.js";
import { runKernelOp } from "../executor.js";
import { float32Values, makeTensor } from "../tensor-data.js";
import type { KernelArgs } from "./MaxPool.js";

export const SGD_MOMENTUM = "PocketflowSgdMomentum";

export interface SgdMomentumInputs {
  w: TensorInfo;
  accumulator: TensorInfo;
  gradient: TensorInfo;
}

export function pocketflowSgdMomentum(args: KernelArgs<SgdMomentumInputs, SgdMomentumParams>): TensorInfo[] {
  const { inputs, backend, attrs } = args;
  const values = (t: TensorInfo): Float32Array => float32Values(backend, t, SGD_MOMENTUM);
  const { w, accumulator } = runKernelOp(sgdMomentumOp(values(inputs.w), values(inputs.accumulator), values(inputs.gradient), attrs));
  return [makeTensor(backend, inputs.w.shape, w), makeTensor(backend, inputs.w.shape, accumulator)];
}

export const sgdMomentumConfig: KernelConfig = {
  kernelName: SGD_MOMENTUM,
  backendName: BACKEND_NAME,
  kernelFunc: pocketflowSgdMomentum as unknown as KernelFunc,
};
