// Output arrays of our kernels are reused after their tensors are disposed, and never while
// anything else may still see them: read values, views kept by cpu kernels, user arrays,
// tensors sharing the data by id.
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import type { PocketflowBackend } from "../../src/backend/backend.js";
import { maxRelativeError, OURS, seededValues } from "./compare.js";

const SHAPE = [4, 32, 32, 16]; // 65536 values: large enough to be pooled
const SIZE = SHAPE.reduce((p, d) => p * d, 1);
const backend = (): PocketflowBackend => tf.backend() as PocketflowBackend;
const valuesOf = (t: tf.Tensor): unknown => backend().data.get(t.dataId).values;
const input = (seed: number): tf.Tensor => tf.tensor(seededValues(SIZE, seed), SHAPE);

beforeAll(async () => {
  await tf.setBackend(OURS);
});

describe("output arrays", () => {
  it("a disposed output's array is the next same-size output's, with the new values", () => {
    const [x, y] = [input(1), input(2)];
    const first = tf.relu(x);
    const array = valuesOf(first);
    first.dispose();
    const second = tf.relu(y);
    expect(valuesOf(second)).toBe(array);
    const expected = Array.from(seededValues(SIZE, 2), (v) => Math.max(v, 0));
    expect(Array.from(second.dataSync())).toEqual(expected);
    tf.dispose([x, y, second]);
  });
  it("values read with dataSync are never reused", () => {
    const [x, y] = [input(3), input(4)];
    const first = tf.relu(x);
    const read = first.dataSync();
    const copy = Float32Array.from(read);
    first.dispose();
    const second = tf.relu(y);
    expect(valuesOf(second)).not.toBe(read);
    expect(read).toEqual(copy);
    tf.dispose([x, y, second]);
  });
  it("an array a cpu kernel saw (a slice keeps a view of it) is never reused", () => {
    const [x, y] = [input(5), input(6)];
    const first = tf.relu(x);
    const slice = tf.slice(first, [1], [2]);
    const expected = Float32Array.from(slice.dataSync());
    first.dispose();
    const later = [tf.relu(y), tf.relu(y), tf.add(y, y)];
    expect(slice.dataSync()).toEqual(expected);
    tf.dispose([x, y, slice, ...later]);
  });
  it("a tensor sharing the data by id (reshape) keeps it alive; user arrays are never taken", () => {
    const user = seededValues(SIZE, 7);
    const userCopy = Float32Array.from(user);
    const x = tf.tensor(user, SHAPE);
    const first = tf.relu(x);
    const reshaped = tf.reshape(first, [SIZE]);
    const expected = Array.from(userCopy, (v) => Math.max(v, 0));
    first.dispose();
    x.dispose();
    const later = [tf.relu(input(8)), tf.relu(input(9)), tf.neg(input(10))];
    expect(Array.from(reshaped.dataSync())).toEqual(expected);
    expect(user).toEqual(userCopy);
    tf.dispose([reshaped, ...later]);
  });
  it("kernels writing into reused arrays match cpu: x=[4,16,16,16] conv, relu, add and their gradients, 3 rounds", async () => {
    const run = async (name: string): Promise<Float32Array[]> => {
      await tf.setBackend(name);
      const results: Float32Array[] = [];
      for (let round = 0; round < 3; round++) {
        results.push(...tf.tidy(() => {
          const x = tf.tensor(seededValues(4 * 16 * 16 * 16, 20 + round), [4, 16, 16, 16]);
          const w = tf.tensor(seededValues(3 * 3 * 16 * 16, 30), [3, 3, 16, 16]);
          const loss = (xv: tf.Tensor, wv: tf.Tensor): tf.Scalar => {
            const { mean, variance } = tf.moments(tf.conv2d(xv as tf.Tensor4D, wv as tf.Tensor4D, 1, "same"), [0, 1, 2]);
            const y = tf.relu(tf.add(tf.conv2d(xv as tf.Tensor4D, wv as tf.Tensor4D, 1, "same"), tf.add(mean, variance)));
            return tf.sum(tf.mul(y, x));
          };
          return tf.grads(loss)([x, w]).map((g) => Float32Array.from(g.dataSync()));
        }));
      }
      return results;
    };
    const expected = await run("cpu");
    const actual = await run(OURS);
    actual.forEach((a, i) => expect(maxRelativeError(a, expected[i]), `output ${i}`).toBeLessThanOrEqual(1e-4));
  });
});
