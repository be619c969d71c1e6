// WeightSparseLearner (Zhu & Gupta 2017): the schedule at known points, the per-layer sparsities
// (uniform, PocketFlow's log-size heuristic, an explicit map) meeting the target to the weight,
// pruned weights exactly zero under SGD momentum and Adam (and through a FullPrecLearner after),
// an input's masks kept, accuracy after the fine-tune, the sparse storage and the option errors.
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { registerPocketflowBackend } from "../../src/backend/register.js";
import { computeNormalization } from "../../src/data/batches.js";
import { syntheticDataset } from "../../src/data/synthetic.js";
import { uncompressed, weightOf, withMasks, withQuantization, type CompressedModel } from "../../src/graph/compressed-model.js";
import { decodeSparse, encodeSparse, sparseStoredBytes, sparseWeightBytes } from "../../src/graph/sparse-storage.js";
import { measureModel } from "../../src/learners/compress.js";
import { FullPrecLearner } from "../../src/learners/full-prec.js";
import { lastRecord, LearnerOptionError, LearnerRefusedError } from "../../src/learners/learner.js";
import { learnerByName } from "../../src/learners/registry.js";
import {
  apportion, gradualPruningPart, heuristicSparsities, keepLargest, prunableLayers, pruningSchedule, scheduledSparsity, WeightSparseLearner, type PruningPlan,
} from "../../src/learners/weight-sparse.js";
import { GraphBuilder } from "../../src/nets/builder.js";
import { createNet } from "../../src/nets/zoo.js";
import { copyWeightsToGraph } from "../../src/tfjs/tfjs-from-graph.js";
import { evaluateGraph } from "../../src/train/evaluate-graph.js";
import type { TrainingOptimizerConfig } from "../../src/train/optimizers.js";
import { train } from "../../src/train/trainer.js";
import { composeTraining } from "../../src/train/training-parts.js";
import { seededRandom } from "../../src/util/random.js";

const data = syntheticDataset({ imageShape: [16, 16, 1], numClasses: 4, trainCount: 256, testCount: 128, seed: 4 });
const normalization = computeNormalization(data.train);
const learnerData = { train: data.train, validation: data.test, normalization };
const lenet = () => createNet("lenet", { inputShape: [16, 16, 1], classes: 4, seed: 1 });
const fast = { epochs: 1, batchSize: 16, mode: "fast" as const, fastSteps: 12, seed: 2 };

/** Pruned entries per pruned layer of the output, by the masks. */
function prunedCounts(model: CompressedModel, ids: readonly string[]): number[] {
  return ids.map((id) => model.masks[id].kernel.kept.reduce((zeros, bit) => zeros + 1 - bit, 0));
}

let trained: CompressedModel;
beforeAll(async () => {
  await tf.setBackend(registerPocketflowBackend());
  trained = await new FullPrecLearner().compress(uncompressed(lenet()), learnerData, { epochs: 3, batchSize: 16, seed: 2 });
});

describe("the schedule s_t = s_f (1 - (1 - b)^3)", () => {
  const schedule = { beginStep: 10, endStep: 50, exponent: 3 };
  it("is 0 up to t_beg, s_f (1 - 1/8) at the midpoint, s_f from t_end on", () => {
    expect(scheduledSparsity(0, 0.8, schedule)).toBe(0);
    expect(scheduledSparsity(10, 0.8, schedule)).toBe(0);
    expect(scheduledSparsity(30, 0.8, schedule)).toBeCloseTo(0.8 * (1 - 0.125), 12);
    expect(scheduledSparsity(20, 0.8, schedule)).toBeCloseTo(0.8 * (1 - 0.75 ** 3), 12);
    expect(scheduledSparsity(50, 0.8, schedule)).toBe(0.8);
    expect(scheduledSparsity(500, 0.8, schedule)).toBe(0.8);
  });

  it("updates every interval steps up to t_end, more often in a short run", () => {
    expect(pruningSchedule(10000, {}).updateSteps).toEqual(Array.from({ length: 70 }, (_, i) => 100 * (i + 1)));
    expect(pruningSchedule(100, {})).toEqual({ beginStep: 0, endStep: 70, exponent: 3, updateSteps: [17, 34, 51, 68, 70] });
    expect(pruningSchedule(1000, { beginFraction: 0.1, endFraction: 0.5, maskUpdateInterval: 500 }).updateSteps).toEqual([200, 300, 400, 500]);
    expect(pruningSchedule(2, {}).updateSteps).toEqual([1]);
  });
});

