// SquaredDifference on the SIMD element-wise kernels (broadcasts and dtypes as for Add, see Add.ts).
import { SquaredDifference } from "@tensorflow/tfjs-core";
import { binaryKernelConfig } from "./Add.js";

export const squaredDifferenceConfig = binaryKernelConfig(SquaredDifference, "squaredDifference");
