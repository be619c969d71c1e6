// Registers the `pocketflow` backend: every cpu-backend kernel under our name, then ours on
// top. Nothing registers on import: call registerPocketflowBackend() (selectBackend does).
import * as tf from "@tensorflow/tfjs-core";
// The full tfjs package: it brings the cpu kernels we start from and registers the gradients
// (plain tfjs-core leaves the gradient registry empty in Node).
import "@tensorflow/tfjs";
import { BACKEND_NAME, PocketflowBackend } from "./backend.js";
import { batchMatMulConfig } from "./kernels/BatchMatMul.js";
import { DENSE_CONV_KERNELS } from "./kernels/dense-conv-kernels.js";
import { DEPTHWISE_KERNELS } from "./kernels/depthwise-kernels.js";
import { ELEMENTWISE_KERNELS } from "./kernels/elementwise-kernels.js";
import { POOLING_KERNELS } from "./kernels/pooling-kernels.js";
import { escapeInputs } from "./tensor-data.js";
import { batchNormActivationConfig, fusedBatchNormConfig } from "./kernels/FusedBatchNorm.js";
import { batchNormTrainingConfig } from "./kernels/PocketflowBatchNormTraining.js";
import { batchNormTrainingGradientConfig } from "./gradients/PocketflowBatchNormTrainingGradConfig.js";
import { batchNormTrainingGradConfig } from "./kernels/PocketflowBatchNormTrainingGrad.js";
import { adamConfig } from "./kernels/PocketflowAdam.js";
import { movingAverageConfig } from "./kernels/PocketflowMovingAverage.js";
import { reluGradConfig } from "./kernels/PocketflowReluGrad.js";
import { sgdMomentumConfig } from "./kernels/PocketflowSgdMomentum.js";
import { reluGradGradientConfig, reluGradientConfig } from "./gradients/ReluGradConfig.js";
import { clipByValueConfig } from "./kernels/ClipByValue.js";
import { clipGradGradientConfig, clipByValueGradientConfig } from "./gradients/ClipByValueGradConfig.js";
import { clipGradConfig } from "./kernels/PocketflowClipGrad.js";
import { relu6GradientConfig } from "./gradients/Relu6GradConfig.js";

/**
 * The kernels we replace, one file each under kernels/, named as the tfjs kernel, and our own
 * (named Pocketflow*), which only this backend has.
 */
export const POCKETFLOW_KERNELS: tf.KernelConfig[] = [
  batchMatMulConfig, ...DENSE_CONV_KERNELS, ...DEPTHWISE_KERNELS, ...ELEMENTWISE_KERNELS, ...POOLING_KERNELS,
  fusedBatchNormConfig, batchNormActivationConfig, batchNormTrainingConfig, batchNormTrainingGradConfig, reluGradConfig, sgdMomentumConfig, adamConfig,
  movingAverageConfig, clipByValueConfig, clipGradConfig,
];

/**
 * Gradients of our own kernels, and Relu's, Relu6's and ClipByValue's, which replace tfjs's for every
 * backend (the registry has no per-backend gradients) and compute as tfjs's do away from ours.
 */
export const POCKETFLOW_GRADIENTS: tf.GradConfig[] = [
  batchNormTrainingGradientConfig, reluGradientConfig, reluGradGradientConfig, clipByValueGradientConfig, clipGradGradientConfig,
  relu6GradientConfig,
];

/**
 * cpu kernels that share their input by its data id (counted references), never by its array:
 * Identity, Reshape, and Cast, which shares the data when nothing is lost (float32 to float32,
 * as tfjs-layers casts every layer input) and otherwise writes a new array.
 */
const SHARING_BY_ID = new Set(["Identity", "Reshape", "Cast"]);

/** A cpu kernel on our backend: its inputs' arrays count as seen outside our kernels (it may keep views). */
function cpuKernelOnOurs(config: tf.KernelConfig): tf.KernelConfig {
  if (SHARING_BY_ID.has(config.kernelName)) return { ...config, backendName: BACKEND_NAME };
  const kernelFunc: tf.KernelFunc = (args) => {
    escapeInputs(args.backend as PocketflowBackend, args.inputs as Record<string, unknown>);
    return config.kernelFunc(args);
  };
  return { ...config, backendName: BACKEND_NAME, kernelFunc };
}

/** The kernel functions that freeingUnclaimedOutputs wrapped, by wrapper. */
const wrappedFuncs = new WeakMap<tf.KernelFunc, tf.KernelFunc>();

/** The kernel function inside a registered one (itself when it is no wrapper). */
export function innerKernelFunc(kernelFunc: tf.KernelFunc | undefined): tf.KernelFunc | undefined {
  return kernelFunc === undefined ? undefined : wrappedFuncs.get(kernelFunc) ?? kernelFunc;
}

/** Our kernel, bracketed so that output arrays it took but made no tensor of are freed (output-arrays.ts). */
export function freeingUnclaimedOutputs(config: tf.KernelConfig): tf.KernelConfig {
  const kernelFunc: tf.KernelFunc = (args) => {
    const { outputs } = args.backend as PocketflowBackend;
    outputs.enter();
    try {
      return config.kernelFunc(args);
    } finally {
      outputs.exit();
    }
  };
  wrappedFuncs.set(kernelFunc, config.kernelFunc);
  return { ...config, kernelFunc };
}

let registered = false;

/** Registers the backend and its kernels once; returns the backend name. */
export function registerPocketflowBackend(priority = 1): string {
  if (registered) return BACKEND_NAME;
  tf.registerBackend(BACKEND_NAME, () => new PocketflowBackend(), priority);
  const ours = new Set(POCKETFLOW_KERNELS.map((config) => config.kernelName));
  for (const config of tf.getKernelsForBackend("cpu")) {
    if (!ours.has(config.kernelName)) tf.registerKernel(cpuKernelOnOurs(config));
  }
  for (const config of POCKETFLOW_KERNELS) tf.registerKernel(freeingUnclaimedOutputs(config));
  for (const config of POCKETFLOW_GRADIENTS) tf.registerGradient(config);
  registered = true;
  return BACKEND_NAME;
}