describe("per-layer sparsities", () => {
  it("prunable layers leave the first conv and the last dense layer out unless asked", () => {
    expect(prunableLayers(lenet()).map((layer) => layer.id)).toEqual(["conv2", "fc1", "fc2"]);
    expect(prunableLayers(lenet(), true).map((layer) => layer.id)).toEqual(["conv1", "conv2", "fc1", "fc2", "logits"]);
  });

  it("apportion rounds each target to an integer within 1 and the sum to the rounded total", () => {
    const targets = [1.5, 2.5, 3.4, 0.3, 7.7];
    const counts = apportion(targets);
    expect(counts.reduce((a, b) => a + b)).toBe(Math.round(targets.reduce((a, b) => a + b)));
    counts.forEach((count, i) => expect(Math.abs(count - targets[i])).toBeLessThan(1));
  });

  it("heuristic: α log n, larger layers pruned more, Σ s_i n_i = s Σ n; a layer over 0.99 is held there", () => {
    const layers = [100, 1000, 100000].map((size, i) => ({ id: `l${i}`, weight: "kernel" as const, shape: [size], size }));
    const ratios = heuristicSparsities(layers, 0.5);
    expect(ratios[0]).toBeLessThan(ratios[1]);
    expect(ratios[1]).toBeLessThan(ratios[2]);
    expect(ratios[1] / ratios[0]).toBeCloseTo(Math.log(1000) / Math.log(100), 10);
    expect(layers.reduce((sum, layer, i) => sum + ratios[i] * layer.size, 0)).toBeCloseTo(0.5 * 101100, 6);
    // 100000 · log(100000) / Σ n log n over these sizes puts the big layer at 0.9916 for s = 0.98
    const skewed = [1000, 1000, 1000, 100000].map((size, i) => ({ id: `l${i}`, weight: "kernel" as const, shape: [size], size }));
    const capped = heuristicSparsities(skewed, 0.98);
    expect(capped[3]).toBe(0.99);
    expect(skewed.reduce((sum, layer, i) => sum + capped[i] * layer.size, 0)).toBeCloseTo(0.98 * 103000, 6);
    expect(() => heuristicSparsities(skewed, 0.995)).toThrow(/cannot be split by the heuristic with no layer above 0.99; lower sparsity or use allocation 'uniform'/);
  });

  for (const allocation of ["uniform", "heuristic"] as const) {
    it(`${allocation}: exactly round(0.75 N) of the N weights of conv2, fc1, fc2 are pruned and zero`, async () => {
      const pruned = await new WeightSparseLearner().compress(trained, learnerData, { ...fast, sparsity: 0.75, allocation });
      const ids = ["conv2", "fc1", "fc2"];
      const sizes = ids.map((id) => weightOf(trained.graph, id, "kernel").values.length);
      const total = sizes.reduce((a, b) => a + b);
      const counts = prunedCounts(pruned, ids);
      expect(counts.reduce((a, b) => a + b)).toBe(Math.round(0.75 * total));
      expect(Object.keys(pruned.masks).sort()).toEqual(ids.sort());
      for (const id of ids) {
        const values = weightOf(pruned.graph, id, "kernel").values;
        pruned.masks[id].kernel.kept.forEach((bit, i) => { if (bit === 0) expect(values[i]).toBe(0); });
      }
      const ratios = counts.map((count, i) => count / sizes[i]);
      if (allocation === "uniform") ratios.forEach((ratio) => expect(ratio).toBeCloseTo(0.75, 3));
      else expect(ratios[0] < ratios[1] && ratios[1] < ratios[2]).toBe(true); // 2400 < 7680 < 10080 weights
      expect(lastRecord(pruned)).toMatchObject({ learner: "weight-sparse", mode: "fast", steps: 12, options: { allocation } });
      expect(pruned.history.at(-1)).toMatchObject({ step: "prune", sparsity: Math.round(0.75 * total) / total, maskUpdates: 4 });
    });
  }

  it("an explicit map (what the search passes) prunes round(s_i n_i) of each named layer, first and last included", async () => {
    const learner = new WeightSparseLearner();
    expect(learner.searchSpace(trained)).toEqual([{ option: "layerSparsity", kind: "continuous", low: 0.25, high: 1 - 0.25 / 3, perLayer: ["conv2", "fc1", "fc2"] }]);
    expect(learner.searchSpace(trained, { sparsity: 0.5, pruneFirstAndLast: true })[0]).toMatchObject({ low: 0, perLayer: ["conv1", "conv2", "fc1", "fc2", "logits"] });
    const layerSparsity = { conv1: 0.2, fc1: 0.9, logits: 0.5 };
    const pruned = await learner.compress(trained, learnerData, { ...fast, layerSparsity });
    const ids = Object.keys(layerSparsity);
    expect(prunedCounts(pruned, ids)).toEqual(ids.map((id) => Math.round(layerSparsity[id as keyof typeof layerSparsity] * weightOf(trained.graph, id, "kernel").values.length)));
    expect(pruned.masks.conv2).toBeUndefined();
  });
});

