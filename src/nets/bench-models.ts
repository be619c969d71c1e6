// The three networks the training bench times, built with the tfjs-layers functional API.
// kernels-bench/anchors/train_torch.py builds the same three in PyTorch (same layers, widths,
// strides and parameter counts), so a throughput ratio compares engines, not architectures.
import * as tfl from "@tensorflow/tfjs-layers";

export type BenchModelName = "lenet5" | "resnet20" | "mobilenetv2-0.5";

export interface BenchModel {
  name: BenchModelName;
  /** Name for tables, e.g. "ResNet-20". */
  label: string;
  /** Input image, height × width × channels (NHWC without the batch). */
  inputShape: [number, number, number];
  classes: number;
  build: () => tfl.LayersModel;
}

type Tensor = tfl.SymbolicTensor;
const apply = (layer: { apply: (x: Tensor | Tensor[]) => unknown }, x: Tensor | Tensor[]): Tensor => layer.apply(x) as Tensor;

// BatchNorm settings of PyTorch's defaults (running stats momentum 0.1, eps 1e-5), which the
// anchor uses, so both sides normalise alike.
const batchNorm = (x: Tensor): Tensor => apply(tfl.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-5 }), x);
const relu = (x: Tensor): Tensor => apply(tfl.layers.reLU(), x);
const relu6 = (x: Tensor): Tensor => apply(tfl.layers.reLU({ maxValue: 6 }), x);

function conv(x: Tensor, filters: number, kernelSize: number, strides = 1, useBias = false): Tensor {
  return apply(tfl.layers.conv2d({ filters, kernelSize, strides, padding: "same", useBias }), x);
}

const classifier = (x: Tensor, classes: number): Tensor =>
  apply(tfl.layers.dense({ units: classes, activation: "softmax" }), x);

/**
 * LeNet-5 for 28×28×1 (LeCun et al. 1998) with today's usual choices: ReLU and max pooling
 * instead of tanh and trainable subsampling, and a padded first conv so 28×28 stands in for
 * the paper's 32×32. conv5×5·6 → pool → conv5×5·16 → pool → 120 → 84 → classes; 61.7k parameters.
 */
export function lenet5(classes = 10): tfl.LayersModel {
  const input = tfl.input({ shape: [28, 28, 1] });
  let x = apply(tfl.layers.conv2d({ filters: 6, kernelSize: 5, padding: "same", activation: "relu" }), input);
  x = apply(tfl.layers.maxPooling2d({ poolSize: 2, strides: 2 }), x);
  x = apply(tfl.layers.conv2d({ filters: 16, kernelSize: 5, padding: "valid", activation: "relu" }), x);
  x = apply(tfl.layers.maxPooling2d({ poolSize: 2, strides: 2 }), x);
  x = apply(tfl.layers.flatten(), x);
  x = apply(tfl.layers.dense({ units: 120, activation: "relu" }), x);
  x = apply(tfl.layers.dense({ units: 84, activation: "relu" }), x);
  return tfl.model({ inputs: input, outputs: classifier(x, classes), name: "lenet5" });
}

/** A basic block: two 3×3 conv-BN, plus a shortcut that is a 1×1 conv-BN when the shape changes. */
function basicBlock(x: Tensor, filters: number, strides: number): Tensor {
  const inChannels = x.shape[x.shape.length - 1];
  let y = relu(batchNorm(conv(x, filters, 3, strides)));
  y = batchNorm(conv(y, filters, 3));
  const shortcut = strides === 1 && inChannels === filters ? x : batchNorm(conv(x, filters, 1, strides));
  return relu(apply(tfl.layers.add(), [y, shortcut]));
}

/**
 * ResNet-20 for 32×32×3 (He et al. 2016, section 4.2): a 3×3·16 stem, then 3 stages of 3 basic
 * blocks with 16, 32 and 64 channels (stride 2 entering stages 2 and 3), global average pool,
 * classifier. Shortcuts that change shape are projections (1×1 conv + BN, the paper's option B)
 * rather than option A's zero padding: one more small conv per stage, 0.27M parameters.
 */
