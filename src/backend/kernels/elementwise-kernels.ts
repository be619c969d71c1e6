// Element-wise and reduction kernels of the pocketflow backend (one file each, named as the tfjs kernel).
import type { KernelConfig } from "@tensorflow/tfjs-core";
import { absConfig } from "./Abs.js";
import { addConfig } from "./Add.js";
import { maximumConfig } from "./Maximum.js";
import { meanConfig } from "./Mean.js";
import { minimumConfig } from "./Minimum.js";
import { multiplyConfig } from "./Multiply.js";
import { negConfig } from "./Neg.js";
import { realDivConfig } from "./RealDiv.js";
import { reluConfig } from "./Relu.js";
import { relu6Config } from "./Relu6.js";
import { rsqrtConfig } from "./Rsqrt.js";
import { softmaxConfig } from "./Softmax.js";
import { sqrtConfig } from "./Sqrt.js";
import { squareConfig } from "./Square.js";
import { squaredDifferenceConfig } from "./SquaredDifference.js";
import { stepConfig } from "./Step.js";
import { subConfig } from "./Sub.js";
import { sumConfig } from "./Sum.js";
import { tileConfig } from "./Tile.js";

export const ELEMENTWISE_KERNELS: KernelConfig[] = [
  addConfig, subConfig, multiplyConfig, realDivConfig, maximumConfig, minimumConfig, squaredDifferenceConfig,
  reluConfig, relu6Config, negConfig, squareConfig, sqrtConfig, rsqrtConfig, absConfig, stepConfig,
  sumConfig, meanConfig, tileConfig, softmaxConfig,
];
