// Importing tfjs models: the zoo's LeNet-5 and ResNet-20 built in tfjs come back with their
// standard MACs and parameter counts, fused activations become their own nodes, and the
// weights equal the tfjs model's.
import "@tensorflow/tfjs-backend-cpu";
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { beforeAll, describe, expect, it } from "vitest";
import { graphFromTfjs } from "../../src/tfjs/graph-from-tfjs.js";
import { buildTfjsModel } from "../../src/tfjs/tfjs-from-graph.js";
import { graphCost } from "../../src/graph/cost.js";
import { weightsOf } from "../../src/graph/ir.js";
import { createNet } from "../../src/nets/zoo.js";

beforeAll(async () => {
  await tf.setBackend("cpu");
});

/** Trainable parameters of a tfjs model: its trainable weights (batch-norm moving statistics excluded). */
const trainableParameters = (model: tfl.LayersModel): number =>
  model.trainableWeights.reduce((sum, w) => sum + w.shape.reduce((p: number, d) => p * (d ?? 1), 1), 0);

describe("graphFromTfjs", () => {
  it("LeNet-5 28×28×1 built in tfjs: 61,706 params, 416,520 MACs", () => {
    const model = buildTfjsModel(createNet("lenet"));
    const graph = graphFromTfjs(model);
    const cost = graphCost(graph);
    // conv 28·28·25·1·6 + conv 10·10·25·6·16 + dense 400·120 + 120·84 + 84·10
    expect(cost.macs).toBe(117_600 + 240_000 + 48_000 + 10_080 + 840);
    expect(cost.params).toBe(61_706);
    expect(cost.trainableParams).toBe(61_706);
    expect(cost.params).toBe(model.countParams());
    expect(graph.nodes.map((node) => node.op)).toEqual([
      "input", "conv2d", "relu", "maxPool", "conv2d", "relu", "maxPool", "flatten", "dense", "relu", "dense", "relu", "dense", "softmax",
    ]);
    expect(cost.nodes.at(-1)?.outputShape).toEqual([10]);
    model.dispose();
  });

  it("fused activations (conv relu, dense relu, dense softmax) become their own nodes '<layer>/<activation>'", () => {
    const input = tfl.input({ shape: [6, 6, 1], name: "image" });
    let x = tfl.layers.conv2d({ filters: 2, kernelSize: 3, activation: "relu", name: "conv" }).apply(input) as tfl.SymbolicTensor;
    x = tfl.layers.flatten({ name: "flat" }).apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.dense({ units: 4, activation: "relu", name: "fc1" }).apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.dense({ units: 3, activation: "softmax", name: "fc2" }).apply(x) as tfl.SymbolicTensor;
    const model = tfl.model({ inputs: input, outputs: x, name: "fused" });
    const graph = graphFromTfjs(model);
    expect(graph.nodes.map((node) => [node.op, node.id, node.inputs])).toEqual([
      ["input", "image", []], ["conv2d", "conv", ["image"]], ["relu", "conv/relu", ["conv"]], ["flatten", "flat", ["conv/relu"]],
      ["dense", "fc1", ["flat"]], ["relu", "fc1/relu", ["fc1"]], ["dense", "fc2", ["fc1/relu"]], ["softmax", "fc2/softmax", ["fc2"]],
    ]);
    // The output is the softmax split off the last dense.
    expect(graph.outputs).toEqual(["fc2/softmax"]);
    expect(graphCost(graph).params).toBe(model.countParams());
    model.dispose();
  });

  it("ResNet-20 32×32×3 built in tfjs: 272,474 trainable params, 40.8M MACs", () => {
    const model = buildTfjsModel(createNet("resnet20"));
    const cost = graphCost(graphFromTfjs(model));
    // The IR's trainable count (BN moving statistics excluded) against tfjs's trainable weights,
    // and its total (4 per BN channel) against tfjs's countParams over all weights.
    expect(cost.trainableParams).toBe(272_474);
    expect(cost.trainableParams).toBe(trainableParameters(model));
    expect(cost.params).toBe(model.countParams());
    // stem 32·32·27·16; stage 1: 6 × 32·32·9·16·16; stages 2 and 3: a strided 3×3, five 3×3 and a
    // 1×1 projection each; classifier 64·10.
    const stage = (size: number, inChannels: number, channels: number): number =>
      size * size * 9 * inChannels * channels + 5 * size * size * 9 * channels * channels + size * size * inChannels * channels;
    const expected = 32 * 32 * 27 * 16 + 6 * 32 * 32 * 9 * 16 * 16 + stage(16, 16, 32) + stage(8, 32, 64) + 640;
    expect(expected).toBe(40_813_184);
    expect(cost.macs).toBe(expected);
    expect(cost.nodes.find((node) => node.op === "globalAvgPool")?.outputShape).toEqual([64]);
    model.dispose();
  });

  it("weights in the IR equal the tfjs model's, layer by layer", () => {
    const model = buildTfjsModel(createNet("resnet20"));
    const graph = graphFromTfjs(model);
    const irWeights = graph.nodes.flatMap((node) => weightsOf(node).map(([, weight]) => weight));
    const tfjsWeights = model.layers.flatMap((layer) => layer.weights);
    expect(irWeights.length).toBe(tfjsWeights.length);
    irWeights.forEach((weight, i) => {
      expect(weight.shape).toEqual(tfjsWeights[i].shape);
      const expected = tfjsWeights[i].read().dataSync();
      const firstDifference = weight.values.findIndex((value, j) => value !== expected[j]);
      expect(weight.values.length, `weight ${i}`).toBe(expected.length);
      expect(firstDifference, `weight ${i}`).toBe(-1);
    });
    // A copy, not a view: changing the IR leaves the model alone.
    irWeights[0].values[0] += 1;
    expect(tfjsWeights[0].read().dataSync()[0]).not.toBe(irWeights[0].values[0]);
    model.dispose();
  });

  it("imports depthwise, dropout, average pooling, zero padding and Activation layers", () => {
    const input = tfl.input({ shape: [9, 9, 2] });
    let x = tfl.layers.zeroPadding2d({ padding: [[1, 0], [0, 1]] }).apply(input) as tfl.SymbolicTensor;
    x = tfl.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, strides: 2, padding: "valid", activation: "relu6" }).apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.averagePooling2d({ poolSize: 2, padding: "same" }).apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.activation({ activation: "linear" }).apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.flatten().apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.dropout({ rate: 0.25 }).apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.dense({ units: 3 }).apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.activation({ activation: "softmax" }).apply(x) as tfl.SymbolicTensor;
    const model = tfl.model({ inputs: input, outputs: x, name: "mixed" });
    const graph = graphFromTfjs(model);
    const cost = graphCost(graph);
    expect(cost.nodes.map((node) => [node.op, node.outputShape])).toEqual([
      ["input", [9, 9, 2]], ["zeroPad2d", [10, 10, 2]], ["depthwiseConv2d", [4, 4, 4]], ["relu6", [4, 4, 4]],
      ["avgPool", [2, 2, 4]], ["flatten", [16]], ["dropout", [16]], ["dense", [3]], ["softmax", [3]],
    ]);
    // Shapes agree with tfjs's own, and so do the parameter counts.
    expect(model.outputs[0].shape).toEqual([null, 3]);
    expect(cost.params).toBe(model.countParams());
    // depthwise: 4·4 · 3·3 · 2 · 2 = 576; dense 16·3 = 48.
    expect(cost.macs).toBe(576 + 48);
    expect(graph.outputs).toEqual([graph.nodes.at(-1)?.id]);
  });

  it("error: an unsupported layer names the layer, its class and what is supported", () => {
    const input = tfl.input({ shape: [4] });
    const output = tfl.layers.leakyReLU({ name: "leaky" }).apply(input) as tfl.SymbolicTensor;
    expect(() => graphFromTfjs(tfl.model({ inputs: input, outputs: output }))).toThrow(
      /graphFromTfjs: layer 'leaky' \(LeakyReLU\) is not supported by the model IR; supported layers: InputLayer, Conv2D, .*ZeroPadding2D/,
    );
  });

  it("error: an unsupported activation names it", () => {
    const input = tfl.input({ shape: [4] });
    const output = tfl.layers.dense({ units: 2, activation: "tanh", name: "fc" }).apply(input) as tfl.SymbolicTensor;
    expect(() => graphFromTfjs(tfl.model({ inputs: input, outputs: output }))).toThrow(
      "graphFromTfjs: layer 'fc' (Dense) has activation 'tanh'; supported: linear, relu, relu6, softmax",
    );
  });
});
