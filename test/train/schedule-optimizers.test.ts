// Learning-rate schedules, the optimizers' update rules against their formulas computed by hand,
// the losses, and resumable batches.
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { beforeAll, describe, expect, it } from "vitest";
import { batches } from "../../src/data/batches.js";
import { syntheticDataset } from "../../src/data/synthetic.js";
import { crossEntropy, distillationLoss } from "../../src/train/losses.js";
import { TrainingOptimizer, type TrainingOptimizerConfig } from "../../src/train/optimizers.js";
import { checkSchedule, learningRateAt } from "../../src/train/schedule.js";

beforeAll(async () => {
  await tf.setBackend("cpu");
});

describe("learningRateAt", () => {
  it("piecewise: ×decay at each boundary epoch (PocketFlow's ResNet recipe)", () => {
    const options = { schedule: { kind: "piecewise" as const, learningRate: 0.1, boundaryEpochs: [100, 150, 200], decay: 0.1 } };
    expect([0, 99.9, 100, 150, 249].map((e) => learningRateAt(options, e, 250))).toEqual([0.1, 0.1, 0.1 * 0.1, 0.1 * 0.1 ** 2, 0.1 * 0.1 ** 3]);
  });

  it("cosine: from the rate after warm-up down to finalFactor·rate at the end", () => {
    const options = { schedule: { kind: "cosine" as const, learningRate: 0.2, finalFactor: 0.1 }, warmupEpochs: 2 };
    expect(learningRateAt(options, 2, 12)).toBeCloseTo(0.2, 12);
    expect(learningRateAt(options, 7, 12)).toBeCloseTo(0.2 * (0.1 + 0.9 * 0.5), 12);
    expect(learningRateAt(options, 12, 12)).toBeCloseTo(0.02, 12);
  });

  it("warm-up ramps linearly from warmupStartFactor·rate", () => {
    const options = { schedule: { kind: "constant" as const, learningRate: 1 }, warmupEpochs: 4, warmupStartFactor: 0.2 };
    expect([0, 1, 2, 4, 5].map((e) => learningRateAt(options, e, 10))).toEqual([0.2, 0.4, 0.6000000000000001, 1, 1]);
  });

  it("rejects bad schedules with the rule and the value", () => {
    expect(() => checkSchedule({ schedule: { kind: "piecewise", learningRate: 0.1, boundaryEpochs: [5, 3], decay: 0.1 } })).toThrow("boundaryEpochs must be positive and increasing, but got [5, 3]");
    expect(() => checkSchedule({ schedule: { kind: "cosine", learningRate: 0.1, finalFactor: 2 } })).toThrow("finalFactor must be in 0..1, but got 2");
    expect(() => checkSchedule({ schedule: { kind: "constant", learningRate: 0.1 }, warmupEpochs: -1 })).toThrow("warmupEpochs must be >= 0, but got -1");
  });
});

/** Three updates of w = [1, -2] with gradients g_t; returns w after each. */
function updates(config: TrainingOptimizerConfig, learningRate: number, gradients: number[][]): number[][] {
  const variable = tf.variable(tf.tensor1d([1, -2]));
  const optimizer = new TrainingOptimizer(config);
  const out = gradients.map((g) => {
    const gradient = tf.tensor1d(g);
    optimizer.apply([{ name: "w", variable }], { w: gradient }, learningRate);
    gradient.dispose();
    return Array.from(variable.dataSync());
  });
  optimizer.dispose();
  variable.dispose();
  return out;
}

