// Folding batch norms into the layers before them changes no prediction (ResNet-20 with its
// residual adds, MobileNet-v2 with depthwise layers and a multiplier), removes exactly the
// batch norms that follow a layer read by them alone, and keeps masked weights at zero.
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { uncompressed, withMasks, withQuantization } from "../../src/graph/compressed-model.js";
import { foldBatchNorms, foldBatchNormsOf, unfoldableBatchNorms } from "../../src/graph/fold-batch-norm.js";
import type { Graph } from "../../src/graph/ir.js";
import { createNet } from "../../src/nets/zoo.js";
import { maxRelativeError } from "../relative-error.js";
import { predictionsOf, randomizeBatchNorms } from "./shrink-helpers.js";

beforeAll(async () => {
  await tf.setBackend("cpu");
});

const countOps = (graph: Graph, op: string): number => graph.nodes.filter((node) => node.op === op).length;

describe("foldBatchNorms", () => {
  it.each([
    ["resnet20 16x16", () => createNet("resnet20", { inputShape: [16, 16, 3], seed: 3 })],
    ["mobilenet-v2 0.35 16x16", () => createNet("mobilenet-v2", { widthMultiplier: 0.35, inputShape: [16, 16, 3], classes: 4, seed: 5 })],
    ["lenet", () => createNet("lenet", { seed: 7 })],
  ])("%s: same predictions, no batch norm left", (_name, make) => {
    const graph = randomizeBatchNorms(make(), 300);
    const folded = foldBatchNorms(graph);
    expect(countOps(folded, "batchNorm")).toBe(0);
    expect(folded.nodes.length).toBe(graph.nodes.length - countOps(graph, "batchNorm"));
    expect(maxRelativeError(predictionsOf(folded, 11), predictionsOf(graph, 11))).toBeLessThan(1e-4);
  });

  it("leaves a batch norm whose layer has another reader, and says so", () => {
    const graph: Graph = {
      name: "two-readers",
      nodes: [
        { id: "x", op: "input", inputs: [], shape: [4, 4, 2] },
        { id: "conv", op: "conv2d", inputs: ["x"], filters: 2, useBias: false, kernelSize: [1, 1], strides: [1, 1], padding: "same", dilation: [1, 1], weights: { kernel: { shape: [1, 1, 2, 2], values: Float32Array.of(1, 2, 3, 4) } } },
        { id: "bn", op: "batchNorm", inputs: ["conv"], epsilon: 1e-3, weights: { movingMean: { shape: [2], values: Float32Array.of(1, 2) }, movingVariance: { shape: [2], values: Float32Array.of(4, 9) } } },
        { id: "sum", op: "add", inputs: ["bn", "conv"] },
      ],
      outputs: ["sum"],
    };
    expect(unfoldableBatchNorms(graph)).toEqual(["bn"]);
    expect(foldBatchNorms(graph)).toEqual(graph);
  });

  it("keeps masked weights at zero and refuses a quantized model", () => {
    const graph = randomizeBatchNorms(createNet("resnet20", { inputShape: [8, 8, 3], seed: 4 }), 40);
    const conv = graph.nodes.find((node) => node.op === "conv2d" && node.id !== graph.nodes[1].id);
    if (conv?.op !== "conv2d") throw new Error("no conv");
    const kept = Uint8Array.from(conv.weights.kernel.values, (_, i) => i % 3);
    const model = withMasks(uncompressed(graph), [[conv.id, "kernel", { shape: conv.weights.kernel.shape, kept }]]);
    const folded = foldBatchNormsOf(model);
    const values = (folded.graph.nodes.find((node) => node.id === conv.id) as typeof conv).weights.kernel.values;
    expect(values.every((value, i) => (kept[i] === 0 ? value === 0 : true))).toBe(true);
    expect(folded.masks[conv.id].kernel.kept).toEqual(kept);
    const quantized = withQuantization(model, { [conv.id]: { activation: { bits: 8, min: 0, max: 1, symmetric: false } } });
    expect(() => foldBatchNormsOf(quantized)).toThrow(/already quantized.*fold before quantizing/);
  });
});
