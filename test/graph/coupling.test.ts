// Channel coupling groups on hand-built graphs: exact membership, and an end-to-end check that
// removing one channel from every member of a group computes what the full model computes when
// that channel's consumers ignore it (so a missing or extra member would show).
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { buildTfjsModel } from "../../src/tfjs/tfjs-from-graph.js";
import { couplingGroups, isPrunable, memberIndices, type ChannelMember, type CouplingGroup } from "../../src/graph/coupling.js";
import { sizeOf, type Graph, type GraphNode, type Weight } from "../../src/graph/ir.js";
import { randomFloats } from "../kernels/random.js";
import { add, batchNorm, conv, dense, depthwise, input, plain } from "./test-graphs.js";

beforeAll(async () => {
  await tf.setBackend("cpu");
});

const relu = (id: string, from: string): GraphNode => plain("relu", id, from);
const members = (...entries: Array<[string, number] | string>): ChannelMember[] =>
  entries.map((entry) => (typeof entry === "string" ? { id: entry, positions: 1 } : { id: entry[0], positions: entry[1] }));

/**
 * image 8×8×3 → conv0·4 → bn0 → relu0;
 * block 1 (identity): conv1a → bn1a → relu1a → conv1b → bn1b, + relu0 → relu1;
 * block 2 (projection, stride 2): conv2a·8 → bn2a → relu2a → conv2b → bn2b, + (conv2s 1×1 → bn2s) → relu2;
 * gap → fc·5 → softmax.
 */
function resnetLike(): Graph {
  return {
    name: "resnet_like",
    nodes: [
      input("image", [8, 8, 3]), conv("conv0", "image", 3, 3, 4), batchNorm("bn0", "conv0", 4), relu("relu0", "bn0"),
      conv("conv1a", "relu0", 3, 4, 4), batchNorm("bn1a", "conv1a", 4), relu("relu1a", "bn1a"),
      conv("conv1b", "relu1a", 3, 4, 4), batchNorm("bn1b", "conv1b", 4), add("add1", "bn1b", "relu0"), relu("relu1", "add1"),
      conv("conv2a", "relu1", 3, 4, 8, { strides: 2 }), batchNorm("bn2a", "conv2a", 8), relu("relu2a", "bn2a"),
      conv("conv2b", "relu2a", 3, 8, 8), batchNorm("bn2b", "conv2b", 8),
      conv("conv2s", "relu1", 1, 4, 8, { strides: 2 }), batchNorm("bn2s", "conv2s", 8), add("add2", "bn2b", "bn2s"), relu("relu2", "add2"),
      plain("globalAvgPool", "gap", "relu2"), dense("fc", "gap", 8, 5), plain("softmax", "probs", "fc"),
    ],
    outputs: ["probs"],
  };
}

/** image 6×6×3 → stem·8 → bn → relu6 → depthwise 3×3 → bn → relu6 → pointwise 1×1·16 → bn → relu → gap → fc → softmax. */
function separable(depthMultiplier = 1): Graph {
  const width = 8 * depthMultiplier;
  return {
    name: "separable",
    nodes: [
      input("image", [6, 6, 3]), conv("stem", "image", 3, 3, 8), batchNorm("stem/bn", "stem", 8), plain("relu6", "stem/relu6", "stem/bn"),
      depthwise("dw", "stem/relu6", 3, 8, depthMultiplier, 1, true), batchNorm("dw/bn", "dw", width), plain("relu6", "dw/relu6", "dw/bn"),
      conv("pw", "dw/relu6", 1, width, 16), batchNorm("pw/bn", "pw", 16), relu("pw/relu", "pw/bn"),
      plain("globalAvgPool", "gap", "pw/relu"), dense("fc", "gap", 16, 4), plain("softmax", "probs", "fc"),
    ],
    outputs: ["probs"],
  };
}

/** image 2×2×1 → conv·3 → relu → flatten → dropout → fc 12→2. */
function convFlattenDense(): Graph {
  return {
    name: "flat",
    nodes: [
      input("image", [2, 2, 1]), conv("conv", "image", 1, 1, 3, { useBias: true }), relu("relu", "conv"), plain("flatten", "flat", "relu"),
      { op: "dropout", id: "drop", inputs: ["flat"], rate: 0.5 }, dense("fc", "drop", 12, 2),
    ],
    outputs: ["fc"],
  };
}

// ---- removing one channel, as a shrink would, to check the groups end to end ----

/** The weight without the given indices along `axis`. */
function dropAlong(weight: Weight, axis: number, drop: number[]): Weight {
  const shape = [...weight.shape];
  const inner = sizeOf(shape.slice(axis + 1));
  const outer = sizeOf(shape.slice(0, axis));
  const removed = new Set(drop);
  const values: number[] = [];
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < shape[axis]; i++) {
      if (!removed.has(i)) values.push(...weight.values.subarray((o * shape[axis] + i) * inner, (o * shape[axis] + i + 1) * inner));
    }
  }
  shape[axis] -= removed.size;
  return { shape, values: Float32Array.from(values) };
}