describe("pruned weights stay exactly zero", () => {
  /** Trains lenet with only the pruning part, and returns the raw trained weights (no mask applied after). */
  async function trainWithPart(optimizer: TrainingOptimizerConfig) {
    const layers = prunableLayers(trained.graph);
    const plan: PruningPlan = { layers, finalPruned: layers.map((layer) => Math.round(0.8 * layer.size)) };
    const schedule = pruningSchedule(32, {});
    const part = gradualPruningPart(plan, layers.map((layer) => new Uint8Array(layer.size).fill(1)), schedule);
    const composed = composeTraining(trained.graph, [part]);
    const history: Uint8Array[][] = [];
    try {
      await train(composed.model, data.train, {
        epochs: 2, batchSize: 16, optimizer, normalization, schedule: { schedule: { kind: "constant", learningRate: optimizer.kind === "adam" ? 1e-3 : 0.02 } },
        ...composed.trainOptions,
        hooks: { ...composed.trainOptions.hooks, onStep: () => { history.push(part.masks.map((mask) => Uint8Array.from(mask))); } },
      });
      return { layers, part, schedule, history, graph: copyWeightsToGraph(composed.model, structuredClone(trained.graph)) };
    } finally {
      composed.dispose();
    }
  }

  for (const optimizer of [{ kind: "sgd", momentum: 0.9 }, { kind: "adam" }] as TrainingOptimizerConfig[]) {
    it(`with ${optimizer.kind}: masks only grow, reach 80% at t_end, and every masked weight is 0 while the kept ones train`, async () => {
      const { layers, part, schedule, history, graph } = await trainWithPart(optimizer);
      expect(schedule.updateSteps).toEqual([5, 10, 15, 20, 22]);
      expect(part.updates).toBe(5);
      let regrown = 0;
      for (let step = 1; step < history.length; step++) {
        history[step].forEach((mask, l) => mask.forEach((bit, i) => { if (history[step - 1][l][i] === 0 && bit !== 0) regrown++; }));
      }
      expect(regrown).toBe(0);
      layers.forEach((layer, l) => {
        const mask = part.masks[l];
        expect(mask.reduce((zeros, bit) => zeros + 1 - bit, 0)).toBe(Math.round(0.8 * layer.size));
        const after = weightOf(graph, layer.id, "kernel").values;
        const before = weightOf(trained.graph, layer.id, "kernel").values;
        let moved = 0;
        after.forEach((value, i) => {
          if (mask[i] === 0) expect(Math.abs(value)).toBe(0); // w · 0 may be -0
          else if (value !== before[i]) moved++;
        });
        expect(moved).toBeGreaterThan(layer.size * 0.1);
      });
    });
  }

  it("stay zero through a FullPrecLearner run after, masks unchanged", async () => {
    const pruned = await new WeightSparseLearner().compress(trained, learnerData, { ...fast, sparsity: 0.75 });
    const retrained = await new FullPrecLearner().compress(pruned, learnerData, { epochs: 1, batchSize: 16, seed: 3, optimizer: { kind: "adam" }, schedule: { schedule: { kind: "constant", learningRate: 1e-3 } } });
    expect(retrained.masks).toEqual(pruned.masks);
    for (const id of ["conv2", "fc1", "fc2"]) {
      const values = weightOf(retrained.graph, id, "kernel").values;
      retrained.masks[id].kernel.kept.forEach((bit, i) => { if (bit === 0) expect(values[i]).toBe(0); });
    }
  });

  it("an input's masks are kept: a weight pruned before stays pruned", async () => {
    const { values, shape } = weightOf(trained.graph, "fc1", "kernel");
    const random = seededRandom(7);
    const earlier = Uint8Array.from(values, () => (random() < 0.5 ? 1 : 0));
    const masked = withMasks(trained, [["fc1", "kernel", { shape, kept: earlier }]]);
    const pruned = await new WeightSparseLearner().compress(masked, learnerData, { ...fast, sparsity: 0.75 });
    const kept = pruned.masks.fc1.kernel.kept;
    earlier.forEach((bit, i) => { if (bit === 0) expect(kept[i]).toBe(0); });
    expect(kept.reduce((zeros, bit) => zeros + 1 - bit, 0)).toBe(Math.round(0.75 * values.length));
  });

  it("a run stopped before t_end still ends at the final sparsity (the last masks taken from the trained weights)", async () => {
    let steps = 0;
    const pruned = await new WeightSparseLearner().compress(trained, learnerData, { ...fast, sparsity: 0.75, hooks: { onStep: () => (++steps === 3 ? "stop" : undefined) } });
    const ids = ["conv2", "fc1", "fc2"];
    const total = ids.reduce((sum, id) => sum + weightOf(trained.graph, id, "kernel").values.length, 0);
    expect(pruned.history.at(-1)).toMatchObject({ steps: 3, maskUpdates: 1 });
    expect(prunedCounts(pruned, ids).reduce((a, b) => a + b)).toBe(Math.round(0.75 * total));
  });

  it("keepLargest keeps exactly `keep` of what the mask kept, largest |w| first, ties in index order", () => {
    const values = Float32Array.from([0.5, -3, 2, -2, 0, 2, 1]);
    expect([...keepLargest(values, Uint8Array.from([1, 1, 1, 1, 1, 1, 1]), 3)]).toEqual([0, 1, 1, 1, 0, 0, 0]);
    expect([...keepLargest(values, Uint8Array.from([1, 0, 1, 1, 1, 1, 1]), 3)]).toEqual([0, 0, 1, 1, 0, 1, 0]);
    expect([...keepLargest(values, Uint8Array.from([1, 0, 1, 1, 0, 1, 1]), 6)]).toEqual([1, 0, 1, 1, 0, 1, 1]);
  });
});

