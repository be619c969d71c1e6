// DepthwiseConv2dNativeBackpropInput (the input gradient of a depthwise conv) on the SIMD kernel.
import {
  DepthwiseConv2dNativeBackpropInput, type DepthwiseConv2dNativeBackpropInputAttrs, type DepthwiseConv2dNativeBackpropInputInputs,
  type KernelConfig, type KernelFunc, type TensorInfo, util,
} from "@tensorflow/tfjs-core";
import { depthwiseConv2dInputGradOp } from "../../kernels/depthwise.js";
import { BACKEND_NAME, type PocketflowBackend } from "../backend.js";
import { runKernelOp } from "../executor.js";
import { float32Values, makeTensor, outputArray } from "../tensor-data.js";
import { depthwiseConvInfo, depthwiseGeometry } from "./DepthwiseConv2dNative.js";

export function depthwiseConv2dNativeBackpropInput(args: {
  inputs: DepthwiseConv2dNativeBackpropInputInputs;
  backend: PocketflowBackend;
  attrs: DepthwiseConv2dNativeBackpropInputAttrs;
}): TensorInfo {
  const { inputs, backend, attrs } = args;
  const kernel = DepthwiseConv2dNativeBackpropInput;
  const dy = inputs.dy as TensorInfo;
  const filter = inputs.filter as TensorInfo;
  const info = depthwiseConvInfo(kernel, attrs.inputShape, filter.shape, attrs);
  if (dy.shape.join() !== info.outShape.join()) {
    throw new Error(`${kernel}: dy must have the conv's output shape [${info.outShape}], but got [${dy.shape}]`);
  }
  const dx = runKernelOp(depthwiseConv2dInputGradOp(
    float32Values(backend, dy, kernel), float32Values(backend, filter, kernel), depthwiseGeometry(info), info.filterShape[3],
    outputArray(backend, util.sizeFromShape(info.inShape)),
  ));
  return makeTensor(backend, info.inShape, dx);
}

export const depthwiseConv2dNativeBackpropInputConfig: KernelConfig = {
  kernelName: DepthwiseConv2dNativeBackpropInput,
  backendName: BACKEND_NAME,
  kernelFunc: depthwiseConv2dNativeBackpropInput as unknown as KernelFunc,
};
