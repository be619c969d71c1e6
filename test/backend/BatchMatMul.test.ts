import * as tf from "@tensorflow/tfjs-core";
import { describe, expect, it } from "vitest";
import { errorAgainstCpu, seededValues } from "./compare.js";

describe("BatchMatMul on the pocketflow backend matches cpu", () => {
  const cases: Array<[number[], number[], boolean, boolean]> = [
    [[5, 7], [7, 3], false, false],
    [[7, 5], [7, 3], true, false],
    [[5, 7], [3, 7], false, true],
    [[7, 5], [3, 7], true, true],
    [[4, 33, 17], [4, 17, 9], false, false],
    [[4, 33, 17], [1, 17, 9], false, false],
    [[2, 3, 6, 5], [2, 3, 5, 8], false, false],
    [[128, 300], [300, 10], false, false],
  ];
  for (const [aShape, bShape, transposeA, transposeB] of cases) {
    it(`a=[${aShape}] b=[${bShape}] transposeA=${transposeA} transposeB=${transposeB}`, async () => {
      const err = await errorAgainstCpu(() => {
        const a = tf.tensor(seededValues(aShape.reduce((p, d) => p * d), 1), aShape);
        const b = tf.tensor(seededValues(bShape.reduce((p, d) => p * d), 2), bShape);
        return tf.matMul(a, b, transposeA, transposeB);
      });
      expect(err).toBeLessThanOrEqual(1e-4);
    });
  }
  it("gradients of a dense layer match", async () => {
    const err = await errorAgainstCpu(() => {
      const x = tf.tensor(seededValues(32 * 20, 3), [32, 20]);
      const w = tf.tensor(seededValues(20 * 10, 4), [20, 10]);
      const grads = tf.grads((x: tf.Tensor, w: tf.Tensor) => tf.sum(tf.square(tf.matMul(x, w))));
      return grads([x, w]);
    });
    expect(err).toBeLessThanOrEqual(1e-4);
  });
});
