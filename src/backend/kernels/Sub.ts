// Sub on the SIMD element-wise kernels (broadcasts and dtypes as for Add, see Add.ts).
import { Sub } from "@tensorflow/tfjs-core";
import { binaryKernelConfig } from "./Add.js";

export const subConfig = binaryKernelConfig(Sub, "sub");
