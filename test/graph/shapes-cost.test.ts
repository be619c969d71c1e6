// Shape inference and cost on small hand-built graphs, with numbers worked out by hand.
import { describe, expect, it } from "vitest";
import { graphCost } from "../../src/graph/cost.js";
import type { Graph, GraphNode, Weight } from "../../src/graph/ir.js";
import { inferShapes, windowOutputSize } from "../../src/graph/shapes.js";

const zeros = (...shape: number[]): Weight => ({ shape, values: new Float32Array(shape.reduce((p, d) => p * d, 1)) });

function conv(id: string, input: string, kernel: number, inChannels: number, filters: number, strides = 1, padding: "same" | "valid" = "same", useBias = false): GraphNode {
  return {
    op: "conv2d", id, inputs: [input], kernelSize: [kernel, kernel], strides: [strides, strides], padding, dilation: [1, 1], filters, useBias,
    weights: { kernel: zeros(kernel, kernel, inChannels, filters), ...(useBias ? { bias: zeros(filters) } : {}) },
  };
}

const batchNorm = (id: string, input: string, channels: number): GraphNode => ({
  op: "batchNorm", id, inputs: [input], epsilon: 1e-3,
  weights: { gamma: zeros(channels), beta: zeros(channels), movingMean: zeros(channels), movingVariance: zeros(channels) },
});

/** input 8×8×3 → conv 3×3·8 (+bias) → bn → relu → [depthwise 3×3 ×2 s2 → conv 1×1·8] + maxpool 2 → relu6 → pad → avgpool 3 s2 → flatten → dropout → dense 5 → softmax. */
function smallNet(): Graph {
  return {
    name: "small",
    nodes: [
      { op: "input", id: "image", inputs: [], shape: [8, 8, 3] },
      conv("conv1", "image", 3, 3, 8, 1, "same", true),
      batchNorm("bn1", "conv1", 8),
      { op: "relu", id: "relu1", inputs: ["bn1"] },
      {
        op: "depthwiseConv2d", id: "dw", inputs: ["relu1"], kernelSize: [3, 3], strides: [2, 2], padding: "same", dilation: [1, 1],
        depthMultiplier: 2, useBias: false, weights: { depthwiseKernel: zeros(3, 3, 8, 2) },
      },
      conv("project", "dw", 1, 16, 8),
      { op: "maxPool", id: "pool", inputs: ["relu1"], poolSize: [2, 2], strides: [2, 2], padding: "valid" },
      { op: "add", id: "sum", inputs: ["project", "pool"] },
      { op: "relu6", id: "relu2", inputs: ["sum"] },
      { op: "zeroPad2d", id: "pad", inputs: ["relu2"], padding: [1, 0, 2, 1] },
      { op: "avgPool", id: "avg", inputs: ["pad"], poolSize: [3, 3], strides: [2, 2], padding: "valid" },
      { op: "flatten", id: "flat", inputs: ["avg"] },
      { op: "dropout", id: "drop", inputs: ["flat"], rate: 0.5 },
      { op: "dense", id: "fc", inputs: ["drop"], units: 5, useBias: true, weights: { kernel: zeros(48, 5), bias: zeros(5) } },
      { op: "softmax", id: "probs", inputs: ["fc"] },
    ],
    outputs: ["probs"],
  };
}

describe("windowOutputSize (as tfjs)", () => {
  it.each([
    // in, kernel, stride, dilation, padding, out
    [32, 3, 1, 1, "same", 32], [32, 3, 2, 1, "same", 16], [7, 3, 2, 1, "same", 4], [28, 5, 1, 1, "valid", 24],
    [14, 5, 1, 1, "valid", 10], [7, 3, 2, 1, "valid", 3], [8, 2, 2, 1, "valid", 4], [9, 3, 1, 2, "valid", 5], [6, 3, 3, 1, "valid", 2],
  ] as const)("in=%i k=%i s=%i d=%i p=%s → %i", (inSize, kernel, stride, dilation, padding, out) => {
    expect(windowOutputSize(inSize, kernel, stride, dilation, padding)).toBe(out);
  });
});