/** The same weight with the given indices along `axis` set to zero. */
function zeroAlong(weight: Weight, axis: number, zero: number[]): Weight {
  const inner = sizeOf(weight.shape.slice(axis + 1));
  const values = Float32Array.from(weight.values);
  for (let start = 0; start < values.length; start += inner) {
    if (zero.includes(Math.floor(start / inner) % weight.shape[axis])) values.fill(0, start, start + inner);
  }
  return { shape: weight.shape, values };
}

type Edit = (weight: Weight, axis: number, indices: number[]) => Weight;

function editNode(node: GraphNode, role: "producer" | "passThrough" | "consumer", indices: number[], edit: Edit): GraphNode {
  const copy = structuredClone(node);
  const weights = "weights" in copy ? (copy.weights as Record<string, Weight>) : {};
  const change = (name: string, axis: number): void => { weights[name] = edit(weights[name], axis, indices); };
  if (role === "consumer") change("kernel", copy.op === "dense" ? 0 : 2); // dense [in, units], conv HWIO
  else if (copy.op === "conv2d" || copy.op === "dense") {
    change("kernel", weights.kernel.shape.length - 1);
    if (copy.useBias) change("bias", 0);
    if (copy.op === "conv2d") copy.filters -= indices.length;
    else copy.units -= indices.length;
  } else if (copy.op === "depthwiseConv2d") {
    change("depthwiseKernel", 2);
    if (copy.useBias) change("bias", 0);
  } else if (copy.op === "batchNorm") {
    for (const name of Object.keys(weights)) change(name, 0);
  }
  return copy;
}

/** The graph without `channel` of the group: removed from every producer, pass-through and consumer. */
function withoutChannel(graph: Graph, group: CouplingGroup, channel: number): Graph {
  const indicesOf = (member: ChannelMember) => memberIndices(member, group.channels, channel);
  const edits = new Map<string, (node: GraphNode) => GraphNode>();
  for (const id of group.producers) edits.set(id, (node) => editNode(node, "producer", [channel], dropAlong));
  for (const member of group.passThrough) edits.set(member.id, (node) => editNode(node, "passThrough", indicesOf(member), dropAlong));
  for (const member of group.consumers) edits.set(member.id, (node) => editNode(node, "consumer", indicesOf(member), dropAlong));
  return { ...graph, nodes: graph.nodes.map((node) => edits.get(node.id)?.(node) ?? node) };
}

/** The full graph with the consumers blind to `channel`: what the pruned graph must compute. */
function consumersIgnore(graph: Graph, group: CouplingGroup, channel: number): Graph {
  const consumers = new Map(group.consumers.map((member) => [member.id, member]));
  return {
    ...graph,
    nodes: graph.nodes.map((node) => {
      const member = consumers.get(node.id);
      return member === undefined ? node : editNode(node, "consumer", memberIndices(member, group.channels, channel), zeroAlong);
    }),
  };
}

function expectSamePredictions(a: Graph, b: Graph, seed: number): void {
  const shape = (a.nodes[0] as Extract<GraphNode, { op: "input" }>).shape;
  const x = tf.tensor(randomFloats(2 * sizeOf(shape), seed), [2, ...shape]);
  const predict = (graph: Graph): Float32Array => {
    const model = buildTfjsModel(graph);
    const values = (model.predict(x) as tf.Tensor).dataSync() as Float32Array;
    model.dispose();
    return values;
  };
  const [expected, actual] = [predict(a), predict(b)];
  expect(actual.length).toBe(expected.length);
  expect(Math.max(...actual.map((value, i) => Math.abs(value - expected[i])))).toBeLessThan(1e-5);
}

/** Every prunable group, every channel: the pruned graph builds and predicts as the blinded one. */
function checkEveryPrunableChannel(graph: Graph): void {
  for (const group of couplingGroups(graph).filter(isPrunable)) {
    for (let channel = 0; channel < group.channels; channel += 3) {
      expectSamePredictions(consumersIgnore(graph, group, channel), withoutChannel(graph, group, channel), channel + 1);
    }
  }
}

