// Pooling and batch-norm kernels of the pocketflow backend (one file each, named as the tfjs kernel).
import type { KernelConfig } from "@tensorflow/tfjs-core";

export const POOLING_KERNELS: KernelConfig[] = [];
