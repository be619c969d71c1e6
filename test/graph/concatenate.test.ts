// Concatenation in the IR: shapes and their errors, cost, the tfjs round trip (channel order
// included), coupling groups that place each input's channels at its offset, and shrinking
// through Inception- and DenseNet-style concatenations with the predictions of the full model.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import * as tfl from "@tensorflow/tfjs-layers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { graphCost } from "../../src/graph/cost.js";
import { couplingGroups, memberIndices, type ChannelMember } from "../../src/graph/coupling.js";
import type { Graph, GraphNode } from "../../src/graph/ir.js";
import { inferShapes } from "../../src/graph/shapes.js";
import { shrinkChannels } from "../../src/graph/shrink.js";
import { loadModel, saveModel } from "../../src/io/model-dir.js";
import { registerFileIO } from "../../src/io/register-file-io.js";
import { graphFromTfjs } from "../../src/tfjs/graph-from-tfjs.js";
import { buildTfjsModel } from "../../src/tfjs/tfjs-from-graph.js";
import { randomFloats } from "../kernels/random.js";
import { blindConsumers, gatherAlong, keepFractionEverywhere, maxDifference, predictionsOf, randomizeBatchNorms } from "./shrink-helpers.js";
import { add, concatenate, conv, inceptionLike, input, plain } from "./test-graphs.js";

let dir: string;
beforeAll(async () => {
  await tf.setBackend("cpu");
  registerFileIO();
  dir = await mkdtemp(join(tmpdir(), "pf-concat-"));
});
afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

const byId = (graph: Graph): Map<string, GraphNode> => new Map(graph.nodes.map((node) => [node.id, node]));
const at = (id: string, offset: number, axisChannels: number): ChannelMember => ({ id, positions: 1, offset, axisChannels });
const whole = (...ids: string[]): ChannelMember[] => ids.map((id) => ({ id, positions: 1 }));

describe("concatenate: shapes, cost, tfjs", () => {
  it("shapes: [a 3 | b 5 | pool 4] = 12 channels, [mix 12 | post 6] = 18", () => {
    const shapes = inferShapes(inceptionLike());
    expect(shapes.get("mix")).toEqual([8, 8, 12]);
    expect(shapes.get("grow")).toEqual([8, 8, 18]);
  });

  it("inputs that disagree on height and width, or a single input, are errors naming the rule", () => {
    const graph: Graph = {
      name: "bad", outputs: ["joined"],
      nodes: [input("image", [8, 8, 3]), conv("half", "image", 3, 3, 2, { strides: 2 }), concatenate("joined", "image", "half")],
    };
    expect(() => inferShapes(graph)).toThrow("concatenate 'joined': inputs must agree on all but the channel (last) axis, but 'image' has [8,8,3] and 'half' has [4,4,2]; resize or pool them to the same height and width");
    expect(() => inferShapes({ ...graph, nodes: [graph.nodes[0], concatenate("joined", "image")] })).toThrow("concatenate 'joined': needs at least 2 inputs, but has 1");
  });

  it("cost: a concatenation has no MACs and no params; the convs after it pay for every joined channel", () => {
    const cost = graphCost(inceptionLike());
    for (const id of ["mix", "grow"]) expect(cost.nodes.find((node) => node.id === id)).toMatchObject({ macs: 0, params: 0 });
    const post = cost.nodes.find((node) => node.id === "post");
    expect(post?.macs).toBe(8 * 8 * 3 * 3 * 12 * 6);
    // stem, a, b, post, fc
    expect(cost.macs).toBe(8 * 8 * 9 * 3 * 4 + 8 * 8 * 4 * 3 + 8 * 8 * 9 * 4 * 5 + 8 * 8 * 9 * 12 * 6 + 18 * 5);
  });

  it("built in tfjs, the concatenation lists its inputs' channels in input order", () => {
    const graph = { ...inceptionLike(), outputs: ["a/relu", "b/relu", "pool", "mix"] };
    const x = tf.tensor4d(randomFloats(2 * 8 * 8 * 3, 3), [2, 8, 8, 3]);
    const [a, b, pool, mix] = (buildTfjsModel(graph).predict(x) as tf.Tensor[]).map((tensor) => tensor.arraySync() as number[][][][]);
    const joined = a.map((image, n) => image.map((row, y) => row.map((pixel, x2) => [...pixel, ...b[n][y][x2], ...pool[n][y][x2]])));
    expect(mix).toEqual(joined);
  });

  it("import, build, save and load give the graph back; plain tfjs loads it", async () => {
    const graph = inceptionLike();
    const back = graphFromTfjs(buildTfjsModel(graph));
    expect(byId(back)).toEqual(byId(graph));
    expect(back.outputs).toEqual(graph.outputs);
    await saveModel(dir, graph);
    expect((await loadModel(dir)).graph).toEqual(graph);
    const plainModel = await tf.loadLayersModel(`file://${dir}/model.json`);
    expect(predictionsOf(graph, 4, plainModel)).toEqual(predictionsOf(graph, 4));
  });

  it("imports a Keras Concatenate on axis 3 (the last index); refuses one on another axis", () => {
    const image = tfl.input({ shape: [4, 4, 2], name: "image" });
    const conv2 = tfl.layers.conv2d({ filters: 2, kernelSize: 1, name: "conv" }).apply(image) as tfl.SymbolicTensor;
    const joined = (axis: number) => tfl.layers.concatenate({ axis, name: `joined_${axis}` }).apply([image, conv2]) as tfl.SymbolicTensor;
    const graph = graphFromTfjs(tfl.model({ inputs: image, outputs: joined(3), name: "last" }));
    expect(graph.nodes.map((node) => [node.op, node.id, node.inputs])).toContainEqual(["concatenate", "joined_3", ["image", "conv"]]);
    expect(inferShapes(graph).get("joined_3")).toEqual([4, 4, 4]);
    expect(() => graphFromTfjs(tfl.model({ inputs: image, outputs: joined(1), name: "rows" }))).toThrow(
      "graphFromTfjs: layer 'joined_1' (Concatenate) concatenates on axis 1; only the last (channel) axis, -1 or 3, is supported",
    );
  });
});

