// CIFAR-style ResNet (He et al. 2016, "Deep residual learning", section 4.2): the nets PocketFlow
// compresses on CIFAR-10 (ResNet-20 by default, ResNet-56 in its tables).
import type { Graph } from "../graph/ir.js";
import { fail } from "../util/check.js";
import { GraphBuilder, resolveNetOptions, type NetOptions } from "./builder.js";

export interface ResNetOptions extends NetOptions {
  /** 6n + 2 layers with weights: n basic blocks per stage. 20, 32, 56, 110 in the paper. */
  depth: number;
  /**
   * Shortcuts that change shape are projections (1×1 conv + batch-norm, the paper's option B).
   * Option A's zero-padded identity has no op in the model IR, so it is not offered.
   */
  shortcut?: "projection";
}

// PyTorch's batch-norm epsilon, so ResNet-20 normalises as the training bench's PyTorch anchor
// (kernels-bench/anchors/train_torch.py) does; the bench trains with momentum 0.9 in Keras'
// sense, which the IR does not carry.
const EPSILON = 1e-5;

/** A basic block: 3×3 conv-bn-relu, 3×3 conv-bn, plus the shortcut, then relu after the add. */
function basicBlock(net: GraphBuilder, prefix: string, x: string, filters: number, strides: number): string {
  let y = net.convBatchNorm(`${prefix}_1`, x, { filters, kernelSize: 3, strides }, EPSILON, "relu");
  y = net.convBatchNorm(`${prefix}_2`, y, { filters, kernelSize: 3 }, EPSILON, null);
  const sameShape = strides === 1 && net.channelsOf(x) === filters;
  const shortcut = sameShape ? x : net.convBatchNorm(`${prefix}_shortcut`, x, { filters, kernelSize: 1, strides }, EPSILON, null);
  return net.plain("relu", `${prefix}_out`, net.plain("add", `${prefix}_add`, y, shortcut));
}

/**
 * ResNet-(6n+2): 3×3·16 conv-bn-relu, three stages of n basic blocks with 16, 32 and 64 filters
 * (stride 2 entering stages 2 and 3), global average pool, dense, softmax. Any input size works
 * ('same' padding throughout).
 * At 32×32×3 and 10 classes (parameters all / trainable, MACs):
 *   ResNet-20  274,042 / 272,474    40,813,184
 *   ResNet-32  469,370 / 466,906    69,124,736
 *   ResNet-56  860,026 / 855,770   125,747,840
 * The paper's option-A nets have 269,722 / 464,154 / 853,018 trainable parameters (0.27M, 0.46M,
 * 0.85M); the two projections add 2,752 of them (and 192 moving statistics) and 262,144 MACs.
 */
export function resnet(options: ResNetOptions): Graph {
  const { depth, shortcut = "projection" } = options;
  if (!Number.isInteger(depth) || depth < 8 || (depth - 2) % 6 !== 0) {
    fail("resnet", `depth must be 6n+2 with n >= 1 (20, 32, 56, 110, ...), but got ${depth}`);
  }
  if (shortcut !== "projection") {
    fail("resnet", `shortcut must be 'projection' (option A's zero-padded identity has no op in the model IR), but got '${String(shortcut)}'`);
  }
  const { inputShape, classes, seed } = resolveNetOptions("resnet", options, { inputShape: [32, 32, 3], classes: 10 });
  const net = new GraphBuilder("resnet", seed);
  let x = net.convBatchNorm("stem", net.input(inputShape), { filters: 16, kernelSize: 3 }, EPSILON, "relu");
  const blocks = (depth - 2) / 6;
  [16, 32, 64].forEach((filters, stage) => {
    for (let block = 0; block < blocks; block++) {
      const strides = stage > 0 && block === 0 ? 2 : 1;
      x = basicBlock(net, `stage${stage + 1}_block${block + 1}`, x, filters, strides);
    }
  });
  x = net.plain("globalAvgPool", "pool", x);
  return net.build(`resnet${depth}`, net.classifier(x, classes));
}
