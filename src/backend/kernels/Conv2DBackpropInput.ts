// Conv2DBackpropInput (the input gradient of Conv2D, and conv2dTranspose) on the SIMD core:
// dX = col2im(dY · Wᵀ). tfjs passes no dilations: its conv gradients support dilation 1 only.
import {
  Conv2DBackpropInput, util, type Conv2DBackpropInputAttrs, type Conv2DBackpropInputInputs, type KernelConfig, type KernelFunc, type TensorInfo,
} from "@tensorflow/tfjs-core";
import { conv2dBackpropInputOp } from "../../kernels/conv2d.js";
import { BACKEND_NAME, type PocketflowBackend } from "../backend.js";
import { runKernelOp } from "../executor.js";
import { float32Values, makeTensor, outputArray } from "../tensor-data.js";
import { convGeometryOf, gradientGeometry, requireNHWC, requireRank4 } from "./Conv2D.js";

const KERNEL = "Conv2DBackpropInput";

export function conv2DBackpropInput(args: { inputs: Conv2DBackpropInputInputs; backend: PocketflowBackend; attrs: Conv2DBackpropInputAttrs }): TensorInfo {
  const { inputs, backend, attrs } = args;
  const dy = inputs.dy as TensorInfo;
  const filter = inputs.filter as TensorInfo;
  requireNHWC(KERNEL, attrs.dataFormat);
  const inputShape = requireRank4(KERNEL, "inputShape", attrs.inputShape);
  const filterShape = requireRank4(KERNEL, "filter", filter.shape);
  const info = gradientGeometry(KERNEL, inputShape, filterShape, dy, attrs);
  const dx = runKernelOp(conv2dBackpropInputOp(
    float32Values(backend, dy, KERNEL), float32Values(backend, filter, KERNEL), convGeometryOf(info), info.outChannels,
    outputArray(backend, util.sizeFromShape(inputShape)),
  ));
  return makeTensor(backend, inputShape, dx);
}

export const conv2DBackpropInputConfig: KernelConfig = {
  kernelName: Conv2DBackpropInput,
  backendName: BACKEND_NAME,
  kernelFunc: conv2DBackpropInput as unknown as KernelFunc,
};
