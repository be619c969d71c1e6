// FullPrecLearner: trains a zoo graph through tfjs and hands back a new graph with the trained
// weights; the input graph is left as it was.
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { registerPocketflowBackend } from "../../src/backend/register.js";
import { computeNormalization } from "../../src/data/batches.js";
import { syntheticDataset } from "../../src/data/synthetic.js";
import { FullPrecLearner } from "../../src/learners/full-prec.js";
import { createNet } from "../../src/nets/zoo.js";
import { evaluateGraph } from "../../src/train/evaluate-graph.js";

const data = syntheticDataset({ imageShape: [16, 16, 1], numClasses: 4, trainCount: 256, testCount: 128, seed: 4 });
const normalization = computeNormalization(data.train);
const learnerData = { train: data.train, validation: data.test, normalization };

beforeAll(async () => {
  await tf.setBackend(registerPocketflowBackend());
});

describe("FullPrecLearner", () => {
  it("trains lenet to > 90% on the synthetic task and returns a new graph with the trained weights", async () => {
    const graph = createNet("lenet", { inputShape: [16, 16, 1], classes: 4, seed: 1 });
    const before = structuredClone(graph);
    const untrained = evaluateGraph(graph, data.test, { normalization }).accuracy;
    const { graph: trained, record } = await new FullPrecLearner().compress(graph, learnerData, { epochs: 3, batchSize: 16, seed: 2 });
    expect(graph).toEqual(before);
    expect(record).toMatchObject({ learner: "full-prec", mode: "full", steps: 3 * 16 });
    expect(record.validationAccuracy).toBeGreaterThan(0.9);
    expect(evaluateGraph(trained, data.test, { normalization }).accuracy).toBeCloseTo(record.validationAccuracy as number, 10);
    expect(untrained).toBeLessThan(0.6);
  });

  it("fast mode stops after fastSteps; distillation from the input model runs", async () => {
    const graph = createNet("resnet20", { inputShape: [16, 16, 1], classes: 4, seed: 1 });
    const { record } = await new FullPrecLearner().compress(graph, learnerData, { epochs: 2, batchSize: 32, mode: "fast", fastSteps: 3, distillation: {} });
    expect(record).toMatchObject({ mode: "fast", steps: 3, options: { distillation: {} } });
  });
});