describe("lenet at 75% sparsity", () => {
  it("keeps the dense model's accuracy after the fine-tune, where one-shot pruning without it does not", async () => {
    const dense = evaluateGraph(trained.graph, data.test, { normalization }).accuracy;
    const pruned = await new WeightSparseLearner().compress(trained, learnerData, { epochs: 2, batchSize: 16, seed: 2, sparsity: 0.75 });
    const sparse = evaluateGraph(pruned.graph, data.test, { normalization }).accuracy;
    const oneShot = withMasks(trained, prunableLayers(trained.graph).map((layer) => {
      const { values, shape } = weightOf(trained.graph, layer.id, layer.weight);
      return [layer.id, layer.weight, { shape, kept: keepLargest(values, new Uint8Array(layer.size).fill(1), layer.size - Math.round(0.75 * layer.size)) }];
    }));
    const oneShotAccuracy = evaluateGraph(oneShot.graph, data.test, { normalization }).accuracy;
    // measured: dense 100%, gradual 100%, one-shot 84% (at 90% sparsity these 32 steps no longer suffice: 77%)
    expect(dense).toBeGreaterThan(0.9);
    expect(sparse).toBeGreaterThan(dense - 0.05);
    expect(oneShotAccuracy).toBeLessThan(sparse - 0.05);
    expect(lastRecord(pruned)?.validationAccuracy).toBeCloseTo(sparse, 10);
  });
});

