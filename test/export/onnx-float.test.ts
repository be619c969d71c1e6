// The float ONNX export run in onnxruntime-node against our tfjs path on the same NHWC batch:
// every IR op (one graph holds them all), concatenations, the zoo nets with random weights, a
// channel-pruned ResNet-20 and the shipped trained ResNet-20, each within 1e-4 relative.
import * as tf from "@tensorflow/tfjs-core";
import { onnx } from "onnx-proto";
import { beforeAll, describe, expect, it } from "vitest";
import { uncompressed } from "../../src/graph/compressed-model.js";
import type { Graph } from "../../src/graph/ir.js";
import { shrinkChannels } from "../../src/graph/shrink.js";
import { ExportError } from "../../src/export/onnx-builder.js";
import { exportOnnx } from "../../src/export/onnx.js";
import { loadCompressedModel } from "../../src/io/compressed-model-dir.js";
import { createNet } from "../../src/nets/zoo.js";
import { batchNorm, conv, dense, everyOpGraph, inceptionLike, input, plain } from "../graph/test-graphs.js";
import { keepFractionEverywhere, randomizeBatchNorms } from "../graph/shrink-helpers.js";
import { maxRelativeError } from "../relative-error.js";
import { runOnnx, seededBatch, tfjsOutputs } from "./onnx-run.js";

beforeAll(async () => {
  await tf.setBackend("cpu");
});

/** Exports the graph, runs both paths on a seeded batch, returns the worst relative error over the outputs. */
async function worstError(graph: Graph, batch = 2): Promise<number> {
  const x = seededBatch(graph, batch, 7);
  const inputName = graph.nodes[0].id;
  const onnxOut = await runOnnx(exportOnnx(uncompressed(graph)), inputName, x);
  const expected = tfjsOutputs(graph, x);
  return Math.max(...graph.outputs.map((id, i) => maxRelativeError(onnxOut[id], expected[i])));
}

describe("exportOnnx (float) in onnxruntime vs tfjs", () => {
  it("every IR op (pad, conv valid+bias, bn without gamma/beta, relu, depthwise ×2, relu6, max/avg pool, add, dilation, flatten, dropout, dense, softmax, gap), two outputs", async () => {
    expect(await worstError(everyOpGraph())).toBeLessThan(1e-4);
  });

  it("concatenations (inception-like branches, densenet-like growth)", async () => {
    expect(await worstError(inceptionLike())).toBeLessThan(1e-4);
  });

  it("'same' windows with odd totals: conv stride 2 on 7×7 and max pool 3 s2 (asymmetric pads)", async () => {
    const graph: Graph = {
      name: "odd_same",
      nodes: [
        input("x", [7, 7, 3]), conv("c", "x", 4, 3, 5, { strides: 2, useBias: true }),
        { op: "maxPool", id: "mp", inputs: ["c"], poolSize: [3, 3], strides: [2, 2], padding: "same" },
        { op: "avgPool", id: "ap", inputs: ["c"], poolSize: [3, 3], strides: [2, 2], padding: "same" },
      ],
      outputs: ["mp", "ap"],
    };
    expect(await worstError(graph)).toBeLessThan(1e-4);
  });

  it.each([
    ["lenet", {}],
    ["resnet20", {}],
    ["mobilenet-v2", { widthMultiplier: 0.5 }],
  ] as const)("zoo net %s with random weights", async (name, options) => {
    const graph = randomizeBatchNorms(createNet(name, { seed: 5, ...options }), 11);
    expect(await worstError(graph)).toBeLessThan(1e-4);
  });

  it("a channel-pruned ResNet-20 (half the channels of every group removed)", async () => {
    const graph = randomizeBatchNorms(createNet("resnet20", { seed: 6, classes: 10 }), 3);
    const pruned = shrinkChannels(graph, keepFractionEverywhere(graph, 0.5));
    expect(await worstError(pruned)).toBeLessThan(1e-4);
  });

  it("the shipped trained ResNet-20 on Fashion-MNIST", async () => {
    const { model } = await loadCompressedModel("models/resnet20-fashion-mnist");
    expect(await worstError(model.graph, 4)).toBeLessThan(1e-4);
  });
});

describe("exportOnnx: the model file", () => {
  it("is opset 13 with one NHWC input (batch symbolic), a Transpose first and the IR's outputs by id", () => {
    const decoded = onnx.ModelProto.decode(exportOnnx(uncompressed(everyOpGraph())));
    expect(decoded.opsetImport.map((o) => [o.domain, Number(o.version)])).toEqual([["", 13]]);
    const graph = decoded.graph as onnx.GraphProto;
    expect(graph.input.map((v) => v.name)).toEqual(["image"]);
    const dims = graph.input[0].type?.tensorType?.shape?.dim ?? [];
    expect(dims.map((d) => d.dimParam || Number(d.dimValue))).toEqual(["N", 9, 9, 2]);
    expect(graph.node[0].opType).toBe("Transpose");
    expect(graph.output.map((v) => v.name)).toEqual(["probs", "gap"]);
    expect(graph.node.some((n) => n.opType === "Dropout")).toBe(false);
  });

  it("a dense layer on a feature map is an error naming the layer and the format", () => {
    const graph: Graph = { name: "bad", nodes: [input("x", [4, 4, 2]), conv("c", "x", 3, 2, 3), { ...dense("fc", "c", 3, 2) }], outputs: ["fc"] };
    expect(() => exportOnnx(uncompressed(graph))).toThrow(ExportError);
    expect(() => exportOnnx(uncompressed(graph))).toThrow(/export to onnx: dense 'fc'.*flat inputs only/);
  });

  it("keeps flat-input models flat (no transpose)", async () => {
    const graph: Graph = { name: "mlp", nodes: [input("v", [6]), dense("fc", "v", 6, 4), batchNorm("bn", "fc", 4), plain("relu", "r", "bn"), dense("out", "r", 4, 3), plain("softmax", "p", "out")], outputs: ["p"] };
    expect(await worstError(graph)).toBeLessThan(1e-4);
  });
});
