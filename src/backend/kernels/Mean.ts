// Mean on the SIMD sum kernels (axes and dtypes as for Sum, see Sum.ts).
import { Mean, type KernelConfig, type KernelFunc, type MeanAttrs, type MeanInputs, type TensorInfo } from "@tensorflow/tfjs-core";
import { BACKEND_NAME } from "../backend.js";
import type { KernelArgs } from "./MaxPool.js";
import { runReduction } from "./Sum.js";

export function mean(args: KernelArgs<MeanInputs, MeanAttrs>): TensorInfo {
  return runReduction(Mean, true, args);
}

export const meanConfig: KernelConfig = {
  kernelName: Mean,
  backendName: BACKEND_NAME,
  kernelFunc: mean as unknown as KernelFunc,
};
