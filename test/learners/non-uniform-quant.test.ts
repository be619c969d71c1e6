// NonUniformQuantLearner (Han et al. 2016): at most 2^k codebook entries per group and every
// weight one of them, the centroid gradient equal to the sum of the assigned weights' gradients
// (against a plain-TS sum over the gradient at the decoded weights), the weights' gradient
// straight through, pruned weights kept out of the clustering and exactly 0 after a pruner, the
// option errors before any work, and a fine-tune through compress() that saves and loads.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { registerPocketflowBackend } from "../../src/backend/register.js";
import { computeNormalization } from "../../src/data/batches.js";
import { syntheticDataset } from "../../src/data/synthetic.js";
import { uncompressed, weightOf, type CodebookWeightQuantization, type CompressedModel } from "../../src/graph/compressed-model.js";
import { groupOf } from "../../src/kernels/grouping.js";
import { loadCompressedModel, saveCompressedModel } from "../../src/io/compressed-model-dir.js";
import { compress } from "../../src/learners/compress.js";
import { FullPrecLearner } from "../../src/learners/full-prec.js";
import { lastRecord, LearnerOptionError, LearnerRefusedError, type LearnerData } from "../../src/learners/learner.js";
import { codebookPart, decodeLayer, groupMembers, initialCodebook, NonUniformQuantLearner } from "../../src/learners/non-uniform-quant.js";
import { planQuantization } from "../../src/learners/quantization-plan.js";
import { learnerByName } from "../../src/learners/registry.js";
import { UniformQuantLearner } from "../../src/learners/uniform-quant.js";
import { WeightSparseLearner } from "../../src/learners/weight-sparse.js";
import { createNet } from "../../src/nets/zoo.js";
import { buildTfjsModel } from "../../src/tfjs/tfjs-from-graph.js";
import { composeTraining } from "../../src/train/training-parts.js";

const data = syntheticDataset({ imageShape: [16, 16, 1], numClasses: 4, trainCount: 256, testCount: 128, seed: 4 });
const normalization = computeNormalization(data.train);
const learnerData = { train: data.train, validation: data.test, normalization };
const lenet = () => createNet("lenet", { inputShape: [16, 16, 1], classes: 4, seed: 1 });
const fast = { epochs: 1, batchSize: 16, mode: "fast" as const, fastSteps: 8, seed: 2 };

/** Every weight of the layer is an entry of its group's codebook, which has 2^bits entries. */
function expectOnCodebook(model: CompressedModel, id: string): CodebookWeightQuantization {
  const quantization = model.quantization[id].weights?.kernel as CodebookWeightQuantization;
  const k = 2 ** quantization.bits;
  expect(quantization.centroids.length).toBe(quantization.grouping.groups * k);
  const { values } = weightOf(model.graph, id, "kernel");
  values.forEach((value, i) => {
    const g = groupOf(i, quantization.grouping);
    expect(Array.from(quantization.centroids.subarray(g * k, g * k + k))).toContain(value);
  });
  return quantization;
}

let trained: CompressedModel;
beforeAll(async () => {
  await tf.setBackend(registerPocketflowBackend());
  trained = await new FullPrecLearner().compress(uncompressed(lenet()), learnerData, { epochs: 2, batchSize: 16, seed: 2 });
});

