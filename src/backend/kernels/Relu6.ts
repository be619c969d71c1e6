// Relu6 on the SIMD element-wise kernels (dtypes as for Relu, see Relu.ts).
import { Relu6 } from "@tensorflow/tfjs-core";
import { unaryKernelConfig } from "./Relu.js";

export const relu6Config = unaryKernelConfig(Relu6, "relu6");
