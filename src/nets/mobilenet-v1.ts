// MobileNet (Howard et al. 2017, "MobileNets", table 1) in the layout of Keras' MobileNet
// application, whose parameter count (4,253,864 at width 1) is the reference users compare with.
// PocketFlow's ImageNet channel-pruning and weight-sparsity results are on this net.
import type { Graph } from "../graph/ir.js";
import { checkWidthMultiplier, GraphBuilder, resolveNetOptions, type MobileNetOptions } from "./builder.js";

// Keras' batch-norm epsilon for its MobileNet applications.
const EPSILON = 1e-3;
// Keras puts a 0.001 dropout before the classifier; kept, so a trained net is the same net.
const DROPOUT_RATE = 1e-3;

/** (pointwise filters, depthwise stride) of the 13 depthwise-separable blocks (table 1). */
const BLOCKS: Array<[number, number]> = [
  [64, 1], [128, 2], [128, 1], [256, 2], [256, 1], [512, 2],
  [512, 1], [512, 1], [512, 1], [512, 1], [512, 1], [1024, 2], [1024, 1],
];

/** 3×3 depthwise-bn-relu6, then 1×1 pointwise-bn-relu6: ids 'block<i>_dw_*' and 'block<i>_pw_*'. */
function separableBlock(net: GraphBuilder, index: number, x: string, filters: number, strides: number): string {
  const depthwise = net.depthwiseConv2d(`block${index}_dw_conv`, x, { kernelSize: 3, strides });
  const y = net.batchNormActivation(`block${index}_dw`, depthwise, EPSILON, "relu6");
  return net.convBatchNorm(`block${index}_pw`, y, { filters, kernelSize: 1 }, EPSILON, "relu6");
}

/**
 * MobileNet-v1 with width multiplier α: a 3×3·32 stride-2 conv, 13 depthwise-separable blocks,
 * global average pool, dropout 0.001, dense, softmax. Channels are trunc(c·α), as Keras has them;
 * activations are ReLU6, as Keras has them (the paper says ReLU). Two documented differences from
 * Keras: the classifier is a dense layer where Keras has a 1×1 conv on the pooled 1×1 map (same
 * weights, same count), and stride-2 depthwise convs use 'same' padding, as the paper's
 * TensorFlow reference does, where Keras pads bottom and right by one and then uses 'valid':
 * identical for even sizes (every stage at 128 to 224, and at 32), one pixel larger for odd ones
 * (the 7×7 map of a 112×112 input becomes 4×4, not 3×3).
 * At 224×224×3, α = 1, 1000 classes: 4,253,864 parameters (21,888 of them batch-norm moving
 * statistics, 4,231,976 trainable) and 568,740,352 MACs (the paper's 569M).
 */
export function mobilenetV1(options: MobileNetOptions = {}): Graph {
  const alpha = checkWidthMultiplier("mobilenetV1", options.widthMultiplier, 1 / 32);
  const { inputShape, classes, seed } = resolveNetOptions("mobilenetV1", options, { inputShape: [224, 224, 3], classes: 1000 });
  const width = (channels: number): number => Math.trunc(channels * alpha);
  const net = new GraphBuilder("mobilenetV1", seed);
  let x = net.convBatchNorm("stem", net.input(inputShape), { filters: width(32), kernelSize: 3, strides: 2 }, EPSILON, "relu6");
  BLOCKS.forEach(([filters, strides], i) => {
    x = separableBlock(net, i + 1, x, width(filters), strides);
  });
  x = net.dropout("dropout", net.plain("globalAvgPool", "pool", x), DROPOUT_RATE);
  return net.build(alpha === 1 ? "mobilenet-v1" : `mobilenet-v1-${alpha}`, net.classifier(x, classes));
}
