// Two learners chained through save and load: a mask learner (magnitude pruning) and a
// fake-quant learner that fine-tunes through a weight transform with a straight-through
// gradient, then stores its quantization. Test doubles of the real learners, built only on the
// foundation: CompressedModel, training parts, overrides, the model directory. Both effects must
// survive: the pruned weights stay zero through the quantizer's training, the quantized weights
// take at most 15 values, and the masks, quantization and history load back as saved.
import * as tf from "@tensorflow/tfjs-core";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registerPocketflowBackend } from "../../src/backend/register.js";
import { computeNormalization } from "../../src/data/batches.js";
import { syntheticDataset } from "../../src/data/synthetic.js";
import { uncompressed, weightOf, withHistory, withMasks, withQuantization, type CompressedModel, type WeightMask } from "../../src/graph/compressed-model.js";
import { loadCompressedModel, saveCompressedModel } from "../../src/io/compressed-model-dir.js";
import { perTensor } from "../../src/kernels/grouping.js";
import { magnitudeMask, magnitudeThreshold } from "../../src/kernels/mask.js";
import { computeQuantParams, fakeQuantize } from "../../src/kernels/quantize.js";
import { compress } from "../../src/learners/compress.js";
import { FullPrecLearner } from "../../src/learners/full-prec.js";
import { LearnerRefusedError, resolveOptions, type HyperParameter, type Learner, type LearnerData } from "../../src/learners/learner.js";
import { createNet } from "../../src/nets/zoo.js";
import { copyWeightsToGraph } from "../../src/tfjs/tfjs-from-graph.js";
import { train } from "../../src/train/trainer.js";
import { straightThrough } from "../../src/train/straight-through.js";
import { composeTraining, maskTrainingPart, type TrainingPart } from "../../src/train/training-parts.js";

const data = syntheticDataset({ imageShape: [16, 16, 1], numClasses: 4, trainCount: 256, testCount: 128, seed: 4 });
const learnerData: LearnerData = { train: data.train, validation: data.test, normalization: computeNormalization(data.train) };
const KERNELS = ["conv1", "conv2", "fc1"];

/** Keeps the largest half of each kernel by magnitude. */
class MaskDouble implements Learner<{ keep: number }> {
  readonly name = "mask-double";
  readonly description = "test double: magnitude masks";
  readonly options = [{ name: "keep", kind: "number", min: 0, max: 1, default: 0.5, help: "fraction kept" }] as const;
  searchSpace(): HyperParameter[] {
    return [{ option: "keep", kind: "continuous", low: 0.1, high: 1, perLayer: KERNELS }];
  }
  async compress(model: CompressedModel, _data: LearnerData, given: { keep: number }): Promise<CompressedModel> {
    const { keep } = resolveOptions(this, given);
    const masks = KERNELS.map((id): [string, string, WeightMask] => {
      const { values, shape } = weightOf(model.graph, id, "kernel");
      const { mask } = magnitudeMask(values, magnitudeThreshold(values, Math.round(values.length * keep)));
      return [id, "kernel", { shape, kept: mask }];
    });
    return withHistory(withMasks(model, masks), "prune", { learner: this.name, keep });
  }
}

/** Round to a symmetric k-bit grid of the tensor's own range, in tfjs ops: the forward pass of a fake quantizer. */
const fakeQuantTfjs = (bits: number) => straightThrough((w) => tf.tidy(() => {
  const scale = tf.div(tf.max(tf.abs(w)), 2 ** (bits - 1) - 1);
  return tf.mul(tf.round(tf.div(w, scale)), scale);
}));

/** Fine-tunes through fake-quantized kernels (with the model's masks), then quantizes them for real. */
class FakeQuantDouble implements Learner<{ bits: number; steps: number }> {
  readonly name = "fake-quant-double";
  readonly description = "test double: fake quantization";
  readonly options = [
    { name: "bits", kind: "integer", min: 2, max: 8, default: 4, help: "weight bits" },
    { name: "steps", kind: "integer", min: 1, default: 20, help: "fine-tune steps" },
  ] as const;
  transformedCalls = 0;
  searchSpace(): HyperParameter[] {
    return [];
  }
  async compress(model: CompressedModel, data: LearnerData, given: { bits: number; steps: number }): Promise<CompressedModel> {
    const { bits, steps } = resolveOptions(this, given);
    const transform = fakeQuantTfjs(bits);
    const counted = (w: tf.Tensor) => { this.transformedCalls++; return transform(w); };
    const part: TrainingPart = { name: this.name, overrides: Object.fromEntries(KERNELS.map((id) => [id, { weightTransforms: { kernel: counted } }])) };
    const composed = composeTraining(model.graph, [maskTrainingPart(model), part]);
    let graph;
    try {
      await train(composed.model, data.train, { epochs: 1, batchSize: 16, maxSteps: steps, normalization: data.normalization, schedule: { schedule: { kind: "constant", learningRate: 0.05 } }, ...composed.trainOptions });
      graph = copyWeightsToGraph(composed.model, structuredClone(model.graph));
    } finally {
      composed.dispose();
    }
    const quantization = Object.fromEntries(KERNELS.map((id) => {
      const weight = weightOf(graph, id, "kernel");
      const params = computeQuantParams(weight.values, { bits, symmetric: true }, perTensor());
      weight.values.set(fakeQuantize(weight.values, params));
      return [id, { weights: { kernel: { scheme: "uniform" as const, bits, symmetric: true, grouping: params.grouping, scales: params.scales, zeroPoints: params.zeroPoints } } }];
    }));
    return withHistory(withQuantization({ ...model, graph }, quantization), "quantize", { learner: this.name, bits, steps });
  }
}

