// Small IR graphs built by hand for the graph, backend and io tests, with seeded weights so
// every failure replays.
import type { Graph, GraphNode, Weight, WindowPadding } from "../../src/graph/ir.js";
import { randomFloats } from "../kernels/random.js";

let nextSeed = 1;

/** A weight of the given shape with seeded values in [-scale, scale) + offset. */
export function seededWeight(shape: number[], scale = 0.5, offset = 0): Weight {
  return { shape, values: randomFloats(shape.reduce((p, d) => p * d, 1), nextSeed++, scale, offset) };
}

export function conv(id: string, input: string, kernel: number, inChannels: number, filters: number,
  options: { strides?: number; padding?: WindowPadding; dilation?: number; useBias?: boolean } = {}): GraphNode {
  const { strides = 1, padding = "same", dilation = 1, useBias = false } = options;
  return {
    op: "conv2d", id, inputs: [input], kernelSize: [kernel, kernel], strides: [strides, strides], padding,
    dilation: [dilation, dilation], filters, useBias,
    weights: { kernel: seededWeight([kernel, kernel, inChannels, filters]), ...(useBias ? { bias: seededWeight([filters]) } : {}) },
  };
}

export function depthwise(id: string, input: string, kernel: number, channels: number, depthMultiplier = 1, strides = 1, useBias = false): GraphNode {
  return {
    op: "depthwiseConv2d", id, inputs: [input], kernelSize: [kernel, kernel], strides: [strides, strides], padding: "same",
    dilation: [1, 1], depthMultiplier, useBias,
    weights: { depthwiseKernel: seededWeight([kernel, kernel, channels, depthMultiplier]), ...(useBias ? { bias: seededWeight([channels * depthMultiplier]) } : {}) },
  };
}

export function dense(id: string, input: string, inFeatures: number, units: number, useBias = true): GraphNode {
  return { op: "dense", id, inputs: [input], units, useBias, weights: { kernel: seededWeight([inFeatures, units]), ...(useBias ? { bias: seededWeight([units]) } : {}) } };
}

/** Batch norm with seeded statistics (variance in [0.5, 1.5)); gamma or beta left out on request. */
export function batchNorm(id: string, input: string, channels: number, parts: { gamma?: boolean; beta?: boolean } = {}): GraphNode {
  const { gamma = true, beta = true } = parts;
  return {
    op: "batchNorm", id, inputs: [input], epsilon: 1e-3,
    weights: {
      ...(gamma ? { gamma: seededWeight([channels], 0.5, 1) } : {}),
      ...(beta ? { beta: seededWeight([channels]) } : {}),
      movingMean: seededWeight([channels], 0.2), movingVariance: seededWeight([channels], 0.5, 1),
    },
  };
}

export const plain = (op: "relu" | "relu6" | "softmax" | "flatten" | "globalAvgPool", id: string, input: string): GraphNode => ({ op, id, inputs: [input] });
export const add = (id: string, ...inputs: string[]): GraphNode => ({ op: "add", id, inputs });
export const concatenate = (id: string, ...inputs: string[]): GraphNode => ({ op: "concatenate", id, inputs });
export const input = (id: string, shape: number[]): GraphNode => ({ op: "input", id, inputs: [], shape });

/**
 * Every IR op, two outputs:
 * image 9×9×2 → pad → conv 3×3 valid +bias → bn (no gamma) → relu → depthwise ×2 +bias → bn (no
 * beta) → relu6 → maxpool 2 → [conv 1×1 → bn] + maxpool → avgpool 2 s1 same → conv 3×3 dilation 2
 * → flatten → dropout → dense 5 → softmax; and globalAvgPool of the avgpool as a second output.
 * Every call gives the same weights.
 */
export function everyOpGraph(): Graph {
  nextSeed = 1;
  const nodes: GraphNode[] = [
    input("image", [9, 9, 2]),
    { op: "zeroPad2d", id: "pad", inputs: ["image"], padding: [1, 0, 0, 1] },
    conv("conv1", "pad", 3, 2, 4, { padding: "valid", useBias: true }),
    batchNorm("bn1", "conv1", 4, { gamma: false }),
    plain("relu", "conv1/relu", "bn1"),
    depthwise("dw", "conv1/relu", 3, 4, 2, 1, true),
    batchNorm("bn2", "dw", 8, { beta: false }),
    plain("relu6", "relu6", "bn2"),
    { op: "maxPool", id: "pool", inputs: ["relu6"], poolSize: [2, 2], strides: [2, 2], padding: "valid" },
    conv("proj", "pool", 1, 8, 8),
    batchNorm("bn3", "proj", 8),
    add("sum", "bn3", "pool"),
    { op: "avgPool", id: "avg", inputs: ["sum"], poolSize: [2, 2], strides: [1, 1], padding: "same" },
    conv("dilated", "avg", 3, 8, 3, { dilation: 2, useBias: true }),
    plain("flatten", "flat", "dilated"),
    { op: "dropout", id: "drop", inputs: ["flat"], rate: 0.25 },
    dense("fc", "drop", 48, 5),
    plain("softmax", "probs", "fc"),
    plain("globalAvgPool", "gap", "avg"),
  ];
  return { name: "every_op", nodes, outputs: ["probs", "gap"] };
}

/**
 * Inception- then DenseNet-like, on concatenations:
 * image 8×8×3 → stem 3×3·4 → bn → relu; three branches of it: a 1×1·3 +bias → relu, b 3×3·5 →
 * bn → relu, and a 3×3 stride-1 max pool (the stem's own channels); mix = [a | b | pool] (3+5+4);
 * post 3×3·6 → bn → relu; grow = [mix | post] (12+6, a block's input and output as DenseNet
 * joins them) → bn → relu → gap → fc 18→5 → softmax.
 */
export function inceptionLike(): Graph {
  const nodes: GraphNode[] = [
    input("image", [8, 8, 3]), conv("stem", "image", 3, 3, 4), batchNorm("stem/bn", "stem", 4), plain("relu", "stem/relu", "stem/bn"),
    conv("a", "stem/relu", 1, 4, 3, { useBias: true }), plain("relu", "a/relu", "a"),
    conv("b", "stem/relu", 3, 4, 5), batchNorm("b/bn", "b", 5), plain("relu", "b/relu", "b/bn"),
    { op: "maxPool", id: "pool", inputs: ["stem/relu"], poolSize: [3, 3], strides: [1, 1], padding: "same" },
    concatenate("mix", "a/relu", "b/relu", "pool"),
    conv("post", "mix", 3, 12, 6), batchNorm("post/bn", "post", 6), plain("relu", "post/relu", "post/bn"),
    concatenate("grow", "mix", "post/relu"), batchNorm("grow/bn", "grow", 18), plain("relu", "grow/relu", "grow/bn"),
    plain("globalAvgPool", "gap", "grow/relu"), dense("fc", "gap", 18, 5), plain("softmax", "probs", "fc"),
  ];
  return { name: "inception_like", nodes, outputs: ["probs"] };
}
