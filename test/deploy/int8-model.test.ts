// The integer-model contract: a model that keeps it passes checkInt8Model, and each rule it can
// break is named with the node that breaks it.
import { describe, expect, it } from "vitest";
import { uncompressed, withQuantization, type CompressedModel, type NodeQuantization } from "../../src/graph/compressed-model.js";
import type { Graph } from "../../src/graph/ir.js";
import { activationParams, checkInt8Model, fusedActivations, looksInt8, outputChannelGrouping, uint8Params } from "../../src/deploy/int8-model.js";

const range = (min: number, max: number) => ({ bits: 8, min, max, symmetric: false });

/** input → conv (2 filters, fused relu) → flatten → dense → softmax, weights on their grid. */
function tinyInt8Model(): CompressedModel {
  const convScales = Float32Array.of(0.01, 0.02);
  const denseScales = Float32Array.of(0.05, 0.1, 0.2);
  const graph: Graph = {
    name: "tiny-int8",
    nodes: [
      { id: "x", op: "input", inputs: [], shape: [2, 2, 1] },
      { id: "conv", op: "conv2d", inputs: ["x"], filters: 2, useBias: true, kernelSize: [1, 1], strides: [1, 1], padding: "same", dilation: [1, 1],
        weights: { kernel: { shape: [1, 1, 1, 2], values: Float32Array.of(Math.fround(100 * 0.01), Math.fround(-127 * 0.02)) }, bias: { shape: [2], values: Float32Array.of(0.1, -0.2) } } },
      { id: "relu", op: "relu", inputs: ["conv"] },
      { id: "flat", op: "flatten", inputs: ["relu"] },
      { id: "dense", op: "dense", inputs: ["flat"], units: 3, useBias: false,
        weights: { kernel: { shape: [8, 3], values: Float32Array.from({ length: 24 }, (_, i) => Math.fround(((i * 37) % 255 - 127) * denseScales[i % 3])) } } },
      { id: "probs", op: "softmax", inputs: ["dense"] },
    ],
    outputs: ["probs"],
  };
  const weights = (scales: Float32Array, groups: number): NodeQuantization["weights"] => ({
    kernel: { scheme: "uniform", bits: 8, symmetric: true, grouping: { inner: 1, groups }, scales, zeroPoints: new Int32Array(groups) },
  });
  return withQuantization(uncompressed(graph), {
    x: { activation: range(0, 1) },
    conv: { weights: weights(convScales, 2), activation: range(-3, 3) },
    relu: { activation: range(0, 2.5) },
    flat: { activation: range(0, 2.5) },
    dense: { weights: weights(denseScales, 3), activation: range(-8, 8) },
  });
}

describe("checkInt8Model", () => {
  it("accepts a model that keeps the contract", () => {
    const model = tinyInt8Model();
    expect(() => checkInt8Model(model)).not.toThrow();
    expect(looksInt8(model)).toBe(true);
    expect(looksInt8(uncompressed(model.graph))).toBe(false);
  });

  it("fuses the relu into the conv: the conv writes on the relu's range", () => {
    const model = tinyInt8Model();
    expect([...fusedActivations(model.graph).keys()]).toEqual(["conv"]);
    expect(activationParams(model, "conv")).toEqual(uint8Params(0, 2.5));
    expect(activationParams(model, "dense")).toEqual(uint8Params(-8, 8));
    const { scale, zeroPoint } = uint8Params(-8, 8);
    expect(zeroPoint).toBe(Math.round(8 / scale));
  });

  it("groups a depthwise kernel [kh, kw, C, M] by its C·M output channels", () => {
    const node = { id: "dw", op: "depthwiseConv2d", inputs: ["x"], depthMultiplier: 2, useBias: false, kernelSize: [3, 3], strides: [1, 1], padding: "same", dilation: [1, 1],
      weights: { depthwiseKernel: { shape: [3, 3, 4, 2], values: new Float32Array(72) } } } as const;
    expect(outputChannelGrouping(structuredClone(node) as never)).toEqual({ inner: 1, groups: 8 });
  });

  const broken: Array<[string, (model: CompressedModel) => void, RegExp]> = [
    ["a weight off its grid", (m) => { (m.graph.nodes[1] as { weights: { kernel: { values: Float32Array } } }).weights.kernel.values[0] += 0.001; }, /conv2d 'conv'.*kernel\[0\].*not on the grid/],
    ["a missing activation range", (m) => { delete m.quantization.relu; }, /relu 'relu'.*no activation range/],
    ["a flatten that changes the range", (m) => { m.quantization.flat = { activation: range(0, 3) }; }, /flatten 'flat'.*must keep its input's range/],
    ["4-bit weights", (m) => { m.quantization.dense = { ...m.quantization.dense, weights: { kernel: { ...m.quantization.dense.weights!.kernel, bits: 4 } } }; }, /dense 'dense'.*4-bit symmetric, not 8-bit symmetric/],
    ["per-tensor weights", (m) => { m.quantization.conv = { ...m.quantization.conv, weights: { kernel: { scheme: "uniform", bits: 8, symmetric: true, grouping: { inner: 1, groups: 1 }, scales: Float32Array.of(0.02), zeroPoints: new Int32Array(1) } } }; }, /not quantized per output channel \(2 groups\)/],
    ["a batch norm", (m) => { m.graph.nodes.splice(2, 0, { id: "bn", op: "batchNorm", inputs: ["conv"], epsilon: 1e-3, weights: { movingMean: { shape: [2], values: new Float32Array(2) }, movingVariance: { shape: [2], values: new Float32Array(2).fill(1) } } }); }, /batchNorm 'bn'.*cannot be folded/],
    ["a softmax inside the model", (m) => { m.graph.outputs = ["dense"]; }, /softmax 'probs'.*only at the model's output/],
  ];
  it.each(broken)("names %s", (_name, breakIt, message) => {
    const model = structuredClone(tinyInt8Model());
    breakIt(model);
    expect(() => checkInt8Model(model)).toThrow(message);
  });
});