describe("TrainingOptimizer", () => {
  const g = [[0.5, -1], [0.25, 2], [-1, 0.5]];

  it("momentum SGD follows a ← m·a + g, w ← w − lr·a (and Nesterov's w ← w − lr·(g + m·a))", () => {
    for (const nesterov of [false, true]) {
      const w = [1, -2];
      const a = [0, 0];
      const expected = g.map((gt) => w.map((_, i) => {
        a[i] = 0.9 * a[i] + gt[i];
        w[i] -= 0.1 * (nesterov ? gt[i] + 0.9 * a[i] : a[i]);
        return w[i];
      }));
      updates({ kind: "sgd", momentum: 0.9, nesterov }, 0.1, g).flat().forEach((v, i) => expect(v).toBeCloseTo(expected.flat()[i], 6));
    }
  });

  it("Adam follows Kingma & Ba with bias correction", () => {
    const w = [1, -2];
    const m = [0, 0];
    const v = [0, 0];
    const expected = g.map((gt, t) => w.map((_, i) => {
      m[i] = 0.9 * m[i] + 0.1 * gt[i];
      v[i] = 0.999 * v[i] + 0.001 * gt[i] ** 2;
      const mHat = m[i] / (1 - 0.9 ** (t + 1));
      const vHat = v[i] / (1 - 0.999 ** (t + 1));
      w[i] -= (0.01 * mHat) / (Math.sqrt(vHat) + 1e-8);
      return w[i];
    }));
    updates({ kind: "adam" }, 0.01, g).flat().forEach((value, i) => expect(value).toBeCloseTo(expected.flat()[i], 5));
  });

  it("state saved after one step and restored into a new optimizer gives the same next step", () => {
    const run = (split: boolean): number[] => {
      const variable = tf.variable(tf.tensor1d([1, -2]));
      let optimizer = new TrainingOptimizer({ kind: "adam" });
      const parameters = [{ name: "w", variable }];
      const step = (values: number[]): void => tf.tidy(() => optimizer.apply(parameters, { w: tf.tensor1d(values) }, 0.01));
      step(g[0]);
      if (split) {
        const state = optimizer.getState();
        optimizer.dispose();
        optimizer = new TrainingOptimizer({ kind: "adam" });
        optimizer.setState(state, parameters);
      }
      step(g[1]);
      const out = Array.from(variable.dataSync());
      optimizer.dispose();
      variable.dispose();
      return out;
    };
    expect(run(true)).toEqual(run(false));
  });

  it("rejects bad settings and a state of another model", () => {
    expect(() => new TrainingOptimizer({ kind: "sgd", momentum: 1 })).toThrow("momentum must be in [0, 1), but got 1");
    expect(() => new TrainingOptimizer({ kind: "rmsprop" } as unknown as TrainingOptimizerConfig)).toThrow("unknown kind 'rmsprop'; use 'sgd' or 'adam'");
    const variable = tf.variable(tf.tensor1d([1, 2, 3]));
    expect(() => new TrainingOptimizer({ kind: "sgd" }).setState({ steps: 1, slots: { w: [new Float32Array(2)] } }, [{ name: "w", variable }])).toThrow(/does not match/);
    variable.dispose();
  });
});

describe("losses", () => {
  it("cross-entropy and distillation match their formulas", () => {
    const logits = [[2, 0, -1], [0.5, 0.5, 3]];
    const teacher = [[1, 1, 0], [-2, 0, 2]];
    const softmax = (row: number[], t = 1): number[] => {
      const e = row.map((v) => Math.exp(v / t));
      const s = e.reduce((a, b) => a + b);
      return e.map((v) => v / s);
    };
    const ce = -(Math.log(softmax(logits[0])[0]) + Math.log(softmax(logits[1])[2])) / 2;
    const dst = 4 * -logits.map((row, i) => softmax(teacher[i], 4).reduce((sum, p, j) => sum + p * Math.log(softmax(row, 4)[j]), 0)).reduce((a, b) => a + b) / 2;
    tf.tidy(() => {
      expect(crossEntropy(tf.tensor1d([0, 2], "int32"), tf.tensor2d(logits)).dataSync()[0]).toBeCloseTo(ce, 5);
      expect(distillationLoss(tf.tensor2d(logits), tf.tensor2d(teacher)).dataSync()[0]).toBeCloseTo(dst, 5);
    });
  });
});

describe("batches startBatch", () => {
  it("gives exactly the batches the full epoch gives from that point, augmentation included", () => {
    const { train } = syntheticDataset({ imageShape: [6, 6, 3], trainCount: 50 });
    const options = { batchSize: 8, shuffle: true, seed: 12, augmentation: { cropPadding: 2, horizontalFlip: true }, keepPartial: false };
    const all = [...batches(train, options)];
    const tail = [...batches(train, { ...options, startBatch: 4 })];
    expect(tail).toEqual(all.slice(4));
    expect(() => [...batches(train, { ...options, startBatch: -1 })]).toThrow("startBatch must be an integer >= 0, but got -1");
  });
});
