// MobileNetV2 (Sandler et al. 2018, "MobileNetV2: inverted residuals and linear bottlenecks",
// table 2) in the layout of Keras' MobileNetV2 application (3,538,984 parameters at width 1).
// PocketFlow quantizes this net on ImageNet; at width 0.5 on 32×32 the training bench times it.
import type { Graph } from "../graph/ir.js";
import { checkWidthMultiplier, GraphBuilder, resolveNetOptions, type MobileNetOptions } from "./builder.js";

// Keras' batch-norm epsilon for its MobileNet applications.
const EPSILON = 1e-3;

/** (expansion t, channels c, repeats n, first stride s) of table 2. */
const STAGES: Array<[number, number, number, number]> = [
  [1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1],
];

/**
 * Channels rounded to the nearest multiple of `divisor` (at least `divisor`), one step up if that
 * lost more than 10%: the rule of the MobileNetV2 reference code, keeping widths friendly to
 * vectorized kernels.
 */
export function makeDivisible(channels: number, divisor = 8): number {
  const rounded = Math.max(divisor, Math.floor((channels + divisor / 2) / divisor) * divisor);
  return rounded < 0.9 * channels ? rounded + divisor : rounded;
}

/**
 * Inverted residual: 1×1 expand to t·in channels (skipped when t = 1) → 3×3 depthwise (stride s)
 * → 1×1 linear projection: no activation after it, since ReLU on the narrow bottleneck destroys
 * information (section 3.2). The input is added back when the shape is unchanged.
 */
function invertedResidual(net: GraphBuilder, prefix: string, x: string, expansion: number, filters: number, strides: number): string {
  const inChannels = net.channelsOf(x);
  let y = x;
  if (expansion !== 1) y = net.convBatchNorm(`${prefix}_expand`, y, { filters: inChannels * expansion, kernelSize: 1 }, EPSILON, "relu6");
  y = net.batchNormActivation(`${prefix}_dw`, net.depthwiseConv2d(`${prefix}_dw_conv`, y, { kernelSize: 3, strides }), EPSILON, "relu6");
  y = net.convBatchNorm(`${prefix}_project`, y, { filters, kernelSize: 1 }, EPSILON, null);
  return strides === 1 && inChannels === filters ? net.plain("add", `${prefix}_add`, x, y) : y;
}

/**
 * MobileNet-v2 with width multiplier α, as Keras builds it: stem 3×3 stride 2 with
 * makeDivisible(32α) filters, 17 inverted residual blocks with makeDivisible(trunc(c·α))
 * outputs, a last 1×1 conv of 1280 channels (makeDivisible(1280α) only for α > 1: narrow nets
 * keep a wide last layer, section 4), global average pool, dense, softmax. Stride-2 depthwise
 * convs use 'same' padding; Keras pads explicitly (one pixel more at the bottom and right for even
 * sizes, one on each side for odd ones), which is the same padding at every size.
 * At 224×224×3, α = 1, 1000 classes: 3,538,984 parameters (34,112 batch-norm moving statistics,
 * 3,504,872 trainable) and 300,774,272 MACs (the paper's 300M).
 * At 32×32×3, α = 0.5, 10 classes (the training bench's 'mobilenetv2-0.5'): 719,034 parameters
 * (700,490 trainable) and 1,968,960 MACs.
 */
export function mobilenetV2(options: MobileNetOptions = {}): Graph {
  const alpha = checkWidthMultiplier("mobilenetV2", options.widthMultiplier);
  const { inputShape, classes, seed } = resolveNetOptions("mobilenetV2", options, { inputShape: [224, 224, 3], classes: 1000 });
  const net = new GraphBuilder("mobilenetV2", seed);
  let x = net.convBatchNorm("stem", net.input(inputShape), { filters: makeDivisible(32 * alpha), kernelSize: 3, strides: 2 }, EPSILON, "relu6");
  let index = 0;
  for (const [expansion, channels, repeats, firstStride] of STAGES) {
    for (let i = 0; i < repeats; i++) {
      x = invertedResidual(net, `block${index++}`, x, expansion, makeDivisible(Math.trunc(channels * alpha)), i === 0 ? firstStride : 1);
    }
  }
  x = net.convBatchNorm("head", x, { filters: alpha > 1 ? makeDivisible(1280 * alpha) : 1280, kernelSize: 1 }, EPSILON, "relu6");
  x = net.plain("globalAvgPool", "pool", x);
  return net.build(alpha === 1 ? "mobilenet-v2" : `mobilenet-v2-${alpha}`, net.classifier(x, classes));
}
