// Shrinking removes pruned channels for real: ResNet-20 with half of every prunable group kept
// costs what the arithmetic says, builds, saves and loads in plain tfjs, and predicts exactly as
// the full model whose consumers ignore the removed channels; likewise through a flatten, a
// depthwise MobileNet-v2 net, and the masks of a compressed model.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uncompressed, withMasks, withQuantization, type CompressedModel, type WeightMask } from "../../src/graph/compressed-model.js";
import { graphCost } from "../../src/graph/cost.js";
import { couplingGroups, isPrunable, type CouplingGroup } from "../../src/graph/coupling.js";
import { weightsOf, type Graph, type GraphNode, type Weight } from "../../src/graph/ir.js";
import { inferShapes } from "../../src/graph/shapes.js";
import { shrinkChannels, shrinkCompressedModel } from "../../src/graph/shrink.js";
import { loadModel, saveModel } from "../../src/io/model-dir.js";
import { registerFileIO } from "../../src/io/register-file-io.js";
import { createNet } from "../../src/nets/zoo.js";
import { buildTfjsModel } from "../../src/tfjs/tfjs-from-graph.js";
import { batchNorm, conv, dense, input, plain } from "./test-graphs.js";
import { blindConsumers, gatherAlong, keepFractionEverywhere, maxDifference, predictionsOf, randomizeBatchNorms } from "./shrink-helpers.js";

let dir: string;
beforeAll(async () => {
  await tf.setBackend("cpu");
  registerFileIO();
  dir = await mkdtemp(join(tmpdir(), "pf-shrink-"));
});
afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

const nodeOf = (graph: Graph, id: string): GraphNode => graph.nodes.find((node) => node.id === id) as GraphNode;
const weightOf = (graph: Graph, id: string, name: string): Weight => (weightsOf(nodeOf(graph, id)).find(([n]) => n === name) as [string, Weight])[1];

/** ResNet-20 at 16×16 (a quarter of the work of 32×32, the same groups) with seeded batch-norm statistics. */
const resnet20 = (): Graph => randomizeBatchNorms(createNet("resnet20", { inputShape: [16, 16, 3], seed: 3 }), 500);

/** image 4×4×2 → conv 3×3·6 +bias → bn → relu → maxpool 2 → flatten (2·2·6) → fc1·8 → relu → fc2·3 → softmax. */
function convFlattenDense(): Graph {
  return randomizeBatchNorms({
    name: "flat",
    nodes: [
      input("image", [4, 4, 2]), conv("conv", "image", 3, 2, 6, { useBias: true }), batchNorm("bn", "conv", 6), plain("relu", "relu", "bn"),
      { op: "maxPool", id: "pool", inputs: ["relu"], poolSize: [2, 2], strides: [2, 2], padding: "valid" }, plain("flatten", "flat", "pool"),
      dense("fc1", "flat", 24, 8), plain("relu", "fc1/relu", "fc1"), dense("fc2", "fc1/relu", 8, 3), plain("softmax", "probs", "fc2"),
    ],
    outputs: ["probs"],
  }, 40);
}

function expectSameAsBlinded(graph: Graph, choices: Array<{ group: CouplingGroup; keep: number[] }>, seed: number): Graph {
  const shrunk = shrinkChannels(graph, choices);
  const expected = predictionsOf(blindConsumers(graph, choices), seed);
  expect(maxDifference(predictionsOf(shrunk, seed), expected)).toBeLessThan(1e-5);
  // The removed channels mattered: without blinding, the full model predicts otherwise.
  expect(maxDifference(predictionsOf(graph, seed), expected)).toBeGreaterThan(1e-4);
  return shrunk;
}

