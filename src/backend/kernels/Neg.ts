// Neg on the SIMD element-wise kernels (dtypes as for Relu, see Relu.ts).
import { Neg } from "@tensorflow/tfjs-core";
import { unaryKernelConfig } from "./Relu.js";

export const negConfig = unaryKernelConfig(Neg, "neg");
