// Activation taps on our backend, where inference folds conv → batch norm → relu into one
// kernel: the taps must be the IR's tensors, as an unfused build computes them, and a
// convolution's sampled rows must satisfy Y = X·W (+ b) with X the input patches.
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { beforeAll, describe, expect, it } from "vitest";
import { collectActivations, type NodeActivations } from "../../src/tfjs/activation-taps.js";
import { buildTfjsModel } from "../../src/tfjs/tfjs-from-graph.js";
import { resnet } from "../../src/nets/resnet.js";
import { syntheticDataset } from "../../src/data/synthetic.js";
import { batches, computeNormalization } from "../../src/data/batches.js";
import { gatherSamples, type Dataset } from "../../src/data/dataset.js";
import { convGeometry } from "../../src/kernels/conv-geometry.js";
import { im2colRef } from "../../src/kernels/reference/im2col.js";
import { seededRandom } from "../../src/util/random.js";
import type { Conv2DNode, DepthwiseConv2DNode, Graph, GraphNode } from "../../src/graph/ir.js";
import { batchNorm, conv, dense, depthwise, input, plain } from "../graph/test-graphs.js";
import { maxRelativeError, OURS } from "../backend/compare.js";

beforeAll(async () => {
  await tf.setBackend(OURS);
});

/** ResNet-20 whose batch norms have seeded, far-from-identity parameters, so that folding them changes values. */
function resnet20WithBatchNormStatistics(): Graph {
  const graph = resnet({ depth: 20, seed: 5 });
  const random = seededRandom(11);
  const fill = (values: Float32Array, low: number, high: number) => values.forEach((_, i) => { values[i] = low + (high - low) * random(); });
  for (const node of graph.nodes) {
    if (node.op !== "batchNorm") continue;
    const { gamma, beta, movingMean, movingVariance } = node.weights;
    if (gamma) fill(gamma.values, 0.5, 2);
    if (beta) fill(beta.values, -0.5, 0.5);
    fill(movingMean.values, -0.3, 0.3);
    fill(movingVariance.values, 0.2, 3);
  }
  return graph;
}

/** The normalized images of `indices`, as batches() makes them, in one array. */
function imagesOf(dataset: Dataset, indices: Uint32Array, normalization?: { mean: number[]; std: number[] }): Float32Array {
  const chosen = gatherSamples(dataset, indices, "chosen");
  return [...batches(chosen, { batchSize: indices.length, normalization })][0].images;
}

/**
 * The outputs of the layers of `ids` in a model built from the graph, in inference: unfused
 * (tfjs-layers' own batch norm, nothing folded) gives the IR's tensors; fused gives what a
 * naive tap inside the inference model reads.
 */
function layerOutputs(graph: Graph, fusedBatchNorm: boolean, ids: string[], images: Float32Array, count: number): Map<string, Float32Array> {
  const built = buildTfjsModel(graph, { fusedBatchNorm, withoutSoftmax: true });
  const model = tfl.model({ inputs: built.inputs, outputs: ids.map((id) => built.getLayer(id).output as tfl.SymbolicTensor) });
  const shape = [count, ...built.inputs[0].shape.slice(1)] as number[];
  const values = tf.tidy(() => (model.apply(tf.tensor(images, shape), { training: false }) as tf.Tensor[]).map((t) => Float32Array.from(t.dataSync() as Float32Array)));
  built.dispose();
  return new Map(ids.map((id, i) => [id, values[i]]));
}

