// Pooling kernels of the pocketflow backend (one file each, named as the tfjs kernel).
import type { KernelConfig } from "@tensorflow/tfjs-core";
import { avgPoolConfig } from "./AvgPool.js";
import { avgPoolGradConfig } from "./AvgPoolGrad.js";
import { maxPoolConfig } from "./MaxPool.js";
import { maxPoolGradConfig } from "./MaxPoolGrad.js";

export const POOLING_KERNELS: KernelConfig[] = [
  maxPoolConfig,
  maxPoolGradConfig,
  avgPoolConfig,
  avgPoolGradConfig,
];
