// Element-wise and reduction kernels of the pocketflow backend (one file each, named as the tfjs kernel).
import type { KernelConfig } from "@tensorflow/tfjs-core";

export const ELEMENTWISE_KERNELS: KernelConfig[] = [];
