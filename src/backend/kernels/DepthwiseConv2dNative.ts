// DepthwiseConv2dNative (MobileNet's depthwise 3×3 layers) on the SIMD depthwise kernel.
// Geometry comes from tfjs's own computeConv2DInfo, so 'same'/'valid'/explicit and numeric
// padding with dimRoundingMode give the shapes the cpu backend gives.
import {
  backend_util, DepthwiseConv2dNative, type DepthwiseConv2dNativeAttrs, type DepthwiseConv2dNativeInputs,
  type KernelConfig, type KernelFunc, type TensorInfo, util,
} from "@tensorflow/tfjs-core";
import type { ConvGeometry } from "../../kernels/conv-geometry.js";
import { depthwiseConv2dOp, type DepthwiseConv2dOptions } from "../../kernels/depthwise.js";
import { BACKEND_NAME, type PocketflowBackend } from "../backend.js";
import { runKernelOp } from "../executor.js";
import { float32Values, makeTensor, outputArray } from "../tensor-data.js";

type Shape4 = [number, number, number, number];

/** The attributes every depthwise kernel reads to place its taps. */
export interface DepthwiseAttrs {
  strides: [number, number] | number;
  pad: "valid" | "same" | number | backend_util.ExplicitPadding;
  dilations?: [number, number] | number | null;
  dimRoundingMode?: "floor" | "round" | "ceil";
  dataFormat?: "NHWC" | "NCHW";
}

function checkRank4(kernel: string, name: string, shape: readonly number[]): Shape4 {
  if (shape.length !== 4) throw new Error(`${kernel}: ${name} must be rank 4, but got shape [${shape}]`);
  return shape as Shape4;
}

/**
 * tfjs's Conv2DInfo for a depthwise conv of an NHWC input with filter [kh, kw, C, multiplier].
 * NCHW is refused: the kernels address NHWC memory.
 */
export function depthwiseConvInfo(kernel: string, xShape: readonly number[], filterShape: readonly number[], attrs: DepthwiseAttrs): backend_util.Conv2DInfo {
  if (attrs.dataFormat !== undefined && attrs.dataFormat !== "NHWC") {
    throw new Error(`${kernel}: the pocketflow backend supports dataFormat 'NHWC' only, but got '${attrs.dataFormat}'; ` +
      "transpose the input to NHWC with tf.transpose(x, [0, 2, 3, 1])");
  }
  const x = checkRank4(kernel, "the input", xShape);
  const filter = checkRank4(kernel, "the filter", filterShape);
  if (filter[2] !== x[3]) {
    throw new Error(`${kernel}: the filter's inChannels (dimension 2 of [${filter}]) must equal the input's channels ${x[3]}`);
  }
  return backend_util.computeConv2DInfo(x, filter, attrs.strides, attrs.dilations ?? 1, attrs.pad, attrs.dimRoundingMode, true);
}

/** The kernels' geometry for a tfjs Conv2DInfo. */
export function depthwiseGeometry(info: backend_util.Conv2DInfo): ConvGeometry {
  const { batchSize: batch, inHeight, inWidth, inChannels, outHeight, outWidth, filterHeight, filterWidth } = info;
  return {
    batch, inHeight, inWidth, inChannels, kernelHeight: filterHeight, kernelWidth: filterWidth,
    strideHeight: info.strideHeight, strideWidth: info.strideWidth, dilationHeight: info.dilationHeight, dilationWidth: info.dilationWidth,
    padTop: info.padInfo.top, padBottom: info.padInfo.bottom, padLeft: info.padInfo.left, padRight: info.padInfo.right,
    outHeight, outWidth, rows: batch * outHeight * outWidth, patchSize: filterHeight * filterWidth * inChannels,
  };
}

/** Runs the forward kernel (with what options fuse) and returns the [N, OH, OW, C*M] output tensor. */
export function runDepthwiseForward(
  kernel: string, backend: PocketflowBackend, x: TensorInfo, filter: TensorInfo, attrs: DepthwiseAttrs, options: DepthwiseConv2dOptions = {},
): TensorInfo {
  const info = depthwiseConvInfo(kernel, x.shape, filter.shape, attrs);
  const multiplier = info.filterShape[3];
  const out = runKernelOp(depthwiseConv2dOp(
    float32Values(backend, x, kernel), float32Values(backend, filter, kernel), depthwiseGeometry(info), multiplier, options,
    outputArray(backend, util.sizeFromShape(info.outShape)),
  ));
  return makeTensor(backend, info.outShape, out);
}

export function depthwiseConv2dNative(args: { inputs: DepthwiseConv2dNativeInputs; backend: PocketflowBackend; attrs: DepthwiseConv2dNativeAttrs }): TensorInfo {
  const { inputs, backend, attrs } = args;
  return runDepthwiseForward(DepthwiseConv2dNative, backend, inputs.x as TensorInfo, inputs.filter as TensorInfo, attrs);
}

export const depthwiseConv2dNativeConfig: KernelConfig = {
  kernelName: DepthwiseConv2dNative,
  backendName: BACKEND_NAME,
  kernelFunc: depthwiseConv2dNative as unknown as KernelFunc,
};
