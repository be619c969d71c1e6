// RealDiv on the SIMD element-wise kernels (broadcasts and dtypes as for Add, see Add.ts).
import { RealDiv } from "@tensorflow/tfjs-core";
import { binaryKernelConfig } from "./Add.js";

export const realDivConfig = binaryKernelConfig(RealDiv, "div");