let dir: string;
beforeAll(async () => {
  await tf.setBackend(registerPocketflowBackend());
  dir = await mkdtemp(join(tmpdir(), "pocketflow-chain-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("a mask learner then a fake-quant learner, through save and load", () => {
  it("keeps the masks at zero through the quantizer's training, quantizes to at most 15 values, and both survive save and load", async () => {
    const start = uncompressed(createNet("lenet", { inputShape: [16, 16, 1], classes: 4, seed: 1 }));
    const pruned = await new MaskDouble().compress(start, learnerData, { keep: 0.5 });
    await saveCompressedModel(join(dir, "pruned"), pruned, { preprocessing: { note: "kept" } });
    const loadedPruned = await loadCompressedModel(join(dir, "pruned"));
    expect(loadedPruned.model.masks).toEqual(pruned.masks);
    expect(loadedPruned.extras).toEqual({ preprocessing: { note: "kept" } });

    const quantizer = new FakeQuantDouble();
    const quantized = await quantizer.compress(loadedPruned.model, learnerData, { bits: 4, steps: 20 });
    expect(quantizer.transformedCalls).toBeGreaterThan(0); // the override ran in the forward pass
    await saveCompressedModel(join(dir, "quantized"), quantized);
    const { model: final } = await loadCompressedModel(join(dir, "quantized"));

    expect(final.history.map((entry) => entry.learner)).toEqual(["mask-double", "fake-quant-double"]);
    expect(final.masks).toEqual(pruned.masks);
    expect(final.quantization).toEqual(quantized.quantization);
    for (const id of KERNELS) {
      const values = weightOf(final.graph, id, "kernel").values;
      const before = weightOf(pruned.graph, id, "kernel").values;
      const kept = final.masks[id].kernel.kept;
      let moved = 0;
      values.forEach((value, i) => {
        if (kept[i] === 0) expect(value).toBe(0);
        else if (value !== before[i]) moved++;
      });
      expect(moved).toBeGreaterThan(0);
      expect(new Set(values).size).toBeLessThanOrEqual(15);
      const scheme = final.quantization[id].weights?.kernel;
      expect(scheme).toMatchObject({ scheme: "uniform", bits: 4, symmetric: true });
    }
  });

  it("without the mask part, the same quantizer training would move the pruned weights (the check above can fail)", async () => {
    const start = uncompressed(createNet("lenet", { inputShape: [16, 16, 1], classes: 4, seed: 1 }));
    const pruned = await new MaskDouble().compress(start, learnerData, { keep: 0.5 });
    const unmasked = await new FakeQuantDouble().compress({ ...pruned, masks: {} }, learnerData, { bits: 4, steps: 20 });
    const values = weightOf(unmasked.graph, "conv2", "kernel").values;
    const kept = pruned.masks.conv2.kernel.kept;
    expect(values.some((value, i) => kept[i] === 0 && value !== 0)).toBe(true);
  });

  it("compress() runs the chain and measures before and after; a learner that cannot keep an earlier one's work refuses", async () => {
    const start = uncompressed(createNet("lenet", { inputShape: [16, 16, 1], classes: 4, seed: 1 }));
    const result = await compress(start, {
      learners: [{ learner: new MaskDouble(), options: { keep: 0.25 } }, { learner: new FakeQuantDouble(), options: { steps: 5 } }],
      data: learnerData, test: data.test, latency: false,
    });
    expect(result.steps.map((step) => step.learner)).toEqual(["mask-double", "fake-quant-double"]);
    expect(result.before.unprunedParams).toBe(result.before.params);
    const kernelSizes = KERNELS.map((id) => weightOf(start.graph, id, "kernel").values.length);
    const prunedCount = kernelSizes.reduce((sum, n) => sum + n - Math.round(n * 0.25), 0);
    expect(result.after.unprunedParams).toBe(result.after.params - prunedCount);
    expect(result.after.testAccuracy).toBeGreaterThanOrEqual(0);
    await expect(compress(start, {
      learners: [{ learner: new FakeQuantDouble(), options: { steps: 2 } }, { learner: new FullPrecLearner(), options: { epochs: 1, batchSize: 16 } }],
      data: learnerData, latency: false,
    })).rejects.toThrow(LearnerRefusedError);
    await expect(compress(start, { learners: [{ learner: new MaskDouble(), options: { keep: 2 } }], data: learnerData, latency: false }))
      .rejects.toThrow("learner 'mask-double': option keep must be a number >= 0 <= 1, but got 2");
  });
});