describe("collectActivations: whole tensors are the IR's, not the fused model's", () => {
  const graph = resnet20WithBatchNormStatistics();
  const dataset = syntheticDataset({ imageShape: [32, 32, 3], trainCount: 7, testCount: 1, seed: 3 }).train;
  const normalization = computeNormalization(dataset);
  const convId = "stage1_block1_1_conv";
  const tapped = [convId, "stage1_block1_1_bn", "stage1_block1_1_relu", "stage1_block1_add", "stem_conv", "logits"];
  const samples = 5;
  // The layers before a tap still run fused (the same map, other roundings), up to 20 layers
  // deep for the logits; a naive tap is off by more than 0.1.
  const tolerance = 1e-3;

  it("ResNet-20 32×32×3, 5 images in batches of 2: conv (→ bn → relu), bn, relu, residual add (two inputs), stem conv (reads the images), dense logits (rows of features)", () => {
    const before = tf.memory().numTensors;
    const taps = collectActivations(graph, dataset, { nodes: tapped, samples, batchSize: 2, normalization, seed: 9 });
    const after = tf.memory().numTensors;
    const images = imagesOf(dataset, taps.sampleIndices, normalization);
    const byId = new Map(graph.nodes.map((node) => [node.id, node]));
    const readIds = [...new Set(tapped.flatMap((id) => [id, ...(byId.get(id) as GraphNode).inputs]))].filter((id) => id !== "input");
    const expected = layerOutputs(graph, false, readIds, images, samples);
    for (const id of tapped) {
      const tap = taps.nodes.get(id) as NodeActivations;
      expect(tap.rows).toBe(samples);
      expect(maxRelativeError(tap.output, expected.get(id) as Float32Array), `${id} output`).toBeLessThan(tolerance);
      const node = byId.get(id) as GraphNode;
      expect(tap.inputs).toHaveLength(node.inputs.length);
      node.inputs.forEach((inputId, i) => {
        const want = inputId === "input" ? images : (expected.get(inputId) as Float32Array);
        expect(maxRelativeError(tap.inputs[i], want), `${id} input ${inputId}`).toBeLessThan(tolerance);
      });
    }
    expect(taps.nodes.get("stage1_block1_add")?.inputs).toHaveLength(2);
    expect(taps.nodes.get(convId)?.outputRowShape).toEqual([32, 32, 16]);
    expect(taps.nodes.get("logits")?.inputRowShape).toEqual([64]);
    expect(after).toBe(before);
  });

  it("a naive tap inside the fused model is wrong there: the folded conv outputs relu(bn(conv)), the bn outputs relu(bn)", () => {
    const taps = collectActivations(graph, dataset, { nodes: [convId, "stage1_block1_1_bn"], samples: 2, normalization, seed: 1 });
    const images = imagesOf(dataset, taps.sampleIndices, normalization);
    const naive = layerOutputs(graph, true, [convId, "stage1_block1_1_bn", "stage1_block1_1_relu"], images, 2);
    const relu = naive.get("stage1_block1_1_relu") as Float32Array;
    expect(maxRelativeError(naive.get(convId) as Float32Array, relu)).toBeLessThan(1e-4);
    expect(maxRelativeError(naive.get(convId) as Float32Array, taps.nodes.get(convId)?.output as Float32Array)).toBeGreaterThan(0.1);
    expect(maxRelativeError(naive.get("stage1_block1_1_bn") as Float32Array, taps.nodes.get("stage1_block1_1_bn")?.output as Float32Array)).toBeGreaterThan(0.1);
  });
});

/**
 * image 9×9×3 → conv 3×3 s2 same (no bias, 5×5×4) → bn → relu → [conv 3×3 dilation 2 same +bias
 * (5×5×3) → gap → dense] and [depthwise 3×3 ×2 +bias (5×5×8)]. Every call gives new weights.
 */
function windowGraph(): Graph {
  return {
    name: "windows",
    nodes: [
      input("image", [9, 9, 3]),
      conv("conv", "image", 3, 3, 4, { strides: 2 }), batchNorm("bn", "conv", 4), plain("relu", "relu", "bn"),
      conv("dilated", "relu", 3, 4, 3, { dilation: 2, useBias: true }), plain("globalAvgPool", "gap", "dilated"), dense("fc", "gap", 3, 2),
      depthwise("dw", "relu", 3, 4, 2, 1, true),
    ],
    outputs: ["fc", "dw"],
  };
}

/** patch rows · kernel + bias, per row: [kh·kw·cin] · [kh·kw·cin, cout] for a conv, channel by channel for a depthwise. */
function patchesTimesKernel(tap: NodeActivations, node: Conv2DNode | DepthwiseConv2DNode): Float32Array {
  const kernel = node.op === "conv2d" ? node.weights.kernel : node.weights.depthwiseKernel;
  const [kh, kw, channels, perInput] = kernel.shape;
  const outChannels = node.op === "conv2d" ? perInput : channels * perInput;
  const result = new Float32Array(tap.rows * outChannels);
  for (let row = 0; row < tap.rows; row++) {
    for (let o = 0; o < outChannels; o++) {
      let sum = node.weights.bias?.values[o] ?? 0;
      for (let tapIndex = 0; tapIndex < kh * kw; tapIndex++) {
        const patch = tap.input.subarray((row * kh * kw + tapIndex) * channels, (row * kh * kw + tapIndex + 1) * channels);
        if (node.op === "conv2d") patch.forEach((v, c) => { sum += v * kernel.values[(tapIndex * channels + c) * outChannels + o]; });
        else sum += patch[Math.floor(o / perInput)] * kernel.values[tapIndex * outChannels + o];
      }
      result[row * outChannels + o] = sum;
    }
  }
  return result;
}

