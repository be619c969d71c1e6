// The ConvNet of PocketFlow's self-defined-model tutorial (its Fashion-MNIST example,
// nets/convnet_at_fmnist.py there), so the example users of PocketFlow know runs here unchanged.
import type { Graph } from "../graph/ir.js";
import { GraphBuilder, resolveNetOptions, type NetOptions } from "./builder.js";

/**
 * conv 5×5·32 (same) → ReLU → max pool 2 → conv 5×5·64 (same) → ReLU → max pool 2 → flatten →
 * dense 1024 → ReLU → dense classes → softmax; biases everywhere, no batch-norm and no dropout,
 * as PocketFlow's tutorial builds it (the two-conv net of TensorFlow's MNIST tutorial).
 * At 28×28×1 and 10 classes: 3,274,634 parameters, 13,883,904 MACs. The parameters sit in the
 * first dense layer (3.2M of them), the MACs in the second conv (10.0M): a net where channel
 * pruning cuts compute and weight sparsity cuts size.
 */
export function convnet(options: NetOptions = {}): Graph {
  const { inputShape, classes, seed } = resolveNetOptions("convnet", options, { inputShape: [28, 28, 1], classes: 10 });
  const net = new GraphBuilder("convnet", seed);
  let x = net.input(inputShape);
  x = net.plain("relu", "conv1_relu", net.conv2d("conv1", x, { filters: 32, kernelSize: 5, useBias: true }));
  x = net.maxPool("pool1", x, 2);
  x = net.plain("relu", "conv2_relu", net.conv2d("conv2", x, { filters: 64, kernelSize: 5, useBias: true }));
  x = net.maxPool("pool2", x, 2);
  x = net.plain("flatten", "flatten", x);
  x = net.plain("relu", "fc3_relu", net.dense("fc3", x, 1024));
  return net.build("convnet", net.classifier(x, classes));
}
