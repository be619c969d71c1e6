// UniformQuantLearner: at most 2^k values per group (tensor, channel, bucket), 0 on every grid,
// first and last layer left float by default, the straight-through gradient equal to the
// gradient at the quantized weights, a chain after weight-sparse keeping its zeros, activation
// ranges stored, PocketFlow's bit budget, the option errors before any work, and a fine-tune
// through compress() whose result saves and loads with the same quantization.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { registerPocketflowBackend } from "../../src/backend/register.js";
import { computeNormalization } from "../../src/data/batches.js";
import { syntheticDataset } from "../../src/data/synthetic.js";
import { uncompressed, weightOf, withQuantization, type CompressedModel, type UniformWeightQuantization } from "../../src/graph/compressed-model.js";
import { groupOf, perBucket, perTensor, type Grouping } from "../../src/kernels/grouping.js";
import { loadCompressedModel, saveCompressedModel } from "../../src/io/compressed-model-dir.js";
import { compress } from "../../src/learners/compress.js";
import { FullPrecLearner } from "../../src/learners/full-prec.js";
import { lastRecord, LearnerOptionError, LearnerRefusedError, type LearnerData } from "../../src/learners/learner.js";
import { averageBitsOf, bitsWithinBudget, planQuantization } from "../../src/learners/quantization-plan.js";
import { learnerByName } from "../../src/learners/registry.js";
import { quantizeUniform, uniformQuantPart, UniformQuantLearner } from "../../src/learners/uniform-quant.js";
import { WeightSparseLearner } from "../../src/learners/weight-sparse.js";
import { createNet } from "../../src/nets/zoo.js";
import { buildTfjsModel } from "../../src/tfjs/tfjs-from-graph.js";
import { composeTraining } from "../../src/train/training-parts.js";
import { seededRandom } from "../../src/util/random.js";

const data = syntheticDataset({ imageShape: [16, 16, 1], numClasses: 4, trainCount: 256, testCount: 128, seed: 4 });
const normalization = computeNormalization(data.train);
const learnerData = { train: data.train, validation: data.test, normalization };
const lenet = () => createNet("lenet", { inputShape: [16, 16, 1], classes: 4, seed: 1 });
const fast = { epochs: 1, batchSize: 16, mode: "fast" as const, fastSteps: 8, seed: 2 };

/** Distinct values in each group of a weight. */
function distinctPerGroup(values: Float32Array, grouping: Grouping): number[] {
  const sets = Array.from({ length: grouping.groups }, () => new Set<number>());
  values.forEach((value, i) => sets[groupOf(i, grouping)].add(value));
  return sets.map((set) => set.size);
}

const randomWeights = (n: number, seed: number): Float32Array => {
  const random = seededRandom(seed);
  return Float32Array.from({ length: n }, () => (random() - 0.3) * 0.2);
};

let trained: CompressedModel;
beforeAll(async () => {
  await tf.setBackend(registerPocketflowBackend());
  trained = await new FullPrecLearner().compress(uncompressed(lenet()), learnerData, { epochs: 2, batchSize: 16, seed: 2 });
});

describe("the weight quantizer", () => {
  const values = randomWeights(5 * 5 * 6 * 16, 3);
  const cases: Array<[string, number, Grouping]> = [
    ["4-bit per tensor", 4, perTensor()],
    ["4-bit per channel (16 channels)", 4, { inner: 1, groups: 16 }],
    ["2-bit per bucket of 256", 2, perBucket(values.length, 256)],
    ["2-bit per channel", 2, { inner: 1, groups: 16 }],
  ];
  for (const [name, bits, grouping] of cases) {
    it(`${name}: at most 2^${bits} values per group, 0 on the grid, each value within half a step`, () => {
      const result = quantizeUniform(values, { bits, grouping }, false);
      for (const count of distinctPerGroup(result.values, grouping)) expect(count).toBeLessThanOrEqual(2 ** bits);
      expect(result.quantization.scales.length).toBe(grouping.groups);
      const zeros = quantizeUniform(Float32Array.from(values, (v, i) => (i % 3 === 0 ? 0 : v)), { bits, grouping }, false).values;
      zeros.forEach((v, i) => { if (i % 3 === 0) expect(v).toBe(0); });
      result.values.forEach((v, i) => expect(Math.abs(v - values[i])).toBeLessThanOrEqual(result.quantization.scales[groupOf(i, grouping)] / 2 + 1e-7));
    });
  }
});

