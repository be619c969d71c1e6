// Building a tfjs model from the IR: the graph comes back unchanged through graphFromTfjs,
// predictions match a hand computation and the tfjs model the graph came from, and trained
// weights (batch-norm moving statistics included) go back into the IR.
import * as tf from "@tensorflow/tfjs"; // the umbrella package registers the gradients training needs
import { beforeAll, describe, expect, it } from "vitest";
import { graphFromTfjs } from "../../src/tfjs/graph-from-tfjs.js";
import { buildTfjsModel, copyWeightsToGraph } from "../../src/tfjs/tfjs-from-graph.js";
import type { BatchNormNode, Graph, GraphNode } from "../../src/graph/ir.js";
import { createNet } from "../../src/nets/zoo.js";
import { randomFloats } from "../kernels/random.js";
import { batchNorm, conv, dense, everyOpGraph, input, plain } from "./test-graphs.js";

beforeAll(async () => {
  await tf.setBackend("cpu");
});

const byId = (graph: Graph): GraphNode[] => [...graph.nodes].sort((a, b) => a.id.localeCompare(b.id));

function predict(model: tf.LayersModel, x: tf.Tensor): Float32Array[] {
  const out = model.predict(x);
  return (Array.isArray(out) ? out : [out]).map((tensor) => tensor.dataSync() as Float32Array);
}

function maxDifference(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  return a.reduce((max, value, i) => Math.max(max, Math.abs(value - b[i])), 0);
}

/** image 4×4×2 → conv 3×3 ·3 → bn → relu → globalAvgPool → dense 3 → softmax. */
function smallBnGraph(): Graph {
  return {
    name: "small_bn",
    nodes: [
      input("image", [4, 4, 2]), conv("conv", "image", 3, 2, 3), batchNorm("bn", "conv", 3), plain("relu", "relu", "bn"),
      plain("globalAvgPool", "gap", "relu"), dense("fc", "gap", 3, 3), plain("softmax", "probs", "fc"),
    ],
    outputs: ["probs"],
  };
}

describe("buildTfjsModel → graphFromTfjs round trip", () => {
  it("every op (pad, conv valid/dilated, bn without gamma / beta, depthwise ×2, pools, add, flatten, dropout, dense, softmax, gap; two outputs)", () => {
    const graph = everyOpGraph();
    const model = buildTfjsModel(graph);
    // One layer per node, named as the node.
    expect(model.layers.map((layer) => layer.name).sort()).toEqual(graph.nodes.map((node) => node.id).sort());
    const back = graphFromTfjs(model);
    expect(back.name).toBe(graph.name);
    expect(back.outputs).toEqual(graph.outputs);
    // tfjs lists layers by depth, which may order branches differently; compare node by node.
    expect(byId(back)).toEqual(byId(graph));
    model.dispose();
  });

  it("weights are copies: changing the IR afterwards leaves the model alone, and the reverse", () => {
    const graph = smallBnGraph();
    const model = buildTfjsModel(graph);
    const kernel = (graph.nodes[1] as Extract<GraphNode, { op: "conv2d" }>).weights.kernel;
    const before = kernel.values[0];
    kernel.values[0] += 1;
    expect(model.getLayer("conv").getWeights()[0].dataSync()[0]).toBe(before);
    model.getLayer("conv").setWeights([tf.zerosLike(model.getLayer("conv").getWeights()[0])]);
    expect(kernel.values[0]).toBe(Math.fround(before + 1));
    model.dispose();
  });
});

