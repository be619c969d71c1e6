// The fp32 engine against our tfjs path (buildTfjsModel on the pocketflow backend): the zoo's
// nets with seeded weights and batch-norm statistics, a channel-shrunk ResNet, every IR op, and
// the shipped ResNet-20; then what the engine promises beyond equal outputs (buffers planned once
// per batch size, checked inputs).
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { loadEngine } from "../../src/deploy/engine.js";
import { sizeOf, type Graph, type InputNode } from "../../src/graph/ir.js";
import { shrinkChannels } from "../../src/graph/shrink.js";
import { loadCompressedModel } from "../../src/io/compressed-model-dir.js";
import { createNet } from "../../src/nets/zoo.js";
import { buildTfjsModel } from "../../src/tfjs/tfjs-from-graph.js";
import { selectBackend } from "../../src/train/backend-select.js";
import { keepFractionEverywhere, randomizeBatchNorms } from "../graph/shrink-helpers.js";
import { everyOpGraph, inceptionLike } from "../graph/test-graphs.js";
import { randomFloats } from "../kernels/random.js";

beforeAll(async () => {
  await selectBackend({ backend: "pocketflow" });
});

const inputShapeOf = (graph: Graph): number[] => (graph.nodes.find((node) => node.op === "input") as InputNode).shape;

/** tfjs's outputs (without a final softmax) on a batch. */
function tfjsOutputs(graph: Graph, x: Float32Array, batch: number): Float32Array[] {
  const model = buildTfjsModel(graph, { withoutSoftmax: true });
  try {
    return tf.tidy(() => {
      const out = model.predict(tf.tensor(x, [batch, ...inputShapeOf(graph)]), { batchSize: batch });
      return (Array.isArray(out) ? out : [out]).map((tensor) => tensor.dataSync() as Float32Array);
    });
  } finally {
    model.dispose();
  }
}

/** Largest |a - b| over the largest |b|. */
function relativeDifference(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  let scale = Number.MIN_VALUE;
  for (let i = 0; i < b.length; i++) {
    worst = Math.max(worst, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return worst / scale;
}

function expectEngineMatchesTfjs(graph: Graph, batch: number, seed: number): void {
  const x = randomFloats(batch * sizeOf(inputShapeOf(graph)), seed);
  const engine = loadEngine(graph);
  const expected = tfjsOutputs(graph, x, batch);
  const ours = engine.runOutputs(x, batch);
  expect(ours.length).toBe(expected.length);
  ours.forEach((output, i) => expect(relativeDifference(output, expected[i])).toBeLessThan(1e-4));
}

describe("fp32 engine = tfjs path (within 1e-4 of the largest logit)", () => {
  it("resnet20 32×32×3, batch 3, seeded batch-norm statistics", () => {
    expectEngineMatchesTfjs(randomizeBatchNorms(createNet("resnet20", { inputShape: [32, 32, 3], classes: 10, seed: 1 }), 10), 3, 1);
  });

  it("mobilenet-v2 0.5 32×32×3, batch 2, seeded batch-norm statistics", () => {
    const graph = createNet("mobilenet-v2", { widthMultiplier: 0.5, inputShape: [32, 32, 3], classes: 10, seed: 2 });
    expectEngineMatchesTfjs(randomizeBatchNorms(graph, 20), 2, 2);
  });

  it("lenet 28×28×1, batch 5", () => {
    expectEngineMatchesTfjs(createNet("lenet", { seed: 3 }), 5, 3);
  });

  it("resnet20 16×16×3 with every prunable group shrunk to 60% of its channels", () => {
    const graph = randomizeBatchNorms(createNet("resnet20", { inputShape: [16, 16, 3], classes: 10, seed: 4 }), 30);
    expectEngineMatchesTfjs(shrinkChannels(graph, keepFractionEverywhere(graph, 0.6)), 2, 4);
  });

  it("every IR op (pad, dilated and valid convs, bn without gamma/beta, depthwise ×2, pools, add, flatten, dropout, dense, gap)", () => {
    expectEngineMatchesTfjs(everyOpGraph(), 3, 5);
  });

  it("an Inception-like join (concatenate of branches)", () => {
    expectEngineMatchesTfjs(inceptionLike(), 2, 6);
  });

  it("the shipped resnet20-fashion-mnist, batch 4", async () => {
    const { model } = await loadCompressedModel("models/resnet20-fashion-mnist");
    expectEngineMatchesTfjs(model.graph, 4, 7);
  });
});

describe("fp32 engine: plans and checks", () => {
  const graph = createNet("lenet", { seed: 8 });
  const size = sizeOf(inputShapeOf(graph));

  it("a batch size is planned once: the same output array comes back, and batch sizes do not disturb each other", () => {
    const engine = loadEngine(graph);
    const x1 = randomFloats(size, 1);
    const x4 = randomFloats(4 * size, 2);
    const first = Float32Array.from(engine.run(x1, 1));
    const out4 = Float32Array.from(engine.run(x4, 4));
    const again = engine.run(x1, 1);
    expect(again).toEqual(first);
    expect(engine.run(x1, 1)).toBe(again);
    // each example of a batch is computed as on its own
    expect(relativeDifference(out4.subarray(0, 10), engine.run(x4.subarray(0, size), 1))).toBeLessThan(1e-5);
  });

  it("finalSoftmax applies the model's softmax: rows sum to 1", () => {
    const probabilities = loadEngine(graph, { finalSoftmax: true }).run(randomFloats(2 * size, 3), 2);
    expect(probabilities[0] + probabilities.subarray(0, 10).slice(1).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
  });

  it("an input of the wrong length names the expected size and the fix", () => {
    expect(() => loadEngine(graph).run(new Float32Array(size + 1), 1)).toThrow(/input must hold batch × \[28, 28, 1\] = 784 values, but has 785; pass the batch size/);
  });
});