describe("concatenate: coupling groups", () => {
  it("each channel of a concatenation belongs to the group of the one input it comes from, at that input's offset", () => {
    const groups = couplingGroups(inceptionLike());
    expect(groups).toEqual([
      { channels: 3, producers: ["image"], passThrough: [], consumers: whole("stem"), pinned: ["model input 'image'"] },
      {
        channels: 4, producers: ["stem"],
        passThrough: [...whole("stem/bn", "stem/relu", "pool"), at("mix", 8, 12), at("grow", 8, 18), at("grow/bn", 8, 18), at("grow/relu", 8, 18), at("gap", 8, 18)],
        consumers: [...whole("a", "b"), at("post", 8, 12), at("fc", 8, 18)], pinned: [],
      },
      {
        channels: 3, producers: ["a"], passThrough: [...whole("a/relu"), at("mix", 0, 12), at("grow", 0, 18), at("grow/bn", 0, 18), at("grow/relu", 0, 18), at("gap", 0, 18)],
        consumers: [at("post", 0, 12), at("fc", 0, 18)], pinned: [],
      },
      {
        channels: 5, producers: ["b"], passThrough: [...whole("b/bn", "b/relu"), at("mix", 3, 12), at("grow", 3, 18), at("grow/bn", 3, 18), at("grow/relu", 3, 18), at("gap", 3, 18)],
        consumers: [at("post", 3, 12), at("fc", 3, 18)], pinned: [],
      },
      {
        channels: 6, producers: ["post"], passThrough: [...whole("post/bn", "post/relu"), at("grow", 12, 18), at("grow/bn", 12, 18), at("grow/relu", 12, 18), at("gap", 12, 18)],
        consumers: [at("fc", 12, 18)], pinned: [],
      },
      { channels: 5, producers: ["fc"], passThrough: whole("probs"), consumers: [], pinned: ["model output 'probs'"] },
    ]);
    expect(memberIndices(at("fc", 3, 18), 5, 4)).toEqual([7]);
  });

  it("after a flatten, channel c of an input at offset o is feature p·width + o + c", () => {
    const graph: Graph = {
      name: "flat_concat", outputs: ["fc"],
      nodes: [
        input("image", [2, 2, 1]), conv("x", "image", 1, 1, 2), conv("y", "image", 1, 1, 3), concatenate("xy", "x", "y"),
        plain("flatten", "flat", "xy"), { op: "dense", id: "fc", inputs: ["flat"], units: 2, useBias: false, weights: { kernel: { shape: [20, 2], values: randomFloats(40, 9) } } },
      ],
    };
    const y = couplingGroups(graph)[2];
    expect(y.consumers).toEqual([{ id: "fc", positions: 4, offset: 2, axisChannels: 5 }]);
    expect(memberIndices(y.consumers[0], 3, 1)).toEqual([3, 8, 13, 18]);
    expect(maxDifference(predictionsOf(shrinkChannels(graph, [{ group: y, keep: [0, 2] }]), 2), predictionsOf(blindConsumers(graph, [{ group: y, keep: [0, 2] }]), 2))).toBeLessThan(1e-5);
  });

  it("adds: concatenations split alike join segment by segment; split otherwise, they pin; flattened features joined pin", () => {
    const nodes: GraphNode[] = [
      input("image", [4, 4, 2]), conv("x1", "image", 1, 2, 2), conv("y1", "image", 1, 2, 3), concatenate("c1", "x1", "y1"),
      conv("x2", "image", 1, 2, 2), conv("y2", "image", 1, 2, 3), concatenate("c2", "x2", "y2"), add("sum", "c1", "c2"),
      conv("z", "image", 1, 2, 5), add("odd", "sum", "z"), conv("head", "odd", 1, 5, 2),
    ];
    const groups = couplingGroups({ name: "adds", nodes, outputs: ["head"] });
    expect(groups.map((group) => [group.producers, group.pinned])).toEqual([
      [["image"], ["model input 'image'"]],
      [["x1", "x2"], ["add 'odd' sums a concatenation with channels split otherwise"]],
      [["y1", "y2"], ["add 'odd' sums a concatenation with channels split otherwise"]],
      [["z"], ["add 'odd' sums a concatenation with channels split otherwise"]],
      [["head"], ["model output 'head'"]],
    ]);
    const flat: Graph = {
      name: "flat_join", outputs: ["joined"],
      nodes: [input("image", [2, 2, 1]), conv("x", "image", 1, 1, 2), plain("flatten", "fx", "x"), plain("flatten", "fi", "image"), concatenate("joined", "fx", "fi")],
    };
    expect(couplingGroups(flat).map((group) => group.pinned)).toEqual([
      ["model input 'image'", "concatenate 'joined' joins flattened features"], ["concatenate 'joined' joins flattened features"],
      ["concatenate 'joined' joins flattened features", "model output 'joined'"],
    ]);
  });
});