describe("buildTfjsModel predictions", () => {
  it("hand check: input 2×2×1 → conv 2×2 (+bias) → bn → relu → flatten → dense 1→2 → softmax", () => {
    const graph: Graph = {
      name: "hand",
      nodes: [
        input("x", [2, 2, 1]),
        { op: "conv2d", id: "conv", inputs: ["x"], kernelSize: [2, 2], strides: [1, 1], padding: "valid", dilation: [1, 1], filters: 1, useBias: true,
          weights: { kernel: { shape: [2, 2, 1, 1], values: Float32Array.of(1, 2, 3, 4) }, bias: { shape: [1], values: Float32Array.of(0.5) } } },
        { op: "batchNorm", id: "bn", inputs: ["conv"], epsilon: 1e-3,
          weights: { gamma: { shape: [1], values: Float32Array.of(2) }, beta: { shape: [1], values: Float32Array.of(1) },
            movingMean: { shape: [1], values: Float32Array.of(0.5) }, movingVariance: { shape: [1], values: Float32Array.of(4) } } },
        plain("relu", "relu", "bn"), plain("flatten", "flat", "relu"),
        { op: "dense", id: "fc", inputs: ["flat"], units: 2, useBias: false, weights: { kernel: { shape: [1, 2], values: Float32Array.of(0.25, -0.25) } } },
        plain("softmax", "probs", "fc"),
      ],
      outputs: ["probs"],
    };
    const x = tf.tensor4d([1, -1, 0.5, 2, /* second example */ -3, -1, -2, 0], [2, 2, 2, 1]);
    const logitsByHand = [[1, -1, 0.5, 2], [-3, -1, -2, 0]].flatMap((pixels) => {
      const convOut = pixels[0] * 1 + pixels[1] * 2 + pixels[2] * 3 + pixels[3] * 4 + 0.5;
      const bn = (2 * (convOut - 0.5)) / Math.sqrt(4 + 1e-3) + 1;
      return [Math.max(bn, 0) * 0.25, Math.max(bn, 0) * -0.25];
    });
    const probsByHand = [0, 2].flatMap((row) => {
      const e = [Math.exp(logitsByHand[row]), Math.exp(logitsByHand[row + 1])];
      return [e[0] / (e[0] + e[1]), e[1] / (e[0] + e[1])];
    });
    expect(logitsByHand[0]).toBeCloseTo(((2 * 8.5) / Math.sqrt(4.001) + 1) * 0.25, 6);
    expect(logitsByHand.slice(2)).toEqual([0, -0]); // the second example goes through relu's zero side
    const model = buildTfjsModel(graph);
    expect(maxDifference(predict(model, x)[0], Float32Array.from(probsByHand))).toBeLessThan(1e-6);
    const logits = buildTfjsModel(graph, { withoutSoftmax: true });
    expect(maxDifference(predict(logits, x)[0], Float32Array.from(logitsByHand))).toBeLessThan(1e-6);
    model.dispose();
    logits.dispose();
  });

  it("ResNet-20 32×32×3 from tfjs → IR → tfjs predicts as the original (random BN statistics)", () => {
    const original = buildTfjsModel(createNet("resnet20"));
    // Kernels scaled by 1/sqrt(fan-in) keep the activations in range, so the softmax does not saturate.
    original.setWeights(original.weights.map((variable, k) => {
      const shape = variable.shape as number[];
      const positive = variable.originalName.endsWith("moving_variance") || variable.originalName.endsWith("gamma");
      const scale = shape.length > 1 ? 1 / Math.sqrt(shape.slice(0, -1).reduce((p, d) => p * d, 1)) : 0.2;
      return tf.tensor(randomFloats(shape.reduce((p, d) => p * d, 1), 100 + k, positive ? 0.3 : scale, positive ? 1 : 0), shape);
    }));
    const rebuilt = buildTfjsModel(graphFromTfjs(original));
    const x = tf.tensor4d(randomFloats(2 * 32 * 32 * 3, 7), [2, 32, 32, 3]);
    const [expected] = predict(original, x);
    const [actual] = predict(rebuilt, x);
    expect(maxDifference(actual, expected)).toBeLessThan(1e-6);
    // Not a degenerate comparison: the predictions differ between the two examples.
    expect(maxDifference(expected.subarray(0, 10), expected.subarray(10))).toBeGreaterThan(1e-3);
    original.dispose();
    rebuilt.dispose();
  });

  it("withoutSoftmax: outputs the logits of a final softmax, keeps other outputs, drops the softmax layer", () => {
    const graph = everyOpGraph();
    const full = buildTfjsModel(graph);
    const logits = buildTfjsModel(graph, { withoutSoftmax: true });
    expect(logits.layers.map((layer) => layer.name)).not.toContain("probs");
    const x = tf.tensor4d(randomFloats(3 * 9 * 9 * 2, 3), [3, 9, 9, 2]);
    const [probs, gap] = predict(full, x);
    const [rawLogits, gap2] = predict(logits, x);
    expect(gap2).toEqual(gap);
    expect(rawLogits.length).toBe(15);
    expect(maxDifference(tf.softmax(tf.tensor2d(rawLogits, [3, 5])).dataSync() as Float32Array, probs)).toBeLessThan(1e-6);
    // Logits are not probabilities: a row does not sum to 1.
    expect(Math.abs(rawLogits.slice(0, 5).reduce((s, v) => s + v, 0) - 1)).toBeGreaterThan(1e-3);
    full.dispose();
    logits.dispose();
  });
});