/** The rows of a whole-tensor tap at the sampled positions of a position tap (k per image). */
function rowsAtPositions(whole: Float32Array, mapShape: number[], positions: Int32Array, k: number): Float32Array {
  const [height, width, channels] = mapShape;
  const rows = positions.length / 2;
  const out = new Float32Array(rows * channels);
  for (let row = 0; row < rows; row++) {
    const from = ((Math.floor(row / k) * height + positions[2 * row]) * width + positions[2 * row + 1]) * channels;
    out.set(whole.subarray(from, from + channels), row * channels);
  }
  return out;
}

describe("collectActivations with positionsPerImage: rows of Y = X·W", () => {
  const graph = windowGraph();
  const byId = new Map(graph.nodes.map((node) => [node.id, node]));
  const dataset = syntheticDataset({ imageShape: [9, 9, 3], trainCount: 8, testCount: 1, seed: 4 }).train;
  const nodes = ["conv", "bn", "dilated", "dw"];

  it("k=25 of 5×5 (every position, edges included), 3 images: conv 3×3 s2, dilated conv +bias, depthwise ×2 +bias: output rows = patch rows · kernel (+ bias)", () => {
    const before = tf.memory().numTensors;
    const taps = collectActivations(graph, dataset, { nodes, samples: 3, batchSize: 2, seed: 2, positionsPerImage: 25 });
    expect(tf.memory().numTensors).toBe(before);
    for (const id of ["conv", "dilated", "dw"]) {
      const tap = taps.nodes.get(id) as NodeActivations;
      expect(tap.rows).toBe(75);
      expect(maxRelativeError(tap.output, patchesTimesKernel(tap, byId.get(id) as Conv2DNode)), id).toBeLessThan(1e-4);
    }
    expect(taps.nodes.get("conv")?.inputRowShape).toEqual([3, 3, 3]);
    expect(taps.nodes.get("dw")?.outputRowShape).toEqual([8]);
    const positions = taps.nodes.get("conv")?.positions as Int32Array;
    for (let image = 0; image < 3; image++) {
      const cells = new Set(Array.from({ length: 25 }, (_, i) => positions[2 * (image * 25 + i)] * 5 + positions[2 * (image * 25 + i) + 1]));
      expect(cells.size).toBe(25);
    }
  });

  it("conv input rows are im2col's rows (zeros in the padding); every row equals the whole tensors at its position; bn rows pair conv outputs with bn outputs", () => {
    const k = 6;
    const taps = collectActivations(graph, dataset, { nodes, samples: 4, batchSize: 3, seed: 5, positionsPerImage: k });
    const whole = collectActivations(graph, dataset, { nodes, samples: 4, seed: 5 });
    expect(Array.from(whole.sampleIndices)).toEqual(Array.from(taps.sampleIndices));
    const images = imagesOf(dataset, taps.sampleIndices);
    const g = convGeometry([4, 9, 9, 3], [3, 3], { strides: 2, padding: "same" });
    const cols = im2colRef(images, g);
    const conv = taps.nodes.get("conv") as NodeActivations;
    const positions = conv.positions as Int32Array;
    expect(conv.rows).toBe(4 * k);
    for (let row = 0; row < conv.rows; row++) {
      const colRow = (Math.floor(row / k) * 5 + positions[2 * row]) * 5 + positions[2 * row + 1];
      expect(Array.from(conv.input.subarray(row * 27, (row + 1) * 27))).toEqual(Array.from(cols.subarray(colRow * 27, (colRow + 1) * 27)));
    }
    for (const id of nodes) {
      const tap = taps.nodes.get(id) as NodeActivations;
      const full = whole.nodes.get(id) as NodeActivations;
      expect(maxRelativeError(tap.output, rowsAtPositions(full.output, full.outputRowShape, tap.positions as Int32Array, k)), id).toBe(0);
    }
    const bn = taps.nodes.get("bn") as NodeActivations;
    expect(maxRelativeError(bn.input, rowsAtPositions(whole.nodes.get("conv")?.output as Float32Array, [5, 5, 4], bn.positions as Int32Array, k))).toBe(0);
  });

  it("positions are seeded per node: same seed → same positions and rows whatever the batch size or the other nodes tapped; another seed → other positions", () => {
    const options = { samples: 3, positionsPerImage: 4 };
    const first = collectActivations(graph, dataset, { ...options, nodes, seed: 8, batchSize: 3 });
    const again = collectActivations(graph, dataset, { ...options, nodes: ["dilated"], seed: 8, batchSize: 1 });
    const other = collectActivations(graph, dataset, { ...options, nodes: ["dilated"], seed: 9, batchSize: 3 });
    const dilated = first.nodes.get("dilated") as NodeActivations;
    expect(dilated.rows).toBe(12);
    expect(Array.from(again.nodes.get("dilated")?.positions ?? [])).toEqual(Array.from(dilated.positions ?? []));
    // alone, its input's batch norm folds into the conv before it: the same values up to rounding
    expect(maxRelativeError(again.nodes.get("dilated")?.input as Float32Array, dilated.input)).toBeLessThan(1e-5);
    expect(maxRelativeError(again.nodes.get("dilated")?.output as Float32Array, dilated.output)).toBeLessThan(1e-5);
    expect(Array.from(other.nodes.get("dilated")?.positions ?? [])).not.toEqual(Array.from(dilated.positions ?? []));
    expect(Array.from(first.nodes.get("conv")?.positions ?? [])).not.toEqual(Array.from(dilated.positions ?? []));
  });
});

