// Maximum on the SIMD element-wise kernels (broadcasts and dtypes as for Add, see Add.ts).
import { Maximum } from "@tensorflow/tfjs-core";
import { binaryKernelConfig } from "./Add.js";

export const maximumConfig = binaryKernelConfig(Maximum, "max");
