// The straight-through estimator: rounding in the forward pass, identity (or clipped identity)
// gradients in the backward pass, and training through it with the trainer's forward override.
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { beforeAll, describe, expect, it } from "vitest";
import { registerPocketflowBackend } from "../../src/backend/register.js";
import { computeNormalization } from "../../src/data/batches.js";
import { syntheticDataset } from "../../src/data/synthetic.js";
import { evaluate } from "../../src/train/evaluate.js";
import { straightThrough } from "../../src/train/straight-through.js";
import { train, type TrainOptions } from "../../src/train/trainer.js";

beforeAll(async () => {
  await tf.setBackend(registerPocketflowBackend());
});

describe("straightThrough", () => {
  it("rounds forward and passes gradients straight through, zero outside the clip range", () => {
    const x = tf.tensor1d([-2.6, -0.4, 0.5, 1.5, 3.2]);
    const plain = straightThrough((v) => tf.round(v));
    const clipped = straightThrough((v) => tf.clipByValue(tf.round(v), -1, 2), { clipRange: [-1, 2] });
    expect(Array.from(plain(x).dataSync())).toEqual([-3, -0, 0, 2, 3]);
    const weights = tf.tensor1d([1, 2, 3, 4, 5]);
    expect(Array.from(tf.grad((v: tf.Tensor) => tf.sum(tf.mul(plain(v), weights)))(x).dataSync())).toEqual([1, 2, 3, 4, 5]);
    expect(Array.from(tf.grad((v: tf.Tensor) => tf.sum(tf.mul(clipped(v), weights)))(x).dataSync())).toEqual([0, 2, 3, 4, 0]);
    expect(() => straightThrough((v) => v, { clipRange: [1, 0] })).toThrow("clipRange must be [min, max] with min <= max, but got [1, 0]");
  });

  it("a dense layer whose kernel is rounded to a 1/8 grid in every forward pass still trains (forward override)", async () => {
    const data = syntheticDataset({ imageShape: [6, 6, 1], numClasses: 3, trainCount: 96, testCount: 48, seed: 9 });
    const normalization = computeNormalization(data.train);
    const dense = tfl.layers.dense({ units: 3, inputShape: [36], kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }) });
    const model = tfl.sequential({ layers: [tfl.layers.flatten({ inputShape: [6, 6, 1] }), dense] });
    const onGrid = straightThrough((w) => tf.div(tf.round(tf.mul(w, 8)), 8));
    const forward = (images: tf.Tensor4D): tf.Tensor2D => {
      const [kernel, bias] = dense.trainableWeights.map((w) => w.read());
      return tf.add(tf.matMul(tf.reshape(images, [images.shape[0], 36]), onGrid(kernel)), bias) as tf.Tensor2D;
    };
    const before = evaluate(forward, data.test, { normalization }).accuracy;
    const options: TrainOptions = { epochs: 6, batchSize: 16, normalization, forward, optimizer: { kind: "adam" }, schedule: { schedule: { kind: "constant", learningRate: 0.02 } } };
    await train(model, data.train, options);
    const after = evaluate(forward, data.test, { normalization }).accuracy;
    expect(after).toBeGreaterThan(0.9);
    expect(after).toBeGreaterThan(before);
  });
});
