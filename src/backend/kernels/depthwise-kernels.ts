// Depthwise convolution kernels of the pocketflow backend (one file each, named as the tfjs kernel).
import type { KernelConfig } from "@tensorflow/tfjs-core";
import { depthwiseConv2dNativeConfig } from "./DepthwiseConv2dNative.js";
import { depthwiseConv2dNativeBackpropFilterConfig } from "./DepthwiseConv2dNativeBackpropFilter.js";
import { depthwiseConv2dNativeBackpropInputConfig } from "./DepthwiseConv2dNativeBackpropInput.js";
import { fusedDepthwiseConv2DConfig } from "./FusedDepthwiseConv2D.js";

export const DEPTHWISE_KERNELS: KernelConfig[] = [
  depthwiseConv2dNativeConfig,
  depthwiseConv2dNativeBackpropInputConfig,
  depthwiseConv2dNativeBackpropFilterConfig,
  fusedDepthwiseConv2DConfig,
];
