// Gradient of PocketflowBatchNormTraining: one PocketflowBatchNormTrainingGrad kernel gives dx,
// dgamma and dbeta, where tfjs's path differentiates moments and batchNorm op by op. Gradients
// reaching the mean and variance outputs (zeros when nothing used them) are folded in too, and
// so is a fused activation's gradient (the kernel gates dy by the forward's y, recomputed).
import { engine, type GradConfig, type NamedAttrMap, type Tensor } from "@tensorflow/tfjs-core";
import { BATCH_NORM_TRAINING } from "../kernels/PocketflowBatchNormTraining.js";
import { BATCH_NORM_TRAINING_GRAD } from "../kernels/PocketflowBatchNormTrainingGrad.js";

export const batchNormTrainingGradientConfig: GradConfig = {
  kernelName: BATCH_NORM_TRAINING,
  inputsToSave: ["x", "gamma", "beta"],
  outputsToSave: [false, true, true],
  gradFunc: (dys: Tensor | Tensor[], saved: Tensor[], attrs?: NamedAttrMap) => {
    const [dy, dmean, dvariance] = dys as Tensor[];
    const [x, gamma, beta, mean, variance] = saved;
    const [dx, dgamma, dbeta] = engine().runKernel(
      BATCH_NORM_TRAINING_GRAD, { x, dy, mean, variance, gamma, beta, dmean, dvariance }, attrs,
    ) as Tensor[];
    return { x: () => dx, gamma: () => dgamma, beta: () => dbeta };
  },
};