describe("concatenate: shrinkChannels through it", () => {
  const graph = randomizeBatchNorms(inceptionLike(), 70);
  const choices = keepFractionEverywhere(graph, 0.5);

  it("every prunable group keeps half: post and fc keep the rows of the kept channels at each input's offset", () => {
    expect(choices.map((choice) => choice.group.producers[0])).toEqual(["stem", "a", "b", "post"]);
    const [stem, a, b, post] = choices.map((choice) => choice.keep);
    const shrunk = shrinkChannels(graph, choices);
    expect(inferShapes(shrunk).get("mix")).toEqual([8, 8, a.length + b.length + stem.length]);
    const mixRows = [...a, ...b.map((c) => 3 + c), ...stem.map((c) => 8 + c)];
    const postKernel = byId(shrunk).get("post") as Extract<GraphNode, { op: "conv2d" }>;
    const original = byId(graph).get("post") as Extract<GraphNode, { op: "conv2d" }>;
    const rowsKept = { shape: [3, 3, mixRows.length, 6], values: gatherAlong(original.weights.kernel, 2, mixRows) };
    expect(Array.from(postKernel.weights.kernel.values)).toEqual(gatherAlong(rowsKept, 3, post));
    const fcRows = [...mixRows, ...post.map((c) => 12 + c)];
    const fc = (graphOf: Graph) => (byId(graphOf).get("fc") as Extract<GraphNode, { op: "dense" }>).weights.kernel;
    expect(Array.from(fc(shrunk).values)).toEqual(gatherAlong(fc(graph), 0, fcRows));
    const growBn = (graphOf: Graph) => (byId(graphOf).get("grow/bn") as Extract<GraphNode, { op: "batchNorm" }>).weights.movingVariance;
    expect(Array.from(growBn(shrunk).values)).toEqual(gatherAlong(growBn(graph), 0, fcRows));
  });

  it("predicts as the full model whose consumers ignore the removed channels, built, saved and loaded", async () => {
    const shrunk = shrinkChannels(graph, choices);
    const expected = predictionsOf(blindConsumers(graph, choices), 21);
    expect(maxDifference(predictionsOf(shrunk, 21), expected)).toBeLessThan(1e-5);
    expect(maxDifference(predictionsOf(graph, 21), expected)).toBeGreaterThan(1e-4);
    await saveModel(dir, shrunk);
    expect(maxDifference(predictionsOf(shrunk, 21, await tf.loadLayersModel(`file://${dir}/model.json`)), expected)).toBeLessThan(1e-5);
  });

  it("one group at a time, one channel removed: each matches, so no member at any offset is missing", () => {
    for (const { group } of choices) {
      for (let removed = 0; removed < group.channels; removed += 2) {
        const single = [{ group, keep: Array.from({ length: group.channels }, (_, c) => c).filter((c) => c !== removed) }];
        expect(maxDifference(predictionsOf(shrinkChannels(graph, single), removed), predictionsOf(blindConsumers(graph, single), removed))).toBeLessThan(1e-5);
      }
    }
  });
});