describe("training on tfjs, weights back into the IR", () => {
  it("fit updates BN moving statistics and kernels; copyWeightsToGraph writes them into the nodes", async () => {
    const graph = smallBnGraph();
    const bn = graph.nodes.find((node) => node.id === "bn") as BatchNormNode;
    const meanBefore = Float32Array.from(bn.weights.movingMean.values);
    const varianceBefore = Float32Array.from(bn.weights.movingVariance.values);
    const model = buildTfjsModel(graph, { withoutSoftmax: true, batchNormMomentum: 0.5 });
    model.compile({ optimizer: tf.train.sgd(0.1), loss: (labels: tf.Tensor, logits: tf.Tensor) => tf.losses.softmaxCrossEntropy(labels, logits) });
    const x = tf.tensor4d(randomFloats(8 * 4 * 4 * 2, 11, 2, 1), [8, 4, 4, 2]);
    const y = tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2, 0, 1], "int32"), 3);
    await model.fit(x, y, { epochs: 2, batchSize: 8, verbose: 0 });
    const layerWeights = (name: string): Float32Array[] => model.getLayer(name).getWeights().map((w) => w.dataSync() as Float32Array);
    const [gamma, beta, movingMean, movingVariance] = layerWeights("bn");
    expect(maxDifference(movingMean, meanBefore)).toBeGreaterThan(1e-3);
    expect(copyWeightsToGraph(model, graph)).toBe(graph);
    expect(bn.weights.movingMean.values).toEqual(movingMean);
    expect(bn.weights.movingVariance.values).toEqual(movingVariance);
    expect(maxDifference(bn.weights.movingVariance.values, varianceBefore)).toBeGreaterThan(1e-3);
    expect(bn.weights.gamma?.values).toEqual(gamma);
    expect(bn.weights.beta?.values).toEqual(beta);
    const fc = graph.nodes.find((node) => node.id === "fc") as Extract<GraphNode, { op: "dense" }>;
    const [fcKernel, fcBias] = layerWeights("fc");
    expect(fc.weights.kernel.values).toEqual(fcKernel);
    expect(fc.weights.bias?.values).toEqual(fcBias);
    // The copied graph predicts as the trained model (inference mode).
    const [trained] = predict(model, x);
    const [fromGraph] = predict(buildTfjsModel(graph, { withoutSoftmax: true }), x);
    expect(maxDifference(fromGraph, trained)).toBeLessThan(1e-6);
    model.dispose();
  });

  it("errors name the node and leave the graph unchanged: missing layer, extra layer, shape mismatch, NaN", () => {
    const graph = smallBnGraph();
    const model = buildTfjsModel(graph);
    const snapshot = structuredClone(graph);
    const noFc: Graph = { ...graph, nodes: graph.nodes.map((node) => (node.id === "fc" ? { ...node, id: "fc2" } : node)) };
    expect(() => copyWeightsToGraph(model, noFc)).toThrow("copyWeightsToGraph: layer 'fc' of model 'small_bn' has weights but graph 'small_bn' has no node of that id");
    const bigger = smallBnGraph();
    bigger.nodes.push(dense("extra", "fc", 3, 2));
    expect(() => copyWeightsToGraph(model, bigger)).toThrow("copyWeightsToGraph: node 'extra' (dense) has weights but model 'small_bn' has no layer of that name");
    const reshaped = structuredClone(graph);
    (reshaped.nodes[1] as Extract<GraphNode, { op: "conv2d" }>).weights.kernel.shape = [3, 3, 1, 6];
    expect(() => copyWeightsToGraph(model, reshaped)).toThrow("copyWeightsToGraph: node 'conv' (conv2d): kernel has shape [3,3,1,6] in the graph but [3,3,2,3] in model 'small_bn'");
    model.getLayer("bn").setWeights(model.getLayer("bn").getWeights().map((w, k) => (k === 2 ? tf.fill(w.shape, NaN) : w)));
    expect(() => copyWeightsToGraph(model, graph)).toThrow(/copyWeightsToGraph: node 'bn' \(batchNorm\): movingMean\[0\] is NaN in model 'small_bn'; training diverged/);
    // The conv node came before the failing bn node, yet nothing was written.
    expect(graph).toEqual(snapshot);
    model.dispose();
  });

  it("error: a batch norm without gamma in the graph does not take a layer that has one", () => {
    const graph = smallBnGraph();
    const model = buildTfjsModel(graph);
    delete (graph.nodes[2] as BatchNormNode).weights.gamma;
    expect(() => copyWeightsToGraph(model, graph)).toThrow("copyWeightsToGraph: node 'bn' (batchNorm): layer 'bn' of model 'small_bn' has a 'gamma' weight that the node lacks");
    model.dispose();
  });
});

describe("buildTfjsModel errors name the node", () => {
  it("an id tfjs cannot take as a weight name", () => {
    const graph = smallBnGraph();
    graph.nodes[1].id = "conv 1";
    graph.nodes[2].inputs = ["conv 1"];
    expect(() => buildTfjsModel(graph)).toThrow(/^buildTfjsModel: node 'conv 1' \(conv2d\): .*conv 1/);
  });

  it("strides and dilation both above 1", () => {
    const graph = smallBnGraph();
    graph.nodes[1] = conv("conv", "image", 3, 2, 3, { strides: 2, dilation: 2 });
    expect(() => buildTfjsModel(graph)).toThrow("buildTfjsModel: node 'conv' (conv2d): has strides [2,2] and dilation [2,2]; tfjs needs one of them to be 1");
  });

  it("shape errors come from shape inference, naming the node; momentum out of range", () => {
    const graph = smallBnGraph();
    graph.nodes[5] = dense("fc", "gap", 4, 3);
    expect(() => buildTfjsModel(graph)).toThrow("dense 'fc': expects 4 input features");
    expect(() => buildTfjsModel(smallBnGraph(), { batchNormMomentum: 1 })).toThrow("buildTfjsModel: batchNormMomentum must be in [0, 1), but got 1");
  });
});
