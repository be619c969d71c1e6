// PocketflowBatchNormTraining: batch normalization in training mode as one kernel of our own
// (tfjs has none: tfjs-layers composes tf.moments and tf.batchNorm, a dozen element-wise
// kernels forward and more backward). Inputs x [..., C], gamma [C], beta [C]; attribute
// varianceEpsilon and optionally activation ('relu' or 'relu6', fused into y); outputs y (x's
// shape), the batch mean [C] and the biased batch variance [C] over every axis but the last. Registered for the pocketflow backend only; its gradient
// (PocketflowBatchNormTraining_grad.ts) runs PocketflowBatchNormTrainingGrad.
import { util, type KernelConfig, type KernelFunc, type TensorInfo } from "@tensorflow/tfjs-core";
import { batchNormTrainingOp, type FusedActivation } from "../../kernels/batchnorm.js";
import { BACKEND_NAME } from "../backend.js";
import { runKernelOp } from "../executor.js";
import { float32Values, makeTensor, outputArray } from "../tensor-data.js";
import type { KernelArgs } from "./MaxPool.js";

export const BATCH_NORM_TRAINING = "PocketflowBatchNormTraining";

export interface BatchNormTrainingInputs {
  x: TensorInfo;
  gamma: TensorInfo;
  beta: TensorInfo;
}

export interface BatchNormTrainingAttrs {
  varianceEpsilon: number;
  /** A relu or relu6 applied to y in the same pass (default none). */
  activation?: FusedActivation;
}

/** The channel count of an input normalized over its last axis. */
export const channelsOf = (x: TensorInfo): number => x.shape[x.shape.length - 1] ?? 1;

export function pocketflowBatchNormTraining(args: KernelArgs<BatchNormTrainingInputs, BatchNormTrainingAttrs>): TensorInfo[] {
  const { inputs, backend, attrs } = args;
  const values = (t: TensorInfo): Float32Array => float32Values(backend, t, BATCH_NORM_TRAINING);
  const channels = channelsOf(inputs.x);
  const { y, mean, variance } = runKernelOp(batchNormTrainingOp(values(inputs.x), channels, {
    gamma: values(inputs.gamma), beta: values(inputs.beta), varianceEpsilon: attrs.varianceEpsilon, activation: attrs.activation,
  }, outputArray(backend, util.sizeFromShape(inputs.x.shape))));
  return [makeTensor(backend, inputs.x.shape, y), makeTensor(backend, [channels], mean), makeTensor(backend, [channels], variance)];
}

export const batchNormTrainingConfig: KernelConfig = {
  kernelName: BATCH_NORM_TRAINING,
  backendName: BACKEND_NAME,
  kernelFunc: pocketflowBatchNormTraining as unknown as KernelFunc,
};