describe("collectActivations refuses bad requests up front", () => {
  const graph = windowGraph();
  const dataset = syntheticDataset({ imageShape: [9, 9, 3], trainCount: 4, testCount: 1, seed: 4 }).train;

  it("over maxBytes: names the rows, the values and what to lower, before reading an image or building a model", () => {
    const unreadable: Dataset = {
      name: "unreadable", labels: new Uint8Array(1000), imageShape: [9, 9, 3], numClasses: 2,
      get images(): Uint8Array { throw new Error("the images were read"); },
    };
    const before = tf.memory().numTensors;
    // 1000 rows × (27 patch + 4 output) values × 4 bytes = 124,000 bytes
    expect(() => collectActivations(graph, unreadable, { nodes: ["conv"], samples: 100, positionsPerImage: 10, maxBytes: 100_000 }))
      .toThrow(/would keep 1000 rows \(images × 10 positions\) × 31 values .*'conv'.* = 0\.1 MiB, over maxBytes 0\.1 MiB; lower samples, positionsPerImage or tap fewer nodes, or raise maxBytes/);
    expect(() => collectActivations(graph, unreadable, { nodes: ["conv", "bn"], samples: 1000, maxBytes: 1e6 }))
      .toThrow(/would keep 1000 rows \(images\) × 543 values over 2 node\(s\) \(most: 'conv', 343 per row\).*lower samples, set positionsPerImage/);
    expect(tf.memory().numTensors).toBe(before);
    expect(() => collectActivations(graph, unreadable, { nodes: ["conv"], samples: 100, positionsPerImage: 10, maxBytes: 124_000 })).toThrow(/the images were read/);
  });

  it("unknown, input and repeated nodes; positions on nodes without rows of Y = X·W, or more than the map holds; samples, shapes", () => {
    const tap = (options: Partial<Parameters<typeof collectActivations>[2]>) => () => collectActivations(graph, dataset, { nodes: ["conv"], samples: 2, ...options });
    expect(tap({ nodes: ["nope"] })).toThrow(/graph 'windows' has no node 'nope'/);
    expect(tap({ nodes: [] })).toThrow(/nodes must name at least one node/);
    expect(tap({ nodes: ["image"] })).toThrow(/node 'image' is the graph's input; tap the nodes that read it/);
    expect(tap({ nodes: ["bn", "bn"] })).toThrow(/names 'bn' twice/);
    expect(tap({ nodes: ["fc"], positionsPerImage: 2 })).toThrow(/node 'fc' is a dense; positionsPerImage takes conv2d, depthwiseConv2d and positionwise nodes .*: tap it without positionsPerImage/);
    expect(tap({ positionsPerImage: 26 })).toThrow(/positionsPerImage must be at most the 5×5 = 25 output positions of node 'conv', but got 26/);
    expect(tap({ positionsPerImage: 0 })).toThrow(/positionsPerImage must be an integer >= 1, but got 0/);
    expect(tap({ samples: 5 })).toThrow(/samples must be an integer in 1\.\.4 \(the images of dataset 'synthetic train'\), but got 5/);
    expect(tap({ maxBytes: 0 })).toThrow(/maxBytes must be a positive number of bytes, but got 0/);
    const other = syntheticDataset({ imageShape: [8, 8, 3], trainCount: 2, testCount: 1 }).train;
    expect(() => collectActivations(graph, other, { nodes: ["conv"], samples: 1 })).toThrow(/graph 'windows' takes \[9,9,3\] images, but dataset 'synthetic train' has \[8,8,3\]/);
  });
});