describe("shrinkChannels on ResNet-20 16×16, half of every prunable group kept", () => {
  const graph = resnet20();
  const before = structuredClone(graph);
  const choices = keepFractionEverywhere(graph, 0.5);
  const shrunk = shrinkChannels(graph, choices);

  it("chooses 12 groups (3 stage groups joined by the adds, 9 inner block convs; image and logits are pinned); the input graph stays untouched", () => {
    expect(choices).toHaveLength(12);
    expect(couplingGroups(graph).length - choices.length).toBe(2);
    expect(graph).toEqual(before);
  });

  it("MACs and params drop as the arithmetic says: inner convs ×1/4, the stem and fc ×1/2, batch norms ×1/2, fc bias whole", () => {
    const cost = graphCost(graph);
    let macs = 0;
    let params = 0;
    for (const node of cost.nodes) {
      const original = nodeOf(graph, node.id);
      if (original.op === "conv2d") {
        const factor = original.weights.kernel.shape[2] === 3 ? 0.5 : 0.25; // the stem reads the 3 pinned image channels
        macs += node.macs * factor;
        params += node.params * factor;
      } else if (original.op === "dense") {
        macs += node.macs / 2;
        params += original.weights.kernel.values.length / 2 + (original.weights.bias?.values.length ?? 0);
      } else params += node.params / 2;
    }
    expect(graphCost(shrunk).macs).toBe(macs);
    expect(graphCost(shrunk).params).toBe(params);
    expect(graphCost(shrunk).macs).toBeLessThan(cost.macs * 0.26);
  });

  it("shapes infer: every stage's feature maps have half the channels", () => {
    const shapes = inferShapes(shrunk);
    expect(shapes.get("stage1_block1_out")).toEqual([16, 16, 8]);
    expect(shapes.get("stage2_block1_out")).toEqual([8, 8, 16]);
    expect(shapes.get("stage3_block3_out")).toEqual([4, 4, 32]);
    expect(shapes.get("probabilities")).toEqual([10]);
  });

  it("a residual group: every producer (block convs and the projection shortcut) and the adds keep exactly the chosen channels", () => {
    const { group, keep } = choices.find((choice) => choice.group.producers.includes("stage2_block1_shortcut_conv")) as (typeof choices)[number];
    expect(group.producers).toEqual(["stage2_block1_2_conv", "stage2_block1_shortcut_conv", "stage2_block2_2_conv", "stage2_block3_2_conv"]);
    expect(group.passThrough.map((member) => member.id)).toEqual(expect.arrayContaining(["stage2_block1_add", "stage2_block2_add", "stage2_block3_add"]));
    expect(inferShapes(shrunk).get("stage2_block2_add")).toEqual([8, 8, keep.length]);
    // A conv of the group is also a consumer of its input's group: its kernel keeps both sides' channels.
    const inputKeep = (id: string): number[] => (choices.find((choice) => choice.group.consumers.some((member) => member.id === id)) as (typeof choices)[number]).keep;
    const keptKernel = (id: string, outputKeep: number[]): number[] => {
      const [kh, kw, , filters] = weightOf(graph, id, "kernel").shape;
      const inputCut = { shape: [kh, kw, inputKeep(id).length, filters], values: gatherAlong(weightOf(graph, id, "kernel"), 2, inputKeep(id)) };
      return gatherAlong(inputCut, 3, outputKeep);
    };
    for (const id of group.producers) {
      expect(Array.from(weightOf(shrunk, id, "kernel").values)).toEqual(keptKernel(id, keep));
      expect((nodeOf(shrunk, id) as Extract<GraphNode, { op: "conv2d" }>).filters).toBe(keep.length);
    }
    expect(Array.from(weightOf(shrunk, "stage2_block1_shortcut_bn", "movingMean").values)).toEqual(gatherAlong(weightOf(graph, "stage2_block1_shortcut_bn", "movingMean"), 0, keep));
    // A consumer of the group: its input channels are the group's kept ones.
    expect(inputKeep("stage2_block2_1_conv")).toBe(keep);
    const consumerKeep = (choices.find((choice) => choice.group.producers.includes("stage2_block2_1_conv")) as (typeof choices)[number]).keep;
    expect(Array.from(weightOf(shrunk, "stage2_block2_1_conv", "kernel").values)).toEqual(keptKernel("stage2_block2_1_conv", consumerKeep));
  });

  it("predicts as the full model whose consumers ignore the removed channels (max difference < 1e-5)", () => {
    expectSameAsBlinded(graph, choices, 7);
  });

  it("builds in tfjs, saves, and loads back with loadModel and with plain tf.loadLayersModel, predicting the same", async () => {
    const model = buildTfjsModel(shrunk);
    expect(model.countParams()).toBe(graphCost(shrunk).params);
    await saveModel(dir, shrunk);
    expect((await loadModel(dir)).graph).toEqual(shrunk);
    const plainModel = await tf.loadLayersModel(`file://${dir}/model.json`);
    expect(predictionsOf(shrunk, 8, plainModel)).toEqual(predictionsOf(shrunk, 8, model));
  });
});

