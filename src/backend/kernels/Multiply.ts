// Multiply on the SIMD element-wise kernels (broadcasts and dtypes as for Add, see Add.ts).
import { Multiply } from "@tensorflow/tfjs-core";
import { binaryKernelConfig } from "./Add.js";

export const multiplyConfig = binaryKernelConfig(Multiply, "mul");
