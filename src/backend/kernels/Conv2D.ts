// Conv2D on the SIMD core: im2col + GEMM (see src/kernels/conv2d.ts). Shapes, padding and
// dimRoundingMode are read through tfjs's computeConv2DInfo, so they match the cpu kernel.
import { backend_util, Conv2D, util, type Conv2DAttrs, type Conv2DBackpropFilterAttrs, type Conv2DInputs, type KernelConfig, type KernelFunc, type TensorInfo } from "@tensorflow/tfjs-core";
import { conv2dForwardOp, forwardFilterLength, prepareForwardFilter } from "../../kernels/conv2d.js";
import { kernels } from "../../kernels/core.js";
import { winogradApplies } from "../../kernels/winograd.js";
import type { ConvGeometry } from "../../kernels/conv-geometry.js";
import { BACKEND_NAME, type PocketflowBackend } from "../backend.js";
import { runKernelOp } from "../executor.js";
import { float32Values, makeTensor, outputArray } from "../tensor-data.js";

type Shape4 = [number, number, number, number];

/** Our kernels compute NHWC only; NCHW would need transposes around every conv. */
export function requireNHWC(kernel: string, dataFormat: string | undefined): void {
  if (dataFormat !== undefined && dataFormat !== "NHWC") {
    throw new Error(`${kernel}: the pocketflow backend computes convolutions in NHWC (channels last), but got dataFormat '${dataFormat}'; ` +
      "use dataFormat 'NHWC' (tf.layers: dataFormat 'channelsLast'), or another backend");
  }
}

export function requireRank4(kernel: string, name: string, shape: readonly number[]): Shape4 {
  if (shape.length !== 4) throw new Error(`${kernel}: ${name} must be rank 4, but got shape [${shape}]`);
  return shape as Shape4;
}

/** The geometry our kernels take, from tfjs's description of the same convolution. */
export function convGeometryOf(info: backend_util.Conv2DInfo): ConvGeometry {
  const { batchSize: batch, inHeight, inWidth, inChannels, outHeight, outWidth } = info;
  return {
    batch, inHeight, inWidth, inChannels,
    kernelHeight: info.filterHeight, kernelWidth: info.filterWidth,
    strideHeight: info.strideHeight, strideWidth: info.strideWidth,
    dilationHeight: info.dilationHeight, dilationWidth: info.dilationWidth,
    padTop: info.padInfo.top, padBottom: info.padInfo.bottom, padLeft: info.padInfo.left, padRight: info.padInfo.right,
    outHeight, outWidth,
    rows: batch * outHeight * outWidth,
    patchSize: info.filterHeight * info.filterWidth * inChannels,
  };
}

/** computeConv2DInfo of a forward conv, after checking what it does not. */
export function forwardConvInfo(kernel: string, x: TensorInfo, filter: TensorInfo, attrs: Conv2DAttrs): backend_util.Conv2DInfo {
  requireNHWC(kernel, attrs.dataFormat);
  const xShape = requireRank4(kernel, "x", x.shape);
  const filterShape = requireRank4(kernel, "filter", filter.shape);
  if (xShape[3] !== filterShape[2]) {
    throw new Error(`${kernel}: the input has ${xShape[3]} channels (x [${xShape}]) but the filter expects ${filterShape[2]} (filter [${filterShape}])`);
  }
  return backend_util.computeConv2DInfo(xShape, filterShape, attrs.strides, attrs.dilations, attrs.pad, attrs.dimRoundingMode, false, "channelsLast");
}

/**
 * The filter `w` (a tensor's values in the kernels' memory) prepared for the forward pass of
 * geometry g, kept with its values: an inference convolves with the same weights every call.
 */
export function preparedForwardFilter(backend: PocketflowBackend, w: Float32Array, g: ConvGeometry, outChannels: number): Float32Array {
  const form = winogradApplies(g, outChannels) ? "winograd" : "gemm";
  const from = `${g.kernelHeight}x${g.kernelWidth}x${g.inChannels}x${outChannels}:${form}`;
  return backend.outputs.derived(w, "conv2dForward", from, forwardFilterLength(g, outChannels),
    (out) => prepareForwardFilter(kernels(), w, g, outChannels, out));
}

export function conv2D(args: { inputs: Conv2DInputs; backend: PocketflowBackend; attrs: Conv2DAttrs }): TensorInfo {
  const { inputs, backend, attrs } = args;
  const x = inputs.x as TensorInfo;
  const filter = inputs.filter as TensorInfo;
  const info = forwardConvInfo("Conv2D", x, filter, attrs);
  const g = convGeometryOf(info);
  const w = float32Values(backend, filter, "Conv2D");
  const y = runKernelOp(conv2dForwardOp(
    float32Values(backend, x, "Conv2D"), w, g, info.outChannels,
    {}, outputArray(backend, util.sizeFromShape(info.outShape)), {}, preparedForwardFilter(backend, w, g, info.outChannels),
  ));
  return makeTensor(backend, info.outShape, y);
}

export const conv2DConfig: KernelConfig = {
  kernelName: Conv2D,
  backendName: BACKEND_NAME,
  kernelFunc: conv2D as unknown as KernelFunc,
};

/**
 * The geometry a conv gradient kernel works on, checking that dy is the output of a conv of an
 * input of `inputShape` by a filter of `filterShape` (tfjs's conv gradients use dilation 1).
 */
export function gradientGeometry(
  kernel: string, inputShape: [number, number, number, number], filterShape: [number, number, number, number], dy: TensorInfo,
  attrs: Pick<Conv2DBackpropFilterAttrs, "strides" | "pad"> & { dimRoundingMode?: Conv2DBackpropFilterAttrs["dimRoundingMode"] },
): backend_util.Conv2DInfo {
  const info = backend_util.computeConv2DInfo(inputShape, filterShape, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, "channelsLast");
  const dyShape = requireRank4(kernel, "dy", dy.shape);
  if (inputShape[3] !== filterShape[2] || dyShape.some((d, i) => d !== info.outShape[i])) {
    throw new Error(`${kernel}: dy [${dyShape}] must be the output [${info.outShape}] of a conv of an input [${inputShape}] ` +
      `with a filter [${filterShape}] (input channels ${inputShape[3]} must equal the filter's ${filterShape[2]})`);
  }
  return info;
}
