// Abs on the SIMD element-wise kernels (dtypes as for Relu, see Relu.ts).
import { Abs } from "@tensorflow/tfjs-core";
import { unaryKernelConfig } from "./Relu.js";

export const absConfig = unaryKernelConfig(Abs, "abs");
