// MaxPool on the SIMD pooling kernel. Geometry comes from tfjs's own computePool2DInfo, so
// 'same'/'valid'/explicit and numeric padding with dimRoundingMode give the cpu backend's
// shapes. Inputs our kernels do not take (not float32, not rank 4, dilated) go to the cpu kernel.
import {
  backend_util, getKernel, MaxPool, type KernelConfig, type KernelFunc, type MaxPoolAttrs, type MaxPoolInputs,
  type NamedAttrMap, type TensorInfo, util,
} from "@tensorflow/tfjs-core";
import type { ConvGeometry } from "../../kernels/conv-geometry.js";
import { maxPool2dOp } from "../../kernels/pooling.js";
import { BACKEND_NAME, type PocketflowBackend } from "../backend.js";
import { runKernelOp } from "../executor.js";
import { escapeInputs, float32Values, makeTensor, outputArray } from "../tensor-data.js";
import { depthwiseGeometry } from "./DepthwiseConv2dNative.js";

/** The attributes every 2-D pooling kernel reads to place its windows. */
export interface PoolAttrs {
  filterSize: [number, number] | number;
  strides: [number, number] | number;
  pad: "valid" | "same" | number | backend_util.ExplicitPadding;
  dimRoundingMode?: "floor" | "round" | "ceil";
}

/** The arguments tfjs passes a kernel function. */
export interface KernelArgs<I, A> {
  inputs: I;
  backend: PocketflowBackend;
  attrs: A;
}

/** Runs the cpu backend's kernel `name` (on our backend, which stores tensors as cpu does). */
export function onCpu<I, A>(name: string, args: KernelArgs<I, A>): TensorInfo {
  const config = getKernel(name, "cpu");
  if (!config) throw new Error(`${name}: no cpu kernel to fall back on`);
  escapeInputs(args.backend, args.inputs as Record<string, unknown>);
  return config.kernelFunc(args as unknown as { inputs: Record<string, TensorInfo>; backend: PocketflowBackend; attrs: NamedAttrMap }) as TensorInfo;
}

/** True when every given tensor is float32. */
export const allFloat32 = (...tensors: Array<TensorInfo | undefined | null>): boolean =>
  tensors.every((t) => t == null || t.dtype === "float32");

/**
 * The kernels' geometry of a pool over an NHWC input (dilation 1), or undefined when the input
 * is not rank 4 or tfjs computes an output extent our kernels cannot produce.
 */
export function poolGeometry(xShape: readonly number[], attrs: PoolAttrs, dimRoundingMode = attrs.dimRoundingMode): ConvGeometry | undefined {
  if (xShape.length !== 4) return undefined;
  const info = backend_util.computePool2DInfo(
    xShape as [number, number, number, number], attrs.filterSize, attrs.strides, 1, attrs.pad, dimRoundingMode,
  );
  const g = depthwiseGeometry(info);
  const fields = [g.outHeight, g.outWidth, g.padTop, g.padLeft, g.padBottom, g.padRight];
  return fields.every((v) => Number.isInteger(v) && v >= 0) ? g : undefined;
}

export const poolOutShape = (g: ConvGeometry): number[] => [g.batch, g.outHeight, g.outWidth, g.inChannels];

export function maxPool(args: KernelArgs<MaxPoolInputs, MaxPoolAttrs>): TensorInfo {
  const { inputs, backend, attrs } = args;
  const x = inputs.x as TensorInfo;
  const g = allFloat32(x) ? poolGeometry(x.shape, attrs) : undefined;
  if (!g) return onCpu(MaxPool, args);
  const y = runKernelOp(maxPool2dOp(float32Values(backend, x, MaxPool), g, outputArray(backend, util.sizeFromShape(poolOutShape(g)))));
  return makeTensor(backend, poolOutShape(g), y);
}

export const maxPoolConfig: KernelConfig = {
  kernelName: MaxPool,
  backendName: BACKEND_NAME,
  kernelFunc: maxPool as unknown as KernelFunc,
};