describe("the bit budget (PocketFlow's bit optimizer)", () => {
  it("clips the layers in order so the average stays within the budget, the later layers keeping 2 bits", () => {
    const sizes = [100, 1000, 400, 50];
    const bits = bitsWithinBudget(sizes, [8, 8, 8, 8], 4);
    const average = averageBitsOf(sizes.map((size, i) => ({ size, bits: bits[i] })));
    expect(average).toBeLessThanOrEqual(4);
    expect(bits).toEqual([8, 4, 3, 4]);
    expect(bitsWithinBudget(sizes, [3, 4, 2, 6], 4)).toEqual([3, 4, 2, 6]);
  });
});

describe("UniformQuantLearner", () => {
  it("straight-through: the float weight's gradient is the gradient at its quantized value", () => {
    const layers = planQuantization(trained.graph, { weightBits: 2, grouping: "channel" });
    const composed = composeTraining(trained.graph, [uniformQuantPart(trained.graph, layers)]);
    const onGrid = structuredClone(trained.graph);
    for (const layer of layers) {
      const weight = weightOf(onGrid, layer.id, layer.weight);
      weight.values.set(quantizeUniform(weight.values, layer, false).values);
    }
    const reference = buildTfjsModel(onGrid, { withoutSoftmax: true });
    const images = tf.randomNormal([4, 16, 16, 1], 0, 1, "float32", 5) as tf.Tensor4D;
    const gradientOf = (model: typeof reference, forward: (x: tf.Tensor4D) => tf.Tensor) => {
      const kernel = model.weights.find((w) => w.originalName === "conv2/kernel")?.read() as tf.Variable;
      return tf.variableGrads(() => tf.sum(tf.square(forward(images))) as tf.Scalar, [kernel]).grads[kernel.name];
    };
    const trainedGradient = gradientOf(composed.model, (x) => composed.trainOptions.forward(x as tf.Tensor4D, true));
    const referenceGradient = gradientOf(reference, (x) => reference.apply(x, { training: true }) as tf.Tensor);
    expect(tf.max(tf.abs(trainedGradient)).dataSync()[0]).toBeGreaterThan(0);
    expect(tf.max(tf.abs(tf.sub(trainedGradient, referenceGradient))).dataSync()[0]).toBeLessThan(1e-4 * tf.max(tf.abs(referenceGradient)).dataSync()[0] + 1e-6);
    composed.dispose();
    reference.dispose();
    tf.dispose([images, trainedGradient, referenceGradient]);
  });

  it("through compress(): 4-bit per channel, first and last layer float, saved and loaded with the same quantization", async () => {
    const result = await compress(trained, { learners: [{ learner: "uniform", options: { ...fast } }], data: learnerData, latency: false });
    const model = result.model;
    expect(Object.keys(model.quantization).sort()).toEqual(["conv2", "fc1", "fc2"]);
    for (const id of ["conv2", "fc1", "fc2"]) {
      const quantization = model.quantization[id].weights?.kernel as UniformWeightQuantization;
      expect(quantization.bits).toBe(4);
      const { values } = weightOf(model.graph, id, "kernel");
      for (const count of distinctPerGroup(values, quantization.grouping)) expect(count).toBeLessThanOrEqual(16);
    }
    for (const id of ["conv1", "logits"]) expect(new Set(weightOf(model.graph, id, "kernel").values).size).toBeGreaterThan(16);
    expect(lastRecord(model)).toMatchObject({ learner: "uniform", steps: 8 });
    expect(model.history.at(-1)).toMatchObject({ step: "quantize", averageBits: 4 });
    expect(result.after.packedBytes).toBeLessThan(result.after.weightBytes * 0.5);
    const dir = await mkdtemp(join(tmpdir(), "uniform-"));
    try {
      await saveCompressedModel(dir, model);
      const loaded = await loadCompressedModel(dir);
      expect(loaded.model.quantization).toEqual(model.quantization);
      expect(weightOf(loaded.model.graph, "fc1", "kernel").values).toEqual(weightOf(model.graph, "fc1", "kernel").values);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("after weight-sparse: the pruned weights stay exactly 0 and the masks are kept", async () => {
    const sparse = await new WeightSparseLearner().compress(trained, learnerData, { ...fast, sparsity: 0.5 });
    const quantized = await new UniformQuantLearner().compress(sparse, learnerData, { ...fast, weightBits: 2, grouping: "bucket", bucketSize: 64 });
    expect(quantized.masks).toEqual(sparse.masks);
    for (const id of Object.keys(sparse.masks)) {
      const { values } = weightOf(quantized.graph, id, "kernel");
      const kept = sparse.masks[id].kernel.kept;
      values.forEach((value, i) => { if (kept[i] === 0) expect(value).toBe(0); });
      const grouping = (quantized.quantization[id].weights?.kernel as UniformWeightQuantization).grouping;
      for (const count of distinctPerGroup(values, grouping)) expect(count).toBeLessThanOrEqual(4);
    }
  });

  it("activationBits 8: each relu's moving-average range stored, holding 0", async () => {
    const quantized = await new UniformQuantLearner().compress(trained, learnerData, { ...fast, activationBits: 8, distill: false });
    for (const id of ["conv1_relu", "conv2_relu", "fc1_relu", "fc2_relu"]) {
      const activation = quantized.quantization[id].activation;
      expect(activation).toMatchObject({ bits: 8, min: 0, symmetric: false });
      expect(activation?.max).toBeGreaterThan(0);
    }
    expect(lastRecord(quantized)?.validationAccuracy).toBeGreaterThan(0.4);
  });

  it("layerBits and averageBits: the asked bits clipped to the budget, the achieved average recorded", async () => {
    const quantized = await new UniformQuantLearner().compress(trained, learnerData, { ...fast, fastSteps: 2, layerBits: { conv1: 8, conv2: 8, fc1: 8 }, averageBits: 3, distill: false });
    const entry = quantized.history.at(-1) as unknown as { layerBits: Record<string, number>; averageBits: number };
    expect(Object.keys(entry.layerBits)).toEqual(["conv1", "conv2", "fc1", "fc2"]);
    expect(entry.averageBits).toBeLessThanOrEqual(3);
    expect((quantized.quantization.conv1.weights?.kernel as UniformWeightQuantization).bits).toBe(8);
  });

  it("refuses bad options before any work, and a model already quantized", async () => {
    const learner = learnerByName("uniform");
    const noData = {} as LearnerData; // any work would fail on it with a TypeError
    for (const options of [{ weightBits: 9 }, { grouping: "bucket", bucketSize: 0 }, { layerBits: { nope: 4 } }, { layerBits: { conv2: 1 } }, { activationBits: 16 }]) {
      await expect(learner.compress(trained, noData, { ...fast, ...options })).rejects.toThrow(LearnerOptionError);
    }
    await expect(learner.compress(trained, noData, { ...fast, weightBits: 9 })).rejects.toThrow(/weightBits must be an integer >= 2 <= 8, but got 9/);
    const quantized = withQuantization(trained, { conv2: { activation: { bits: 8, min: 0, max: 1, symmetric: false } } });
    await expect(learner.compress(quantized, noData, fast)).rejects.toThrow(LearnerRefusedError);
  });
});
