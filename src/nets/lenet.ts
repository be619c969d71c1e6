// LeNet-5 (LeCun et al. 1998): the zoo's MNIST net, and the LeNet-5 the training bench
// (kernels-bench/train.ts) times against its PyTorch twin.
import type { Graph } from "../graph/ir.js";
import { GraphBuilder, resolveNetOptions, type NetOptions } from "./builder.js";

/**
 * LeNet-5 with today's usual choices: ReLU and max pooling instead of tanh and trainable
 * subsampling, and a 'same' first conv so 28×28 stands in for the paper's 32×32:
 * conv 5×5·6 → pool 2 → conv 5×5·16 (valid) → pool 2 → dense 120 → dense 84 → dense classes →
 * softmax. Convs and dense layers keep their biases (there is no batch-norm).
 * At 28×28×1 and 10 classes: 61,706 parameters, 416,520 MACs.
 * The input must be at least 12×12 (the valid 5×5 conv needs 5×5 after the first pool, and the
 * second pool needs 2×2 after it).
 */
export function lenet(options: NetOptions = {}): Graph {
  const { inputShape, classes, seed } = resolveNetOptions("lenet", options, { inputShape: [28, 28, 1], classes: 10 });
  const net = new GraphBuilder("lenet", seed);
  let x = net.input(inputShape);
  x = net.plain("relu", "conv1_relu", net.conv2d("conv1", x, { filters: 6, kernelSize: 5, padding: "same", useBias: true }));
  x = net.maxPool("pool1", x, 2);
  x = net.plain("relu", "conv2_relu", net.conv2d("conv2", x, { filters: 16, kernelSize: 5, padding: "valid", useBias: true }));
  x = net.maxPool("pool2", x, 2);
  x = net.plain("flatten", "flatten", x);
  x = net.plain("relu", "fc1_relu", net.dense("fc1", x, 120));
  x = net.plain("relu", "fc2_relu", net.dense("fc2", x, 84));
  return net.build("lenet", net.classifier(x, classes));
}
