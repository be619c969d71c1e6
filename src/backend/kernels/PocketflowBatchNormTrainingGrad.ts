// PocketflowBatchNormTrainingGrad: the backward of PocketflowBatchNormTraining in one kernel.
// Inputs x, dy (x's shape), the forward's mean and variance [C], gamma and beta [C], and the
// gradients that reached the forward's mean and variance outputs, dmean and dvariance [C];
// attributes varianceEpsilon and the forward's activation (dy is then the gradient of the
// activation's output; beta is read only then); outputs dx (x's shape), dgamma [C], dbeta [C].
import { util, type KernelConfig, type KernelFunc, type TensorInfo } from "@tensorflow/tfjs-core";
import { batchNormTrainingGradOp } from "../../kernels/batchnorm.js";
import { BACKEND_NAME } from "../backend.js";
import { runKernelOp } from "../executor.js";
import { float32Values, makeTensor, outputArray } from "../tensor-data.js";
import type { KernelArgs } from "./MaxPool.js";
import { channelsOf, type BatchNormTrainingAttrs } from "./PocketflowBatchNormTraining.js";

export const BATCH_NORM_TRAINING_GRAD = "PocketflowBatchNormTrainingGrad";

export interface BatchNormTrainingGradInputs {
  x: TensorInfo;
  dy: TensorInfo;
  mean: TensorInfo;
  variance: TensorInfo;
  gamma: TensorInfo;
  beta: TensorInfo;
  dmean: TensorInfo;
  dvariance: TensorInfo;
}

export function pocketflowBatchNormTrainingGrad(args: KernelArgs<BatchNormTrainingGradInputs, BatchNormTrainingAttrs>): TensorInfo[] {
  const { inputs, backend, attrs } = args;
  const values = (t: TensorInfo): Float32Array => float32Values(backend, t, BATCH_NORM_TRAINING_GRAD);
  const channels = channelsOf(inputs.x);
  const { dx, dgamma, dbeta } = runKernelOp(batchNormTrainingGradOp(values(inputs.x), values(inputs.dy), channels, {
    mean: values(inputs.mean), variance: values(inputs.variance), gamma: values(inputs.gamma),
    beta: attrs.activation === undefined ? undefined : values(inputs.beta), activation: attrs.activation,
    dmean: values(inputs.dmean), dvariance: values(inputs.dvariance), varianceEpsilon: attrs.varianceEpsilon,
  }, outputArray(backend, util.sizeFromShape(inputs.x.shape))));
  return [makeTensor(backend, inputs.x.shape, dx), makeTensor(backend, [channels], dgamma), makeTensor(backend, [channels], dbeta)];
}

export const batchNormTrainingGradConfig: KernelConfig = {
  kernelName: BATCH_NORM_TRAINING_GRAD,
  backendName: BACKEND_NAME,
  kernelFunc: pocketflowBatchNormTrainingGrad as unknown as KernelFunc,
};