describe("inferShapes", () => {
  it("small net: every op's output shape", () => {
    const shapes = inferShapes(smallNet());
    expect(Object.fromEntries(shapes)).toEqual({
      image: [8, 8, 3], conv1: [8, 8, 8], bn1: [8, 8, 8], relu1: [8, 8, 8], dw: [4, 4, 16], project: [4, 4, 8],
      pool: [4, 4, 8], sum: [4, 4, 8], relu2: [4, 4, 8], pad: [5, 7, 8], avg: [2, 3, 8], flat: [48], drop: [48], fc: [5], probs: [5],
    });
  });

  it("dense on a rank-3 input applies to the last axis", () => {
    const graph: Graph = {
      name: "g", outputs: ["fc"],
      nodes: [{ op: "input", id: "x", inputs: [], shape: [4, 4, 6] }, { op: "dense", id: "fc", inputs: ["x"], units: 3, useBias: false, weights: { kernel: zeros(6, 3) } }],
    };
    expect(inferShapes(graph).get("fc")).toEqual([4, 4, 3]);
  });

  const withNodes = (...nodes: GraphNode[]): Graph => ({ name: "bad", nodes: [{ op: "input", id: "x", inputs: [], shape: [8, 8, 4] }, ...nodes], outputs: [nodes.at(-1)?.id ?? "x"] });

  it.each<[string, Graph, string]>([
    ["conv channel mismatch", withNodes(conv("conv3", "x", 3, 16, 32)), "conv2d 'conv3': expects 16 input channels from its kernel [3,3,16,32], but its input 'x' has 4"],
    ["conv kernel wrong filters", withNodes({ ...conv("c", "x", 3, 4, 8), filters: 6 } as GraphNode), "conv2d 'c': kernel must have shape [3,3,4,6]"],
    ["conv bias missing", withNodes({ ...conv("c", "x", 3, 4, 8), useBias: true } as GraphNode), "conv2d 'c': has no bias weight; it needs one of shape [8]"],
    ["valid window too big", withNodes(conv("big", "x", 9, 4, 2, 1, "valid")), "conv2d 'big': its 9-pixel window with 'valid' padding does not fit the 8-pixel height of 'x' [8,8,4]"],
    ["dense on a feature map of wrong size", withNodes({ op: "flatten", id: "f", inputs: ["x"] }, { op: "dense", id: "fc", inputs: ["f"], units: 2, useBias: false, weights: { kernel: zeros(100, 2) } }), "dense 'fc': expects 100 input features from its kernel [100,2], but its input 'f' has 256"],
    ["bn channels", withNodes(batchNorm("bn", "x", 5)), "batchNorm 'bn': gamma must have shape [4] (one per channel of 'x' [8,8,4]), but has [5]"],
    ["add shapes differ", withNodes(conv("c", "x", 1, 4, 8), { op: "add", id: "sum", inputs: ["x", "c"] }), "add 'sum': all inputs must have the same shape, but 'x' has [8,8,4] and 'c' has [8,8,8]"],
    ["add with one input", withNodes({ op: "add", id: "sum", inputs: ["x"] }), "add 'sum': needs at least 2 inputs, but has 1"],
    ["pool on a vector", withNodes({ op: "flatten", id: "f", inputs: ["x"] }, { op: "maxPool", id: "p", inputs: ["f"], poolSize: [2, 2], strides: [2, 2], padding: "valid" }), "maxPool 'p': expects a [height,width,channels] feature map, but its input 'f' has shape [256]"],
    ["unknown input", withNodes({ op: "relu", id: "r", inputs: ["nope"] }), "relu 'r': input 'nope' is not a node of graph 'bad'"],
    ["out of order", withNodes({ op: "relu", id: "r", inputs: ["s"] }, { op: "relu", id: "s", inputs: ["x"] }), "relu 'r': input 's' comes after it; list nodes in topological order"],
    ["duplicate id", withNodes({ op: "relu", id: "x", inputs: ["x"] }), "relu 'x': id 'x' is used by more than one node"],
    ["zero strides", withNodes({ ...conv("c", "x", 3, 4, 8), strides: [0, 1] } as GraphNode), "conv2d 'c': strides must be positive integers, but got [0,1]"],
    ["dropout rate", withNodes({ op: "dropout", id: "d", inputs: ["x"], rate: 1 }), "dropout 'd': rate must be in [0, 1), but got 1"],
    ["values length", withNodes({ ...conv("c", "x", 1, 4, 2), weights: { kernel: { shape: [1, 1, 4, 2], values: new Float32Array(7) } } } as GraphNode), "conv2d 'c': kernel of shape [1,1,4,2] needs 8 values, but has 7"],
  ])("error: %s", (_name, graph, message) => {
    expect(() => inferShapes(graph)).toThrow(message);
  });

  it("error: an output that is not a node", () => {
    expect(() => inferShapes({ ...withNodes(), outputs: ["ghost"] })).toThrow("graph 'bad': output 'ghost' is not a node of the graph");
  });
});

describe("graphCost", () => {
  it("small net: MACs and parameters per node, by hand", () => {
    const cost = graphCost(smallNet());
    const byId = Object.fromEntries(cost.nodes.map((node) => [node.id, node]));
    // conv1: 8·8 outputs · 3·3·3 · 8 = 13,824 MACs; 3·3·3·8 + 8 = 224 params.
    expect(byId.conv1).toMatchObject({ macs: 13_824, params: 224, trainableParams: 224 });
    // bn1: 4·8 params, 2·8 trainable.
    expect(byId.bn1).toMatchObject({ macs: 0, params: 32, trainableParams: 16 });
    // dw: 4·4 outputs · 3·3 · 8 channels · 2 = 2,304 MACs; 3·3·8·2 = 144 params.
    expect(byId.dw).toMatchObject({ macs: 2_304, params: 144, outputShape: [4, 4, 16] });
    // project: 4·4 · 1·1 · 16 · 8 = 2,048 MACs; 128 params.
    expect(byId.project).toMatchObject({ macs: 2_048, params: 128 });
    // fc: 48·5 = 240 MACs; 240 + 5 params.
    expect(byId.fc).toMatchObject({ macs: 240, params: 245 });
    for (const id of ["image", "relu1", "pool", "sum", "relu2", "pad", "avg", "flat", "drop", "probs"]) expect(byId[id]).toMatchObject({ macs: 0, params: 0 });
    expect(cost.macs).toBe(13_824 + 2_304 + 2_048 + 240);
    expect(cost.params).toBe(224 + 32 + 144 + 128 + 245);
    expect(cost.trainableParams).toBe(224 + 16 + 144 + 128 + 245);
  });

  it("dense on a rank-3 input counts every position", () => {
    const graph: Graph = {
      name: "g", outputs: ["fc"],
      nodes: [{ op: "input", id: "x", inputs: [], shape: [4, 4, 6] }, { op: "dense", id: "fc", inputs: ["x"], units: 3, useBias: false, weights: { kernel: zeros(6, 3) } }],
    };
    expect(graphCost(graph).macs).toBe(16 * 6 * 3);
  });
});