describe("shrinkChannels through a flatten, a depthwise net", () => {
  it("conv → flatten → dense: fc1 keeps the rows p·6 + c of the kept channels c at all 4 positions", () => {
    const graph = convFlattenDense();
    const groups = couplingGroups(graph).filter(isPrunable);
    expect(groups.map((group) => group.producers)).toEqual([["conv"], ["fc1"]]);
    const choices = [{ group: groups[0], keep: [0, 2, 5] }, { group: groups[1], keep: [1, 2, 3, 6] }];
    const shrunk = expectSameAsBlinded(graph, choices, 11);
    const rows = [0, 1, 2, 3].flatMap((position) => [0, 2, 5].map((c) => position * 6 + c));
    const fc1 = weightOf(shrunk, "fc1", "kernel");
    expect(fc1.shape).toEqual([12, 4]);
    expect(Array.from(fc1.values)).toEqual(gatherAlong({ shape: [12, 8], values: gatherAlong(weightOf(graph, "fc1", "kernel"), 0, rows) }, 1, [1, 2, 3, 6]));
    expect(Array.from(weightOf(shrunk, "conv", "bias").values)).toEqual(gatherAlong(weightOf(graph, "conv", "bias"), 0, [0, 2, 5]));
    expect(weightOf(shrunk, "fc2", "kernel").shape).toEqual([4, 3]);
  });

  it("MobileNet-v2 ×0.35 at 16×16: depthwise convs (multiplier 1) keep the expansion's channels; predictions match", () => {
    const graph = randomizeBatchNorms(createNet("mobilenet-v2", { widthMultiplier: 0.35, inputShape: [16, 16, 3], classes: 4, seed: 5 }), 900);
    const choices = keepFractionEverywhere(graph, 0.5);
    const shrunk = expectSameAsBlinded(graph, choices, 13);
    const expand = choices.find((choice) => choice.group.producers[0] === "block3_expand_conv") as (typeof choices)[number];
    expect(expand.group.passThrough.map((member) => member.id)).toContain("block3_dw_conv");
    const kernel = weightOf(shrunk, "block3_dw_conv", "depthwiseKernel");
    expect(kernel.shape).toEqual([3, 3, expand.keep.length, 1]);
    expect(Array.from(kernel.values)).toEqual(gatherAlong(weightOf(graph, "block3_dw_conv", "depthwiseKernel"), 2, expand.keep));
    expect(graphCost(shrunk).macs).toBeLessThan(graphCost(graph).macs * 0.5);
  });
});

