// MaxPoolGrad on the SIMD pooling kernel. tfjs passes dy, the pool's input and its output; like
// the cpu backend we find each window's arg-max from the input (the first position, row-major,
// holding a value greater than all before it) and route dy there. Inputs our kernels do not
// take go to the cpu kernel.
import {
  MaxPoolGrad, type KernelConfig, type KernelFunc, type MaxPoolGradAttrs, type MaxPoolGradInputs, type TensorInfo, util,
} from "@tensorflow/tfjs-core";
import { maxPool2dGradOp } from "../../kernels/pooling.js";
import { BACKEND_NAME } from "../backend.js";
import { runKernelOp } from "../executor.js";
import { float32Values, makeTensor, outputArray } from "../tensor-data.js";
import { allFloat32, onCpu, poolGeometry, poolOutShape, type KernelArgs } from "./MaxPool.js";

export function maxPoolGrad(args: KernelArgs<MaxPoolGradInputs, MaxPoolGradAttrs>): TensorInfo {
  const { inputs, backend, attrs } = args;
  const dy = inputs.dy as TensorInfo;
  const x = inputs.input as TensorInfo;
  const g = allFloat32(dy, x) ? poolGeometry(x.shape, attrs) : undefined;
  if (!g || dy.shape.join() !== poolOutShape(g).join()) return onCpu(MaxPoolGrad, args);
  const dx = runKernelOp(maxPool2dGradOp(float32Values(backend, x, MaxPoolGrad), float32Values(backend, dy, MaxPoolGrad), g, outputArray(backend, util.sizeFromShape(x.shape))));
  return makeTensor(backend, x.shape, dx);
}

export const maxPoolGradConfig: KernelConfig = {
  kernelName: MaxPoolGrad,
  backendName: BACKEND_NAME,
  kernelFunc: maxPoolGrad as unknown as KernelFunc,
};
