// Weight sparsity with layer-wise least squares: the masked fit against a plain-TS twin (normal
// equations per output channel in f64), exact recovery of a sparse kernel, and on a trained
// LeNet the refit conv bringing the logits closer to the original's than the mask alone.
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { registerPocketflowBackend } from "../../src/backend/register.js";
import { computeNormalization } from "../../src/data/batches.js";
import { syntheticDataset } from "../../src/data/synthetic.js";
import { uncompressed, weightOf, withMasks, type CompressedModel } from "../../src/graph/compressed-model.js";
import { FullPrecLearner } from "../../src/learners/full-prec.js";
import type { ConvSamples } from "../../src/learners/channel-selection.js";
import { maskedLeastSquares, reconstructSparse } from "../../src/learners/sparse-reconstruction.js";
import { keepLargest, WeightSparseLearner } from "../../src/learners/weight-sparse.js";
import { createNet } from "../../src/nets/zoo.js";
import { collectActivations } from "../../src/tfjs/activation-taps.js";
import { seededRandom } from "../../src/util/random.js";

/** Random samples: rows × (taps·inChannels) patches, targets from `kernel` plus noise. */
function samplesOf(random: () => number, rows: number, taps: number, inChannels: number, outChannels: number, kernel: Float32Array, noise: number): ConvSamples {
  const p = taps * inChannels;
  const patches = Float32Array.from({ length: rows * p }, () => random() * 2 - 1);
  const targets = new Float32Array(rows * outChannels);
  for (let n = 0; n < rows; n++) {
    for (let o = 0; o < outChannels; o++) {
      let y = 0;
      for (let f = 0; f < p; f++) y += patches[n * p + f] * kernel[f * outChannels + o];
      targets[n * outChannels + o] = y + noise * (random() * 2 - 1);
    }
  }
  return { patches, targets, rows, taps, inChannels, outChannels };
}

/** The twin: per output channel, the normal equations on the kept columns, Gaussian elimination in f64. */
function maskedLeastSquaresRef(s: ConvSamples, mask: Uint8Array): Float64Array {
  const p = s.taps * s.inChannels;
  const m = s.outChannels;
  const weights = new Float64Array(p * m);
  for (let o = 0; o < m; o++) {
    const kept = Array.from({ length: p }, (_, f) => f).filter((f) => mask[f * m + o] !== 0);
    const k = kept.length;
    const a = Array.from({ length: k }, () => new Float64Array(k + 1));
    for (let n = 0; n < s.rows; n++) {
      for (let i = 0; i < k; i++) {
        const xi = s.patches[n * p + kept[i]];
        for (let j = 0; j < k; j++) a[i][j] += xi * s.patches[n * p + kept[j]];
        a[i][k] += xi * s.targets[n * m + o];
      }
    }
    for (let c = 0; c < k; c++) {
      const pivot = a.slice(c).reduce((best, row, r) => (Math.abs(row[c]) > Math.abs(a[best][c]) ? c + r : best), c);
      [a[c], a[pivot]] = [a[pivot], a[c]];
      for (let r = 0; r < k; r++) {
        if (r === c) continue;
        const factor = a[r][c] / a[c][c];
        for (let j = c; j <= k; j++) a[r][j] -= factor * a[c][j];
      }
    }
    kept.forEach((f, i) => { weights[f * m + o] = a[i][k] / a[i][i]; });
  }
  return weights;
}

describe("maskedLeastSquares", () => {
  it("matches the normal-equations twin on random samples, each output channel on its own kept inputs", () => {
    const random = seededRandom(3);
    for (const [taps, inChannels, outChannels, density] of [[9, 4, 3, 0.3], [1, 16, 5, 0.5], [9, 8, 8, 0.1]] as const) {
      const p = taps * inChannels;
      const kernel = Float32Array.from({ length: p * outChannels }, () => random() - 0.5);
      const s = samplesOf(random, 600, taps, inChannels, outChannels, kernel, 0.3);
      const mask = Uint8Array.from(kernel, () => (random() < density ? 1 : 0));
      const { weights, relativeError, relativeErrorMasked } = maskedLeastSquares(s, mask, kernel);
      const twin = maskedLeastSquaresRef(s, mask);
      weights.forEach((w, i) => {
        if (mask[i] === 0) expect(w).toBe(0);
        else expect(w).toBeCloseTo(twin[i], 3);
      });
      // the fit is the best kernel on that support: no worse than the masked original
      expect(relativeError).toBeLessThanOrEqual(relativeErrorMasked + 1e-9);
    }
  });

  it("recovers a sparse kernel exactly from noiseless samples, where the magnitude mask of a perturbed copy finds its support", () => {
    const random = seededRandom(7);
    const taps = 9;
    const inChannels = 6;
    const outChannels = 4;
    const p = taps * inChannels;
    const truth = Float32Array.from({ length: p * outChannels }, () => (random() < 0.25 ? (random() < 0.5 ? -1 : 1) * (0.5 + random()) : 0));
    const s = samplesOf(random, 400, taps, inChannels, outChannels, truth, 0);
    // the current kernel: the truth with small weights everywhere and its kept values moved
    const current = Float32Array.from(truth, (w) => (w === 0 ? 0.1 * (random() - 0.5) : w * (0.6 + 0.8 * random())));
    const keep = truth.reduce((count, w) => count + (w !== 0 ? 1 : 0), 0);
    const mask = keepLargest(current, new Uint8Array(current.length).fill(1), keep);
    mask.forEach((bit, i) => expect(bit).toBe(truth[i] !== 0 ? 1 : 0));
    const { weights, relativeError, relativeErrorMasked } = maskedLeastSquares(s, mask, current);
    weights.forEach((w, i) => expect(w).toBeCloseTo(truth[i], 3));
    expect(relativeError).toBeLessThan(1e-6);
    expect(relativeErrorMasked).toBeGreaterThan(0.01);
  });

  it("names a mask of the wrong size", () => {
    const s = samplesOf(seededRandom(1), 20, 1, 2, 2, new Float32Array(4), 0);
    expect(() => maskedLeastSquares(s, new Uint8Array(3), new Float32Array(4))).toThrow(/mask and kernel need 2×2 values/);
  });
});

