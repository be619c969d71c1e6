// FusedBatchNorm (inference-style batch norm: x, mean, variance, optional offset and scale) on
// the SIMD batch-norm kernel, for parameters per channel of the last axis (C values) or single
// values: y = (x - mean) * scale / sqrt(variance + varianceEpsilon) + offset. The cpu backend
// repeats every parameter cyclically over x's elements, which for C or 1 values is exactly this;
// any other parameter size, and non-float32 tensors, go to the cpu kernel. The per-channel
// factors are computed once per set of parameter tensors (an inference reuses the same moving
// statistics every call) and kept with the mean's values.
// PocketflowBatchNormActivation is the same map with a relu or relu6 applied in the same pass
// (attribute activation), for a batch-norm layer that fuses the activation layer after it. It
// has no gradient: the layer takes it only while no gradient is being recorded.
import {
  FusedBatchNorm, util, type FusedBatchNormAttrs, type FusedBatchNormInputs, type KernelConfig, type KernelFunc, type TensorInfo,
} from "@tensorflow/tfjs-core";
import type { FusedActivation } from "../../kernels/batchnorm.js";
import { batchNormFactors, batchNormOp, batchNormPeriod, type BatchNormParams } from "../../kernels/batchnorm-inference.js";
import { BACKEND_NAME, type PocketflowBackend } from "../backend.js";
import { runKernelOp } from "../executor.js";
import { float32Values, makeTensor, outputArray } from "../tensor-data.js";
import { allFloat32, onCpu, type KernelArgs } from "./MaxPool.js";

/**
 * The batch-norm factors of `params`, kept with the mean's values while every parameter is a
 * tensor's resident array (a broadcast single value is a fresh array: computed each call).
 */
function cachedFactors(backend: PocketflowBackend, channels: number, params: BatchNormParams): BatchNormParams | Float32Array {
  const { outputs } = backend;
  const { mean, variance, offset, scale } = params;
  const resident = (a: Float32Array | undefined): boolean => a === undefined || outputs.isResident(a);
  if (!(resident(mean) && resident(variance) && resident(offset) && resident(scale))) return params;
  const id = (a: Float32Array | undefined): number => (a === undefined ? 0 : outputs.idOf(a));
  const from = `${id(variance)},${id(offset)},${id(scale)}:${params.varianceEpsilon}`;
  return outputs.derived(mean, "batchNorm", from, 3 * batchNormPeriod(channels), (out) => batchNormFactors(channels, params, out));
}

export const BATCH_NORM_ACTIVATION = "PocketflowBatchNormActivation";

export interface BatchNormActivationAttrs extends FusedBatchNormAttrs {
  activation?: FusedActivation;
}

/**
 * y = the batch-norm map of x through `activation` (if any), with per-channel parameters: each
 * of C values, or one value repeated (the callers have checked the shapes and dtypes).
 */
function normalize(
  backend: PocketflowBackend, kernel: string, x: TensorInfo, channels: number, tensors: { mean: TensorInfo; variance: TensorInfo; offset?: TensorInfo; scale?: TensorInfo },
  varianceEpsilon: number, activation?: FusedActivation,
): TensorInfo {
  const values = (t: TensorInfo | undefined): Float32Array | undefined => {
    if (!t) return undefined;
    const v = float32Values(backend, t, kernel);
    return v.length === channels ? v : new Float32Array(channels).fill(v[0]);
  };
  const params: BatchNormParams = {
    mean: values(tensors.mean)!, variance: values(tensors.variance)!, offset: values(tensors.offset), scale: values(tensors.scale), varianceEpsilon,
  };
  const out = outputArray(backend, util.sizeFromShape(x.shape));
  const y = runKernelOp(batchNormOp(float32Values(backend, x, kernel), channels, cachedFactors(backend, channels, params), out, activation));
  return makeTensor(backend, x.shape, y);
}

export function fusedBatchNorm(args: KernelArgs<FusedBatchNormInputs, FusedBatchNormAttrs>): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { x, mean, variance, offset, scale } = inputs as Record<string, TensorInfo | undefined>;
  if (!x || !mean || !variance) return onCpu(FusedBatchNorm, args);
  const channels = x.shape.length > 0 ? x.shape[x.shape.length - 1] : 1;
  const params = [mean, variance, offset, scale];
  const perChannel = params.every((p) => p == null || (p.shape.length === mean.shape.length && [1, channels].includes(util.sizeFromShape(p.shape))));
  if (!allFloat32(x, ...params) || !perChannel || util.sizeFromShape(x.shape) === 0 || channels === 0) return onCpu(FusedBatchNorm, args);
  return normalize(backend, FusedBatchNorm, x, channels, { mean, variance, offset, scale }, attrs.varianceEpsilon ?? 0.001);
}

/** PocketflowBatchNormActivation: the batch-norm map and its activation in one pass; float32 per-channel parameters only. */
function batchNormActivation(args: KernelArgs<FusedBatchNormInputs, BatchNormActivationAttrs>): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { x, mean, variance, offset, scale } = inputs as Record<string, TensorInfo | undefined>;
  const channels = x && x.shape.length > 0 ? x.shape[x.shape.length - 1] : 0;
  const params = [mean, variance, offset, scale];
  const perChannel = params.every((p, i) => (p == null ? i >= 2 : p.shape.length === 1 && p.shape[0] === channels));
  if (!x || !mean || !variance || !perChannel || !allFloat32(x, ...params) || channels === 0) {
    throw new Error(`${BATCH_NORM_ACTIVATION}: needs a float32 x [..., C] and float32 mean, variance (and offset, scale if given) of shape [C]`);
  }
  return normalize(backend, BATCH_NORM_ACTIVATION, x, channels, { mean, variance, offset, scale }, attrs.varianceEpsilon ?? 0.001, attrs.activation);
}

export const fusedBatchNormConfig: KernelConfig = {
  kernelName: FusedBatchNorm,
  backendName: BACKEND_NAME,
  kernelFunc: fusedBatchNorm as unknown as KernelFunc,
};

export const batchNormActivationConfig: KernelConfig = {
  kernelName: BATCH_NORM_ACTIVATION,
  backendName: BACKEND_NAME,
  kernelFunc: batchNormActivation as unknown as KernelFunc,
};
