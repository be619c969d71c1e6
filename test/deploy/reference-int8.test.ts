// The int8 engine against the plain-loop interpreter of the integer-model contract
// (deploy/reference-int8.ts): the dequantized logits equal bit for bit, so every uint8 code before
// them does, on zoo nets calibrated by deploy/calibrate.ts. The runner takes the relaxed-SIMD
// kernels; POCKETFLOW_FMA=0 runs this file on the plain SIMD build.
import { describe, expect, it } from "vitest";
import { calibratedInt8Model, calibrationBatch } from "../../src/deploy/calibrate.js";
import { loadEngine } from "../../src/deploy/engine.js";
import { runInt8Reference } from "../../src/deploy/reference-int8.js";
import { uncompressed } from "../../src/graph/compressed-model.js";
import type { Graph, InputNode } from "../../src/graph/ir.js";
import { createNet } from "../../src/nets/zoo.js";
import { randomizeBatchNorms } from "../graph/shrink-helpers.js";
import { randomFloats } from "../kernels/random.js";

/** Seeded non-zero biases for every layer that has one (the zoo initializes them to 0). */
function randomizeBiases(graph: Graph, seed: number): Graph {
  for (const node of graph.nodes) {
    if ((node.op === "conv2d" || node.op === "dense" || node.op === "depthwiseConv2d") && node.weights.bias !== undefined) {
      node.weights.bias.values = randomFloats(node.weights.bias.values.length, seed++, 0.2);
    }
  }
  return graph;
}

function expectEngineEqualsReference(graph: Graph, batches: number[]): void {
  const model = calibratedInt8Model(uncompressed(graph));
  expect(model).toBeDefined();
  const int8 = model!;
  const shape = (int8.graph.nodes.find((node) => node.op === "input") as InputNode).shape;
  const engine = loadEngine(int8, { precision: "int8" });
  for (const batch of batches) {
    // inputs a little outside the calibrated [0, 1) range, so the input quantizer clamps too
    const x = calibrationBatch(shape, batch, 11 + batch).map((v) => v * 1.1 - 0.05);
    const expected = runInt8Reference(int8, x, batch).outputs[0];
    expect(Float32Array.from(engine.run(x, batch)), `batch ${batch}`).toEqual(expected);
  }
}

describe("int8 engine = the reference int8 interpreter, bit for bit", () => {
  it("resnet20 16×16×3 (seeded batch norms folded; residual adds with relu), batch 1 and 3", () => {
    expectEngineEqualsReference(randomizeBatchNorms(createNet("resnet20", { inputShape: [16, 16, 3], classes: 10, seed: 3 }), 5), [1, 3]);
  });

  it("mobilenet-v2 0.35 16×16×3 (seeded batch norms; depthwise, relu6, pads, linear bottlenecks, global pool), batch 1 and 3", () => {
    expectEngineEqualsReference(randomizeBatchNorms(createNet("mobilenet-v2", { widthMultiplier: 0.35, inputShape: [16, 16, 3], classes: 10, seed: 4 }), 6), [1, 3]);
  });

  it("lenet 28×28×1 (seeded biases; max pools, flatten, dense with relu), batch 1 and 3", () => {
    expectEngineEqualsReference(randomizeBiases(createNet("lenet", { seed: 2 }), 7), [1, 3]);
  });
});
