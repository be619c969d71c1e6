// Square on the SIMD element-wise kernels (dtypes as for Relu, see Relu.ts).
import { Square } from "@tensorflow/tfjs-core";
import { unaryKernelConfig } from "./Relu.js";

export const squareConfig = unaryKernelConfig(Square, "square");
