// Rsqrt on the SIMD element-wise kernels (dtypes as for Relu, see Relu.ts).
import { Rsqrt } from "@tensorflow/tfjs-core";
import { unaryKernelConfig } from "./Relu.js";

export const rsqrtConfig = unaryKernelConfig(Rsqrt, "rsqrt");
