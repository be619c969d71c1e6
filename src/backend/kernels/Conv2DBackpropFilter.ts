// Conv2DBackpropFilter (the filter gradient of Conv2D) on the SIMD core: dW = im2col(X)ᵀ · dY,
// summed over the batch in chunks. tfjs passes no dilations: its conv gradients support 1 only.
import {
  Conv2DBackpropFilter, type Conv2DBackpropFilterAttrs, type Conv2DBackpropFilterInputs, type KernelConfig, type KernelFunc, type TensorInfo,
} from "@tensorflow/tfjs-core";
import { conv2dBackpropFilterOp } from "../../kernels/conv2d.js";
import { BACKEND_NAME, type PocketflowBackend } from "../backend.js";
import { runKernelOp } from "../executor.js";
import { float32Values, makeTensor } from "../tensor-data.js";
import { convGeometryOf, gradientGeometry, requireNHWC, requireRank4 } from "./Conv2D.js";

const KERNEL = "Conv2DBackpropFilter";

export function conv2DBackpropFilter(args: { inputs: Conv2DBackpropFilterInputs; backend: PocketflowBackend; attrs: Conv2DBackpropFilterAttrs }): TensorInfo {
  const { inputs, backend, attrs } = args;
  const x = inputs.x as TensorInfo;
  const dy = inputs.dy as TensorInfo;
  requireNHWC(KERNEL, attrs.dataFormat);
  const xShape = requireRank4(KERNEL, "x", x.shape);
  const filterShape = requireRank4(KERNEL, "filterShape", attrs.filterShape);
  const info = gradientGeometry(KERNEL, xShape, filterShape, dy, attrs);
  const dw = runKernelOp(conv2dBackpropFilterOp(
    float32Values(backend, x, KERNEL), float32Values(backend, dy, KERNEL), convGeometryOf(info), info.outChannels,
  ));
  return makeTensor(backend, filterShape, dw);
}

export const conv2DBackpropFilterConfig: KernelConfig = {
  kernelName: Conv2DBackpropFilter,
  backendName: BACKEND_NAME,
  kernelFunc: conv2DBackpropFilter as unknown as KernelFunc,
};