describe("codebooks", () => {
  it("groupMembers: channel i % C, buckets of consecutive weights", () => {
    expect(groupMembers(6, { inner: 1, groups: 3 }).map((m) => Array.from(m))).toEqual([[0, 3], [1, 4], [2, 5]]);
    expect(groupMembers(5, { inner: 2, groups: 3 }).map((m) => Array.from(m))).toEqual([[0, 1], [2, 3], [4]]);
  });

  it("2-bit per channel: 4 entries per group; a masked layer's pruned weights map to the pinned 0 and stay out of the clustering", () => {
    const [layer] = planQuantization(trained.graph, { weightBits: 2, grouping: "channel", layerBits: {} }).filter((l) => l.id === "conv2");
    const values = Float32Array.from(weightOf(trained.graph, "conv2", "kernel").values);
    const kept = Uint8Array.from(values, (_, i) => (i % 5 === 0 ? 0 : 1)); // 5 is prime to the 16 channels: every group keeps some
    for (let i = 0; i < values.length; i++) if (kept[i] === 0) values[i] = 0;
    const codebook = initialCodebook(values, layer, kept, { init: "linspace", iterations: 10, seed: 0 });
    expect(codebook.centroids.length).toBe(16 * 4);
    const decoded = decodeLayer(codebook);
    decoded.forEach((value, i) => { if (kept[i] === 0) expect(value).toBe(0); });
    for (let g = 0; g < 16; g++) {
      expect(codebook.centroids[g * 4]).toBe(0);
      expect(new Set(codebook.centroids.subarray(g * 4 + 1, g * 4 + 4)).size).toBe(3); // the kept weights fill the other three
    }
  });

  it("the centroid gradient is the sum of the assigned weights' gradients; the weight gradient passes straight through", () => {
    const layers = planQuantization(trained.graph, { weightBits: 2 });
    const codebooks = layers.map((layer) => initialCodebook(weightOf(trained.graph, layer.id, layer.weight).values, layer, undefined, { init: "quantile", iterations: 5, seed: 0 }));
    const part = codebookPart(codebooks, "both");
    const composed = composeTraining(trained.graph, [part]);
    const onCodebook = structuredClone(trained.graph);
    codebooks.forEach((codebook) => weightOf(onCodebook, codebook.layer.id, codebook.layer.weight).values.set(decodeLayer(codebook)));
    const reference = buildTfjsModel(onCodebook, { withoutSoftmax: true });
    const images = tf.randomNormal([4, 16, 16, 1], 0, 1, "float32", 7) as tf.Tensor4D;
    const kernelOf = (model: typeof reference) => model.weights.find((w) => w.originalName === "fc1/kernel")?.read() as tf.Variable;
    const centroids = part.parameters?.[layers.findIndex((l) => l.id === "fc1")].variable as tf.Variable;
    const trainedGrads = tf.variableGrads(() => tf.sum(tf.square(composed.trainOptions.forward(images, true))) as tf.Scalar, [kernelOf(composed.model), centroids]).grads;
    const referenceKernel = kernelOf(reference);
    const referenceGrad = tf.variableGrads(() => tf.sum(tf.square(reference.apply(images, { training: true }) as tf.Tensor)) as tf.Scalar, [referenceKernel]).grads[referenceKernel.name];
    const atDecoded = referenceGrad.dataSync() as Float32Array;
    const fc1 = codebooks.find((c) => c.layer.id === "fc1") as (typeof codebooks)[number];
    const sums = new Float64Array(4);
    fc1.assignments.forEach((index, i) => { sums[index] += atDecoded[i]; });
    const scale = Math.max(...Array.from(sums, Math.abs));
    expect(scale).toBeGreaterThan(0);
    Array.from(trainedGrads[centroids.name].dataSync()).forEach((value, j) => expect(Math.abs(value - sums[j])).toBeLessThan(1e-4 * scale));
    const weightGrad = trainedGrads[kernelOf(composed.model).name].dataSync();
    atDecoded.forEach((value, i) => expect(Math.abs(weightGrad[i] - value)).toBeLessThan(1e-5));
    composed.dispose();
    reference.dispose();
    tf.dispose([images, referenceGrad, ...Object.values(trainedGrads)]);
  });
});

describe("NonUniformQuantLearner", () => {
  it("through compress(): 4-bit codebooks, first and last layer float, every weight a codebook value, saved and loaded with the same codebooks", async () => {
    const result = await compress(trained, { learners: [{ learner: "non-uniform", options: { ...fast } }], data: learnerData, latency: false });
    const model = result.model;
    expect(Object.keys(model.quantization).sort()).toEqual(["conv2", "fc1", "fc2"]);
    for (const id of ["conv2", "fc1", "fc2"]) expect(expectOnCodebook(model, id).bits).toBe(4);
    for (const id of ["conv1", "logits"]) expect(new Set(weightOf(model.graph, id, "kernel").values).size).toBeGreaterThan(16);
    expect(lastRecord(model)).toMatchObject({ learner: "non-uniform", steps: 8 });
    expect(lastRecord(model)?.validationAccuracy).toBeGreaterThan(0.4);
    expect(result.after.packedBytes).toBeLessThan(result.after.weightBytes * 0.5);
    const dir = await mkdtemp(join(tmpdir(), "non-uniform-"));
    try {
      await saveCompressedModel(dir, model);
      const loaded = await loadCompressedModel(dir);
      expect(loaded.model.quantization).toEqual(model.quantization);
      expect(weightOf(loaded.model.graph, "conv2", "kernel").values).toEqual(weightOf(model.graph, "conv2", "kernel").values);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("after weight-sparse, 2-bit per bucket, centroids trained alone: pruned weights exactly 0, every weight on its codebook", async () => {
    const sparse = await new WeightSparseLearner().compress(trained, learnerData, { ...fast, sparsity: 0.5 });
    const quantized = await new NonUniformQuantLearner().compress(sparse, learnerData, { ...fast, weightBits: 2, grouping: "bucket", bucketSize: 128, optimize: "centroids", distill: false });
    expect(quantized.masks).toEqual(sparse.masks);
    for (const id of Object.keys(sparse.masks)) {
      const { values } = weightOf(quantized.graph, id, "kernel");
      sparse.masks[id].kernel.kept.forEach((bit, i) => { if (bit === 0) expect(values[i]).toBe(0); });
      expectOnCodebook(quantized, id);
    }
  });

  it("refuses bad options before any work, and a model already quantized", async () => {
    const learner = learnerByName("non-uniform");
    const noData = {} as LearnerData; // any work would fail on it with a TypeError
    for (const options of [{ weightBits: 9 }, { grouping: "bucket", bucketSize: 0 }, { layerBits: { nope: 4 } }, { init: "random" }, { optimize: "clusters" }]) {
      await expect(learner.compress(trained, noData, { ...fast, ...options })).rejects.toThrow(LearnerOptionError);
    }
    const quantized = await new UniformQuantLearner().compress(trained, learnerData, { ...fast, fastSteps: 1, distill: false });
    await expect(learner.compress(quantized, noData, fast)).rejects.toThrow(LearnerRefusedError);
  });
});
