// Sqrt on the SIMD element-wise kernels (dtypes as for Relu, see Relu.ts).
import { Sqrt } from "@tensorflow/tfjs-core";
import { unaryKernelConfig } from "./Relu.js";

export const sqrtConfig = unaryKernelConfig(Sqrt, "sqrt");