describe("reconstructSparse on a trained LeNet", () => {
  const data = syntheticDataset({ imageShape: [16, 16, 1], numClasses: 4, trainCount: 256, testCount: 128, seed: 4 });
  const normalization = computeNormalization(data.train);
  const learnerData = { train: data.train, validation: data.test, normalization };
  let trained: CompressedModel;
  beforeAll(async () => {
    await tf.setBackend(registerPocketflowBackend());
    trained = await new FullPrecLearner().compress(uncompressed(createNet("lenet", { inputShape: [16, 16, 1], classes: 4, seed: 1 })), learnerData, { epochs: 3, batchSize: 16, seed: 2 });
  });

  const logits = (model: CompressedModel) => collectActivations(model.graph, data.test, { nodes: ["logits"], samples: 128, seed: 0, normalization }).nodes.get("logits")?.output as Float32Array;
  const distance = (a: Float32Array, b: Float32Array) => a.reduce((sum, value, i) => sum + (value - b[i]) ** 2, 0);

  it("masks conv2 at its count and refits it: held-out logits closer to the original's than the magnitude mask alone; the input untouched", () => {
    const { shape, values } = weightOf(trained.graph, "conv2", "kernel");
    const before = Float32Array.from(values);
    const keep = Math.round(0.2 * values.length);
    const target = { id: "conv2", weight: "kernel" as const, shape: [...shape], maskOf: (v: Float32Array) => keepLargest(v, new Uint8Array(v.length).fill(1), keep) };
    const { model, layers } = reconstructSparse(trained, [target], learnerData, { samples: 200, positionsPerImage: 10, seed: 0 });
    expect(weightOf(trained.graph, "conv2", "kernel").values).toEqual(before);
    const mask = model.masks.conv2.kernel.kept;
    expect(mask.reduce((sum, bit) => sum + bit, 0)).toBe(keep);
    expect(layers[0].kept).toBe(keep);
    expect(layers[0].relativeError as number).toBeLessThan(layers[0].relativeErrorMasked as number);
    const maskedOnly = withMasks(trained, [["conv2", "kernel", { shape: [...shape], kept: mask }]]);
    const original = logits(trained);
    expect(distance(logits(model), original)).toBeLessThan(0.7 * distance(logits(maskedOnly), original));
  });

  it("the learner's reconstruct option meets every layer's count, keeps the masks through the fine-tune and records the errors", async () => {
    const out = await new WeightSparseLearner().compress(trained, learnerData, { sparsity: 0.8, reconstruct: true, samples: 100, mode: "fast", fastSteps: 6, epochs: 1, batchSize: 16, seed: 2 });
    const record = out.history[out.history.length - 1] as unknown as { reconstruction: Array<{ layer: string; kept: number; size: number; relativeError?: number; relativeErrorMasked?: number }>; sparsity: number };
    expect(record.sparsity).toBeCloseTo(0.8, 2);
    expect(record.reconstruction.map((layer) => layer.layer)).toEqual(["conv2", "fc1", "fc2"]);
    for (const layer of record.reconstruction) {
      expect(out.masks[layer.layer].kernel.kept.reduce((sum, bit) => sum + bit, 0)).toBe(layer.kept);
      const { values } = weightOf(out.graph, layer.layer, "kernel");
      out.masks[layer.layer].kernel.kept.forEach((bit, i) => { if (bit === 0) expect(values[i]).toBe(0); });
    }
    const conv = record.reconstruction[0];
    expect(conv.relativeError as number).toBeLessThan(conv.relativeErrorMasked as number);
    expect(record.reconstruction[1].relativeError).toBeUndefined();
  });
});
