// AvgPool on the SIMD pooling kernel: the mean over each window's positions inside the input,
// as the cpu backend computes it. Inputs our kernels do not take go to the cpu kernel.
import { AvgPool, type AvgPoolAttrs, type AvgPoolInputs, type KernelConfig, type KernelFunc, type TensorInfo, util } from "@tensorflow/tfjs-core";
import { avgPool2dOp } from "../../kernels/pooling.js";
import { BACKEND_NAME } from "../backend.js";
import { runKernelOp } from "../executor.js";
import { float32Values, makeTensor, outputArray } from "../tensor-data.js";
import { allFloat32, onCpu, poolGeometry, poolOutShape, type KernelArgs } from "./MaxPool.js";

export function avgPool(args: KernelArgs<AvgPoolInputs, AvgPoolAttrs>): TensorInfo {
  const { inputs, backend, attrs } = args;
  const x = inputs.x as TensorInfo;
  const g = allFloat32(x) ? poolGeometry(x.shape, attrs) : undefined;
  if (!g) return onCpu(AvgPool, args);
  const y = runKernelOp(avgPool2dOp(float32Values(backend, x, AvgPool), g, outputArray(backend, util.sizeFromShape(poolOutShape(g)))));
  return makeTensor(backend, poolOutShape(g), y);
}

export const avgPoolConfig: KernelConfig = {
  kernelName: AvgPool,
  backendName: BACKEND_NAME,
  kernelFunc: avgPool as unknown as KernelFunc,
};
