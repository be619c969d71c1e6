// AvgPoolGrad on the SIMD pooling kernel. As the cpu backend does, every window passes dy back
// scaled by 1 / (filterHeight * filterWidth), also a window cut by the padding (whose forward
// divided by fewer positions), and the geometry ignores dimRoundingMode. Inputs our kernels do
// not take go to the cpu kernel.
import {
  AvgPoolGrad, type AvgPoolGradAttrs, type AvgPoolGradInputs, type KernelConfig, type KernelFunc, type TensorInfo, util,
} from "@tensorflow/tfjs-core";
import { avgPool2dGradOp } from "../../kernels/pooling.js";
import { BACKEND_NAME } from "../backend.js";
import { runKernelOp } from "../executor.js";
import { float32Values, makeTensor, outputArray } from "../tensor-data.js";
import { allFloat32, onCpu, poolGeometry, poolOutShape, type KernelArgs } from "./MaxPool.js";

export function avgPoolGrad(args: KernelArgs<AvgPoolGradInputs, AvgPoolGradAttrs>): TensorInfo {
  const { inputs, backend, attrs } = args;
  const dy = inputs.dy as TensorInfo;
  const x = inputs.input as TensorInfo;
  const g = allFloat32(dy) ? poolGeometry(x.shape, attrs, undefined) : undefined;
  if (!g || dy.shape.join() !== poolOutShape(g).join()) return onCpu(AvgPoolGrad, args);
  const dx = runKernelOp(avgPool2dGradOp(float32Values(backend, dy, AvgPoolGrad), g, undefined, outputArray(backend, util.sizeFromShape(x.shape))));
  return makeTensor(backend, x.shape, dx);
}

export const avgPoolGradConfig: KernelConfig = {
  kernelName: AvgPoolGrad,
  backendName: BACKEND_NAME,
  kernelFunc: avgPoolGrad as unknown as KernelFunc,
};