describe("shrinkChannels errors, raised before anything is built", () => {
  const graph = convFlattenDense();
  const [imageGroup, convGroup] = couplingGroups(graph);
  const cases: Array<[string, Array<{ group: CouplingGroup; keep: number[] }>, string]> = [
    ["a pinned group", [{ group: imageGroup, keep: [0] }], "the group is pinned, so every channel must stay: model input 'image'"],
    ["a channel out of range", [{ group: convGroup, keep: [0, 6] }], "keep[1] must be a channel index in 0..5, but got 6"],
    ["a duplicate channel", [{ group: convGroup, keep: [1, 1, 2] }], "keep lists channel 1 twice; list each kept channel once"],
    ["an unsorted keep list", [{ group: convGroup, keep: [3, 1] }], "keep must be sorted ascending, but 1 comes after 3; sort it"],
    ["an empty keep list", [{ group: convGroup, keep: [] }], "keep must list at least 1 channel, but got []"],
    ["the same group twice", [{ group: convGroup, keep: [1] }, { group: convGroup, keep: [2] }], "choices[1] (the group of 6 channels produced by conv): the group is chosen twice"],
    ["a group of another graph", [{ group: { ...convGroup, channels: 7 }, keep: [1] }], "choices[0].group (the group of 7 channels produced by conv) is not a coupling group of graph 'flat'"],
  ];
  for (const [what, choices, message] of cases) {
    it(`${what}: ${message}`, () => {
      expect(() => shrinkChannels(graph, choices)).toThrow(message);
    });
  }
});

describe("shrinkCompressedModel", () => {
  const graph = convFlattenDense();
  const [, convGroup, fc1Group] = couplingGroups(graph);
  const everyThird = (shape: number[]) => ({ shape, kept: Uint8Array.from({ length: shape.reduce((p, d) => p * d, 1) }, (_, i) => (i % 3 === 0 ? 1 : 0)) });
  const bits = (mask: WeightMask) => ({ shape: mask.shape, values: mask.kept });
  const masked = (): CompressedModel => withMasks(uncompressed(graph), [
    ["conv", "kernel", everyThird([3, 3, 2, 6])], ["conv", "bias", everyThird([6])], ["fc1", "kernel", everyThird([24, 8])], ["fc2", "kernel", everyThird([8, 3])],
  ]);

  it("cuts masks along the weights' axes: each mask keeps the bits of the kept channels, shaped as its weight", () => {
    const model = masked();
    const shrunk = shrinkCompressedModel(model, [{ group: convGroup, keep: [1, 4] }]);
    expect(shrunk.masks.conv.kernel.shape).toEqual([3, 3, 2, 2]);
    expect(Array.from(shrunk.masks.conv.kernel.kept)).toEqual(gatherAlong(bits(model.masks.conv.kernel), 3, [1, 4]));
    expect(Array.from(shrunk.masks.conv.bias.kept)).toEqual(gatherAlong(bits(model.masks.conv.bias), 0, [1, 4]));
    const rows = [0, 1, 2, 3].flatMap((position) => [1, 4].map((c) => position * 6 + c));
    expect(Array.from(shrunk.masks.fc1.kernel.kept)).toEqual(gatherAlong(bits(model.masks.fc1.kernel), 0, rows));
    expect(shrunk.masks.fc2.kernel).toEqual(model.masks.fc2.kernel); // untouched
    for (const [id, byWeight] of Object.entries(shrunk.masks)) {
      for (const [name, mask] of Object.entries(byWeight)) expect(mask.shape).toEqual(weightOf(shrunk.graph, id, name).shape);
    }
    expect(shrunk.graph).toEqual(shrinkChannels(model.graph, [{ group: convGroup, keep: [1, 4] }]));
  });

  it("keeps quantization of untouched nodes and activation ranges; refuses quantized weights it would cut", () => {
    const quantized = withQuantization(masked(), {
      fc2: { weights: { kernel: { scheme: "codebook", bits: 1, grouping: { inner: 1, groups: 1 }, centroids: Float32Array.of(-0.5, 0.5) } } },
      relu: { activation: { bits: 8, min: 0, max: 6, symmetric: false } },
    });
    const shrunk = shrinkCompressedModel(quantized, [{ group: convGroup, keep: [0, 1, 2] }]);
    expect(shrunk.quantization).toEqual(quantized.quantization);
    expect(() => shrinkCompressedModel(quantized, [{ group: fc1Group, keep: [0, 1, 2] }])).toThrow(
      "shrinkCompressedModel: dense 'fc2' has quantized weights (kernel) that the shrink would cut, and their quantization parameters cannot follow; shrink before quantizing (prune, then quantize)",
    );
  });
});
