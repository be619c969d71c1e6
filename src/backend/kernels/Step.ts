// Step (1 where x > 0, alpha elsewhere, NaN kept; relu's gradient uses it) on the SIMD
// element-wise kernels (dtypes as for Relu, see Relu.ts).
import { Step, type KernelConfig, type KernelFunc, type NamedAttrMap, type StepAttrs, type TensorInfo, type UnaryInputs } from "@tensorflow/tfjs-core";
import { BACKEND_NAME } from "../backend.js";
import type { KernelArgs } from "./MaxPool.js";
import { runUnary } from "./Relu.js";

export function step(args: KernelArgs<UnaryInputs, StepAttrs>): TensorInfo {
  return runUnary(Step, "step", args as unknown as KernelArgs<UnaryInputs, NamedAttrMap>, args.attrs.alpha ?? 0);
}

export const stepConfig: KernelConfig = {
  kernelName: Step,
  backendName: BACKEND_NAME,
  kernelFunc: step as unknown as KernelFunc,
};
