// DepthwiseConv2dNativeBackpropFilter (the filter gradient of a depthwise conv) on the SIMD kernel.
import {
  DepthwiseConv2dNativeBackpropFilter, type DepthwiseConv2dNativeBackpropFilterAttrs, type DepthwiseConv2dNativeBackpropFilterInputs,
  type KernelConfig, type KernelFunc, type TensorInfo,
} from "@tensorflow/tfjs-core";
import { depthwiseConv2dFilterGradOp } from "../../kernels/depthwise.js";
import { BACKEND_NAME, type PocketflowBackend } from "../backend.js";
import { runKernelOp } from "../executor.js";
import { float32Values, makeTensor } from "../tensor-data.js";
import { depthwiseConvInfo, depthwiseGeometry } from "./DepthwiseConv2dNative.js";

export function depthwiseConv2dNativeBackpropFilter(args: {
  inputs: DepthwiseConv2dNativeBackpropFilterInputs;
  backend: PocketflowBackend;
  attrs: DepthwiseConv2dNativeBackpropFilterAttrs;
}): TensorInfo {
  const { inputs, backend, attrs } = args;
  const kernel = DepthwiseConv2dNativeBackpropFilter;
  const x = inputs.x as TensorInfo;
  const dy = inputs.dy as TensorInfo;
  const info = depthwiseConvInfo(kernel, x.shape, attrs.filterShape, attrs);
  if (dy.shape.join() !== info.outShape.join()) {
    throw new Error(`${kernel}: dy must have the conv's output shape [${info.outShape}], but got [${dy.shape}]`);
  }
  const df = runKernelOp(depthwiseConv2dFilterGradOp(
    float32Values(backend, x, kernel), float32Values(backend, dy, kernel), depthwiseGeometry(info), info.filterShape[3],
  ));
  return makeTensor(backend, info.filterShape, df);
}

export const depthwiseConv2dNativeBackpropFilterConfig: KernelConfig = {
  kernelName: DepthwiseConv2dNativeBackpropFilter,
  backendName: BACKEND_NAME,
  kernelFunc: depthwiseConv2dNativeBackpropFilter as unknown as KernelFunc,
};
