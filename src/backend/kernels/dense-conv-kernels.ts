// Dense convolution kernels of the pocketflow backend (one file each, named as the tfjs kernel).
import type { KernelConfig } from "@tensorflow/tfjs-core";
import { conv2DConfig } from "./Conv2D.js";
import { conv2DBackpropFilterConfig } from "./Conv2DBackpropFilter.js";
import { conv2DBackpropInputConfig } from "./Conv2DBackpropInput.js";
import { fusedConv2DConfig } from "./FusedConv2D.js";
import { fusedMatMulConfig } from "./_FusedMatMul.js";

export const DENSE_CONV_KERNELS: KernelConfig[] = [
  conv2DConfig, conv2DBackpropInputConfig, conv2DBackpropFilterConfig, fusedConv2DConfig, fusedMatMulConfig,
];
