// FullPrecLearner: trains a zoo graph through tfjs and hands back a new compressed model with the
// trained weights and its record in the history; the input is left as it was. A pruned model
// stays pruned; a quantized one is refused.
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { registerPocketflowBackend } from "../../src/backend/register.js";
import { computeNormalization } from "../../src/data/batches.js";
import { syntheticDataset } from "../../src/data/synthetic.js";
import { uncompressed, weightOf, withMasks, withQuantization } from "../../src/graph/compressed-model.js";
import { FullPrecLearner } from "../../src/learners/full-prec.js";
import { lastRecord, LearnerRefusedError } from "../../src/learners/learner.js";
import { createNet } from "../../src/nets/zoo.js";
import { evaluateGraph } from "../../src/train/evaluate-graph.js";

const data = syntheticDataset({ imageShape: [16, 16, 1], numClasses: 4, trainCount: 256, testCount: 128, seed: 4 });
const normalization = computeNormalization(data.train);
const learnerData = { train: data.train, validation: data.test, normalization };
const lenet = () => createNet("lenet", { inputShape: [16, 16, 1], classes: 4, seed: 1 });

beforeAll(async () => {
  await tf.setBackend(registerPocketflowBackend());
});

describe("FullPrecLearner", () => {
  it("trains lenet to > 90% on the synthetic task and returns a new model with the trained weights and its record", async () => {
    const model = uncompressed(lenet());
    const before = structuredClone(model);
    const untrained = evaluateGraph(model.graph, data.test, { normalization }).accuracy;
    const trained = await new FullPrecLearner().compress(model, learnerData, { epochs: 3, batchSize: 16, seed: 2 });
    const record = lastRecord(trained);
    expect(model).toEqual(before);
    expect(trained.history).toHaveLength(1);
    expect(trained.history[0]).toMatchObject({ step: "train", learner: "full-prec", mode: "full", steps: 3 * 16 });
    expect(record?.validationAccuracy).toBeGreaterThan(0.9);
    expect(evaluateGraph(trained.graph, data.test, { normalization }).accuracy).toBeCloseTo(record?.validationAccuracy as number, 10);
    expect(untrained).toBeLessThan(0.6);
  });

  it("fast mode stops after fastSteps", async () => {
    const graph = createNet("resnet20", { inputShape: [16, 16, 1], classes: 4, seed: 1 });
    const trained = await new FullPrecLearner().compress(uncompressed(graph), learnerData, { epochs: 2, batchSize: 32, mode: "fast", fastSteps: 3 });
    expect(lastRecord(trained)).toMatchObject({ mode: "fast", steps: 3 });
  });

  it("distillation follows the teacher (the input model): from an untrained teacher, a heavily distilled student stays as bad as it", async () => {
    const model = uncompressed(lenet());
    const teacherAccuracy = evaluateGraph(model.graph, data.test, { normalization }).accuracy;
    const options = { epochs: 2, batchSize: 16, seed: 2 };
    const plain = await new FullPrecLearner().compress(model, learnerData, options);
    const distilled = await new FullPrecLearner().compress(model, learnerData, { ...options, distillation: { weight: 200, temperature: 1 } });
    const plainAccuracy = evaluateGraph(plain.graph, data.test, { normalization }).accuracy;
    const distilledAccuracy = evaluateGraph(distilled.graph, data.test, { normalization }).accuracy;
    expect(plainAccuracy).toBeGreaterThan(0.9);
    // A teacher that is ignored would give the plain run's accuracy.
    expect(distilledAccuracy).toBeLessThan(teacherAccuracy + 0.2);
    expect(lastRecord(distilled)?.options).toMatchObject({ distillation: { weight: 200, temperature: 1 } });
  });

  it("a pruned model stays pruned: masked weights are exactly zero after training, the others trained", async () => {
    const model = uncompressed(lenet());
    const { values, shape } = weightOf(model.graph, "conv2", "kernel");
    const kept = Uint8Array.from(values, (_, i) => (i % 2 === 0 ? 1 : 0));
    const pruned = withMasks(model, [["conv2", "kernel", { shape, kept }]]);
    const trained = await new FullPrecLearner().compress(pruned, learnerData, { epochs: 1, batchSize: 16, seed: 2 });
    const after = weightOf(trained.graph, "conv2", "kernel").values;
    const before = weightOf(pruned.graph, "conv2", "kernel").values;
    let changed = 0;
    after.forEach((value, i) => {
      if (kept[i] === 0) expect(value).toBe(0);
      else if (value !== before[i]) changed++;
    });
    expect(changed).toBeGreaterThan(kept.length / 4);
    expect(trained.masks).toEqual(pruned.masks);
  });

  it("refuses a quantized model, and an option out of its range, naming the problem", async () => {
    const model = uncompressed(lenet());
    const quantized = withQuantization(model, { fc1: { activation: { bits: 8, min: 0, max: 6, symmetric: false } } });
    await expect(new FullPrecLearner().compress(quantized, learnerData, { epochs: 1, batchSize: 16 })).rejects.toThrow(LearnerRefusedError);
    await expect(new FullPrecLearner().compress(quantized, learnerData, { epochs: 1, batchSize: 16 })).rejects.toThrow(/learner 'full-prec' refuses this model: 1 of its nodes are quantized \(first: 'fc1'\)/);
    await expect(new FullPrecLearner().compress(model, learnerData, { epochs: 1, batchSize: 16, batchNormMomentum: 1 })).rejects.toThrow("learner 'full-prec': option batchNormMomentum must be a number >= 0 <= 0.999, but got 1");
  });
});
