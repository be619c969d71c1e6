// Minimum on the SIMD element-wise kernels (broadcasts and dtypes as for Add, see Add.ts).
import { Minimum } from "@tensorflow/tfjs-core";
import { binaryKernelConfig } from "./Add.js";

export const minimumConfig = binaryKernelConfig(Minimum, "min");