describe("sparse storage", () => {
  it("round-trips a weight of odd length through bitmask + kept values, in ceil(n/8) + 4·kept bytes", () => {
    const random = seededRandom(3);
    const values = Float32Array.from({ length: 1001 }, () => random() * 2 - 1);
    const kept = Uint8Array.from(values, () => (random() < 0.25 ? 1 : 0));
    kept[1000] = 1;
    const keptCount = kept.reduce((a, b) => a + b, 0);
    const sparse = encodeSparse(values, { shape: [7, 11, 13], kept });
    expect(sparse.values.length).toBe(keptCount);
    expect(sparseWeightBytes(sparse)).toBe(126 + 4 * keptCount);
    expect(sparseStoredBytes(1001, keptCount)).toBe(126 + 4 * keptCount);
    const decoded = decodeSparse(sparse);
    expect(decoded.mask).toEqual({ shape: [7, 11, 13], kept });
    decoded.values.forEach((value, i) => expect(value).toBe(kept[i] ? values[i] : 0));
    sparse.bitmask[0] ^= 1;
    expect(() => decodeSparse(sparse)).toThrow(/the bitmask keeps \d+ entries, but \d+ values are stored; the sparse weight is corrupt/);
    expect(() => encodeSparse(values, { shape: [1000], kept: kept.subarray(0, 1000) })).toThrow(/the mask has 1000 entries of shape \[1000\], but the weight has 1001/);
  });

  it("measureModel reports the sparse bytes of the masked weights: dense bytes minus what the bitmask saves", async () => {
    const pruned = await new WeightSparseLearner().compress(trained, learnerData, { ...fast, sparsity: 0.75 });
    const before = measureModel(trained, {});
    const after = measureModel(pruned, {});
    expect(before.sparseBytes).toBe(before.weightBytes);
    const saved = ["conv2", "fc1", "fc2"].reduce((sum, id) => {
      const { kept } = pruned.masks[id].kernel;
      return sum + 4 * kept.length - Math.ceil(kept.length / 8) - 4 * kept.reduce((a, b) => a + b, 0);
    }, 0);
    expect(after.sparseBytes).toBe(after.weightBytes - saved);
    expect(after.sparseBytes).toBeLessThan(0.5 * after.weightBytes);
  });
});

describe("options and refusals", () => {
  const learner = new WeightSparseLearner();
  const reject = (options: Record<string, unknown>, message: string | RegExp) => expect(learner.compress(trained, learnerData, { ...fast, ...options })).rejects.toThrow(message);

  it("names the option, the rule and the value", async () => {
    await reject({ sparsity: 0 }, "learner 'weight-sparse': option sparsity must be a number > 0 and < 1 (0 prunes nothing, 1 every weight), but got 0");
    await reject({ sparsity: 1 }, /option sparsity must be a number > 0 and < 1/);
    await reject({ sparsity: 1.5 }, "option sparsity must be a number >= 0 <= 1, but got 1.5");
    await reject({ allocation: "optimal" }, "option allocation must be one of uniform, heuristic, but got \"optimal\"");
    await reject({ beginFraction: 0.5, endFraction: 0.4 }, "option endFraction must be above beginFraction (0.5)");
    await reject({ layerSparsity: { pool1: 0.5 } }, /option layerSparsity must be a map over the conv, depthwise and dense nodes \(conv1, conv2, fc1, fc2, logits\); 'pool1' is not one/);
    await reject({ layerSparsity: { fc1: 1 } }, /option layerSparsity must be a map of sparsities >= 0 and < 1; 'fc1' has 1/);
    await reject({ epochs: undefined }, /option epochs must be an integer >= 1/);
    await expect(learner.compress(trained, learnerData, { ...fast, sparsity: 0 })).rejects.toThrow(LearnerOptionError);
  });

  it("refuses a quantized model; is registered as 'weight-sparse'", async () => {
    const quantized = withQuantization(trained, { fc1: { activation: { bits: 8, min: 0, max: 6, symmetric: false } } });
    await expect(learner.compress(quantized, learnerData, fast)).rejects.toThrow(LearnerRefusedError);
    await expect(learner.compress(quantized, learnerData, fast)).rejects.toThrow(/learner 'weight-sparse' refuses this model: 1 of its nodes are quantized \(first: 'fc1'\)/);
    expect(learnerByName("weight-sparse")).toBeInstanceOf(WeightSparseLearner);
    const net = new GraphBuilder("tiny", 1);
    const features = net.plain("flatten", "flatten", net.conv2d("conv", net.input([8, 8, 1]), { filters: 2, kernelSize: 3, padding: "same", useBias: true }));
    const tiny = uncompressed(net.build("tiny", net.classifier(features, 4)));
    await expect(learner.compress(tiny, learnerData, fast)).rejects.toThrow("graph 'tiny' has no conv or dense layer to prune besides the first conv and the last dense layer; pass pruneFirstAndLast to prune those");
  });
});
