// The int8 engine on integer models calibrated here (src/deploy/calibrate.ts): its
// logits agree with the float model's (same weights, float activations) on the top class, and a
// batch computes each example as it would alone (the integer path has no cross-example state).
import { describe, expect, it } from "vitest";
import { loadEngine } from "../../src/deploy/engine.js";
import { uncompressed } from "../../src/graph/compressed-model.js";
import type { Graph, InputNode } from "../../src/graph/ir.js";
import { createNet } from "../../src/nets/zoo.js";
import { calibratedInt8Model, calibrationBatch } from "../../src/deploy/calibrate.js";
import { randomizeBatchNorms } from "../graph/shrink-helpers.js";

const argmax = (values: Float32Array, row: number, classes: number): number => {
  let best = 0;
  for (let c = 1; c < classes; c++) if (values[row * classes + c] > values[row * classes + best]) best = c;
  return best;
};

function checkAgainstFloat(graph: Graph, batch: number, minAgreement: number): void {
  const int8 = calibratedInt8Model(uncompressed(graph));
  expect(int8).toBeDefined();
  const model = int8!;
  const shape = (model.graph.nodes.find((node) => node.op === "input") as InputNode).shape;
  const x = calibrationBatch(shape, batch, 99);
  const float = loadEngine(model.graph).run(x, batch);
  const integer = loadEngine(model, { precision: "int8" }).run(x, batch);
  const classes = float.length / batch;
  let agree = 0;
  for (let r = 0; r < batch; r++) agree += argmax(float, r, classes) === argmax(integer, r, classes) ? 1 : 0;
  expect(agree / batch).toBeGreaterThanOrEqual(minAgreement);
  // each example of the batch as computed alone, bit for bit
  const engine = loadEngine(model, { precision: "int8" });
  const whole = Float32Array.from(engine.run(x, batch));
  const size = x.length / batch;
  expect(Float32Array.from(engine.run(x.subarray(size, 2 * size), 1))).toEqual(whole.subarray(classes, 2 * classes));
}

describe("int8 engine vs the float model it was calibrated from", () => {
  it("resnet20 16×16×3 with seeded batch-norm statistics: top-1 agrees on >= 90% of 32 examples", () => {
    checkAgainstFloat(randomizeBatchNorms(createNet("resnet20", { inputShape: [16, 16, 3], classes: 10, seed: 3 }), 5), 32, 0.9);
  });

  it("mobilenet-v2 0.5 32×32×3 (depthwise, relu6, pads, global pool): top-1 agrees on >= 75% of 16 examples", () => {
    checkAgainstFloat(createNet("mobilenet-v2", { widthMultiplier: 0.5, inputShape: [32, 32, 3], classes: 10, seed: 4 }), 16, 0.75);
  });

  it("a float model is refused with the rule it breaks", () => {
    expect(() => loadEngine(uncompressed(createNet("lenet", { seed: 1 })), { precision: "int8" })).toThrow(/int8 model .* breaks the integer-model contract/);
  });
});