export function resnet20(classes = 10): tfl.LayersModel {
  const input = tfl.input({ shape: [32, 32, 3] });
  let x = relu(batchNorm(conv(input, 16, 3)));
  for (const [filters, firstStride] of [[16, 1], [32, 2], [64, 2]]) {
    for (let block = 0; block < 3; block++) x = basicBlock(x, filters, block === 0 ? firstStride : 1);
  }
  x = apply(tfl.layers.globalAveragePooling2d({}), x);
  return tfl.model({ inputs: input, outputs: classifier(x, classes), name: "resnet20" });
}

/** Channels rounded to a multiple of 8, never below 90% of the request (MobileNet-v2's rule). */
export function makeDivisible(channels: number, divisor = 8): number {
  const rounded = Math.max(divisor, Math.floor((channels + divisor / 2) / divisor) * divisor);
  return rounded < 0.9 * channels ? rounded + divisor : rounded;
}

/** Inverted residual: 1×1 expand (skipped when t = 1) → 3×3 depthwise → 1×1 linear project. */
function invertedResidual(x: Tensor, expansion: number, outChannels: number, strides: number): Tensor {
  const inChannels = x.shape[x.shape.length - 1] as number;
  let y = x;
  if (expansion !== 1) y = relu6(batchNorm(conv(y, inChannels * expansion, 1)));
  y = relu6(batchNorm(apply(tfl.layers.depthwiseConv2d({ kernelSize: 3, strides, padding: "same", useBias: false }), y)));
  y = batchNorm(conv(y, outChannels, 1));
  return strides === 1 && inChannels === outChannels ? apply(tfl.layers.add(), [x, y]) : y;
}

/** (expansion t, channels c, repeats n, first stride s) of MobileNet-v2 (Sandler et al. 2018, table 2). */
const MOBILENET_V2_STAGES: Array<[number, number, number, number]> = [
  [1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1],
];

/**
 * MobileNet-v2 with width multiplier `alpha` as Keras's MobileNetV2 builds it: stem and block
 * widths makeDivisible(c·alpha), the last 1×1 conv kept at 1280 for alpha ≤ 1, no dropout, and
 * the ImageNet strides unchanged, so a 32×32 input ends at 1×1 (total stride 32).
 * At alpha 0.5 and 10 classes: 0.70M trainable parameters.
 */
export function mobileNetV2(alpha = 0.5, inputShape: [number, number, number] = [32, 32, 3], classes = 10): tfl.LayersModel {
  const input = tfl.input({ shape: inputShape });
  let x = relu6(batchNorm(conv(input, makeDivisible(32 * alpha), 3, 2)));
  for (const [t, c, n, s] of MOBILENET_V2_STAGES) {
    for (let i = 0; i < n; i++) x = invertedResidual(x, t, makeDivisible(c * alpha), i === 0 ? s : 1);
  }
  x = relu6(batchNorm(conv(x, alpha > 1 ? makeDivisible(1280 * alpha) : 1280, 1)));
  x = apply(tfl.layers.globalAveragePooling2d({}), x);
  return tfl.model({ inputs: input, outputs: classifier(x, classes), name: `mobilenetv2_${alpha}` });
}

export const BENCH_MODELS: Record<BenchModelName, BenchModel> = {
  lenet5: { name: "lenet5", label: "LeNet-5", inputShape: [28, 28, 1], classes: 10, build: () => lenet5() },
  resnet20: { name: "resnet20", label: "ResNet-20", inputShape: [32, 32, 3], classes: 10, build: () => resnet20() },
  "mobilenetv2-0.5": { name: "mobilenetv2-0.5", label: "MobileNet-v2 0.5", inputShape: [32, 32, 3], classes: 10, build: () => mobileNetV2(0.5) },
};

/** Trainable parameters (BatchNorm's moving statistics excluded, as PyTorch counts). */
export function trainableParameters(model: tfl.LayersModel): number {
  return model.trainableWeights.reduce((sum, w) => sum + w.shape.reduce((p: number, d) => p * (d ?? 1), 1), 0);
}
