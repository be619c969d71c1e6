// Training end to end: the same small CNN, same initial weights, same data and plain SGD give
// the same loss curve on tfjs's cpu backend and on ours. Every kernel of a training step runs
// (convolutions, their gradients, pooling, matmul, the loss), and errors would compound over
// the steps, so a curve that stays within 1e-3 says the gradients and updates agree.
import * as tf from "@tensorflow/tfjs-core";
import { describe, expect, it } from "vitest";
import { OURS, seededValues } from "./compare.js";

const BATCH = 8;
const SIZE = 12;
const IN_CHANNELS = 2;
const CLASSES = 10;
const STEPS = 20;
const LEARNING_RATE = 0.05;

const count = (shape: number[]): number => shape.reduce((p, d) => p * d, 1);

/** Weights scaled to He-like magnitudes, so the activations neither vanish nor blow up. */
function weight<R extends tf.Rank>(shape: number[], fanIn: number, seed: number): tf.Variable<R> {
  const values = seededValues(count(shape), seed).map((v) => v * Math.sqrt(6 / fanIn));
  return tf.tidy(() => tf.variable(tf.tensor<tf.Rank>(values, shape))) as tf.Variable<R>;
}

/**
 * conv 3×3 (2→8) → relu → maxpool 2 → conv 3×3 (8→8, Winograd on our backend) → relu →
 * conv 3×3 stride 2 (8→16) + bias → relu → dense (→10).
 */
function lossCurve(): number[] {
  const conv1 = weight<tf.Rank.R4>([3, 3, IN_CHANNELS, 8], 9 * IN_CHANNELS, 11);
  const convMid = weight<tf.Rank.R4>([3, 3, 8, 8], 9 * 8, 16);
  const conv2 = weight<tf.Rank.R4>([3, 3, 8, 16], 9 * 8, 12);
  const bias2 = tf.tidy(() => tf.variable(tf.tensor(seededValues(16, 13).map((v) => 0.1 * v), [16])));
  const flat = 3 * 3 * 16;
  const dense = weight<tf.Rank.R2>([flat, CLASSES], flat, 14);
  const x = tf.tensor4d(seededValues(BATCH * SIZE * SIZE * IN_CHANNELS, 15), [BATCH, SIZE, SIZE, IN_CHANNELS]);
  const labels = tf.tidy(() => tf.oneHot(tf.tensor1d(Array.from({ length: BATCH }, (_, i) => (i * 7) % CLASSES), "int32"), CLASSES));
  const optimizer = tf.train.sgd(LEARNING_RATE);
  const losses: number[] = [];
  for (let step = 0; step < STEPS; step++) {
    const cost = optimizer.minimize(() => {
      const h1 = tf.maxPool(tf.relu(tf.conv2d(x, conv1, 1, "same")), 2, 2, "valid");
      const mid = tf.relu(tf.conv2d(h1, convMid, 1, "same"));
      const h2 = tf.relu(tf.add(tf.conv2d(mid, conv2, 2, "same"), bias2));
      const logits = tf.matMul(tf.reshape(h2, [BATCH, flat]), dense);
      return tf.losses.softmaxCrossEntropy(labels, logits);
    }, true) as tf.Scalar;
    losses.push(cost.dataSync()[0]);
    cost.dispose();
  }
  tf.dispose([conv1, convMid, conv2, bias2, dense, x, labels]);
  optimizer.dispose();
  return losses;
}

async function curveOn(backend: string): Promise<number[]> {
  await tf.setBackend(backend);
  const before = tf.memory().numTensors;
  const curve = lossCurve();
  expect(tf.memory().numTensors, `tensors left over on ${backend}`).toBe(before);
  return curve;
}

describe("training on the pocketflow backend matches cpu", () => {
  it(`small CNN x=[${BATCH},${SIZE},${SIZE},${IN_CHANNELS}], ${STEPS} SGD steps lr=${LEARNING_RATE}: same loss curve within 1e-3`, async () => {
    const expected = await curveOn("cpu");
    const actual = await curveOn(OURS);
    // the run must actually learn, or the comparison says little
    expect(expected[STEPS - 1]).toBeLessThan(0.8 * expected[0]);
    const errors = actual.map((loss, i) => Math.abs(loss - expected[i]) / Math.abs(expected[i]));
    const worst = Math.max(...errors);
    expect(worst, `loss curves: cpu ${expected.map((v) => v.toFixed(5)).join(" ")}; ours ${actual.map((v) => v.toFixed(5)).join(" ")}`).toBeLessThanOrEqual(1e-3);
  });
});