describe("couplingGroups", () => {
  it("ResNet-like: identity shortcut joins the stem and block 1; projection shortcut joins conv2b and conv2s", () => {
    expect(couplingGroups(resnetLike())).toEqual([
      { channels: 3, producers: ["image"], passThrough: [], consumers: members("conv0"), pinned: ["model input 'image'"] },
      { channels: 4, producers: ["conv0", "conv1b"], passThrough: members("bn0", "relu0", "bn1b", "add1", "relu1"), consumers: members("conv1a", "conv2a", "conv2s"), pinned: [] },
      { channels: 4, producers: ["conv1a"], passThrough: members("bn1a", "relu1a"), consumers: members("conv1b"), pinned: [] },
      { channels: 8, producers: ["conv2a"], passThrough: members("bn2a", "relu2a"), consumers: members("conv2b"), pinned: [] },
      { channels: 8, producers: ["conv2b", "conv2s"], passThrough: members("bn2b", "bn2s", "add2", "relu2", "gap"), consumers: members("fc"), pinned: [] },
      { channels: 5, producers: ["fc"], passThrough: members("probs"), consumers: [], pinned: ["model output 'probs'"] },
    ]);
  });

  it("ResNet-like: removing any channel of a prunable group from all its members predicts as the full model with the consumers blind to it", () => {
    checkEveryPrunableChannel(resnetLike());
  });

  it("a missing member would be caught: leaving conv2s out of the stem group's consumers breaks the check", () => {
    const graph = resnetLike();
    const group = couplingGroups(graph)[1];
    const incomplete = { ...group, consumers: group.consumers.filter((member) => member.id !== "conv2s") };
    expect(() => buildTfjsModel(withoutChannel(graph, incomplete, 0))).toThrow("conv2d 'conv2s': expects 4 input channels from its kernel [1,1,4,8], but its input 'relu1' has 3");
  });

  it("depthwise-separable block: the depthwise conv (multiplier 1) passes the stem's channels to the pointwise conv", () => {
    const groups = couplingGroups(separable());
    expect(groups[1]).toEqual({
      channels: 8, producers: ["stem"], passThrough: members("stem/bn", "stem/relu6", "dw", "dw/bn", "dw/relu6"), consumers: members("pw"), pinned: [],
    });
    expect(groups[2]).toEqual({ channels: 16, producers: ["pw"], passThrough: members("pw/bn", "pw/relu", "gap"), consumers: members("fc"), pinned: [] });
    expect(groups).toHaveLength(4);
    checkEveryPrunableChannel(separable());
  });

  it("depthwise with multiplier 2: its input and output groups are pinned, saying why", () => {
    const groups = couplingGroups(separable(2));
    const reason = "depthwiseConv2d 'dw' has depthMultiplier 2";
    expect(groups[1]).toEqual({ channels: 8, producers: ["stem"], passThrough: members("stem/bn", "stem/relu6"), consumers: members("dw"), pinned: [reason] });
    expect(groups[2]).toEqual({ channels: 16, producers: ["dw"], passThrough: members("dw/bn", "dw/relu6"), consumers: members("pw"), pinned: [reason] });
    expect(groups.filter(isPrunable).map((group) => group.producers)).toEqual([["pw"]]);
  });

  it("conv → flatten → dense: channel c of a 2×2×3 map is features {3p + c}", () => {
    const groups = couplingGroups(convFlattenDense());
    expect(groups[1]).toEqual({
      channels: 3, producers: ["conv"], passThrough: members("relu", ["flat", 4], ["drop", 4]), consumers: members(["fc", 4]), pinned: [],
    });
    expect(memberIndices({ id: "fc", positions: 4 }, 3, 1)).toEqual([1, 4, 7, 10]);
    expect(groups[2]).toEqual({ channels: 2, producers: ["fc"], passThrough: [], consumers: [], pinned: ["model output 'fc'"] });
    checkEveryPrunableChannel(convFlattenDense());
  });

  it("a wrong flatten mapping would be caught: channel-major indices {4c + p} do not predict the same", () => {
    const graph = convFlattenDense();
    const group = couplingGroups(graph)[1];
    const channelMajor = [4, 5, 6, 7]; // channel 1's features if flatten were channel-first
    const wrong = { ...graph, nodes: graph.nodes.map((node) => (node.id === "fc" ? editNode(node, "consumer", channelMajor, dropAlong) : node.id === "conv" ? editNode(node, "producer", [1], dropAlong) : node)) };
    expect(() => expectSamePredictions(consumersIgnore(graph, group, 1), wrong, 5)).toThrow();
  });

  it("features reaching an output without a classifier pin their group; every node is in exactly one group", () => {
    const graph: Graph = {
      name: "no_head",
      nodes: [input("image", [4, 4, 2]), conv("conv", "image", 3, 2, 6), relu("relu", "conv"), plain("globalAvgPool", "gap", "relu")],
      outputs: ["gap"],
    };
    const groups = couplingGroups(graph);
    expect(groups[1].pinned).toEqual(["model output 'gap'"]);
    const listed = groups.flatMap((group) => [...group.producers, ...group.passThrough.map((member) => member.id)]);
    expect(listed.sort()).toEqual(graph.nodes.map((node) => node.id).sort());
    expect(groups.filter(isPrunable)).toEqual([]);
  });
});
