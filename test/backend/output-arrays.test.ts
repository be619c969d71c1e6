// Large outputs of our kernels live in the kernels' memory, are read there by the next kernel
// without a copy, and are freed for reuse once their tensors are disposed; nothing else ever
// holds them: reads, cpu kernels (a slice keeps a view) and user arrays get ordinary copies.
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it, vi } from "vitest";
import type { PocketflowBackend } from "../../src/backend/backend.js";
import { freeingUnclaimedOutputs } from "../../src/backend/register.js";
import { makeTensor, outputArray } from "../../src/backend/tensor-data.js";
import { kernels, Staging } from "../../src/kernels/core.js";
import { maxRelativeError, OURS, seededValues } from "./compare.js";

const SHAPE = [4, 32, 32, 16]; // 65536 values: large enough to live in the kernels' memory
const SIZE = SHAPE.reduce((p, d) => p * d, 1);
const backend = (): PocketflowBackend => tf.backend() as PocketflowBackend;
const valuesOf = (t: tf.Tensor): Float32Array => backend().data.get(t.dataId).values as Float32Array;
const input = (seed: number): tf.Tensor => tf.tensor(seededValues(SIZE, seed), SHAPE);
const relu = (values: Float32Array): number[] => Array.from(values, (v) => Math.max(v, 0));

beforeAll(async () => {
  await tf.setBackend(OURS);
});

describe("output arrays", () => {
  it("a large output lives in the kernels' memory; a disposed one's memory holds the next output, with the new values", () => {
    const [x, y] = [input(1), input(2)];
    const first = tf.relu(x);
    const where = valuesOf(first);
    expect(kernels().isResident(where)).toBe(true);
    first.dispose();
    const second = tf.relu(y);
    expect(valuesOf(second).byteOffset).toBe(where.byteOffset);
    expect(Array.from(second.dataSync())).toEqual(relu(seededValues(SIZE, 2)));
    const small = tf.relu(tf.tensor(seededValues(8, 3))); // a few values: an ordinary array
    expect(kernels().isResident(valuesOf(small))).toBe(false);
    tf.dispose([x, y, second, small]);
  });
  it("the next kernel reads a resident output and writes its own without a copy in or out", () => {
    const x = input(11);
    const scratch = vi.spyOn(Staging.prototype, "scratch");
    try {
      const a = tf.relu(x);
      const b = tf.neg(a);
      expect(scratch).not.toHaveBeenCalled();
      expect(Array.from(b.dataSync())).toEqual(relu(seededValues(SIZE, 11)).map((v) => -v));
      tf.dispose([a, b]);
    } finally {
      scratch.mockRestore();
      x.dispose();
    }
  });
  it("a tensor made outside our kernels moves into their memory on its first read, once; the user's array is never touched", () => {
    const user = seededValues(SIZE, 14);
    const userCopy = Float32Array.from(user);
    const before = backend().outputs.bytesResident;
    const x = tf.tensor(user, SHAPE);
    const small = tf.tensor(seededValues(10, 15));
    expect(kernels().isResident(valuesOf(x))).toBe(false);
    const a = tf.relu(x);
    const moved = valuesOf(x);
    expect(kernels().isResident(moved)).toBe(true);
    expect(moved).not.toBe(user);
    const b = tf.neg(x); // read in place: no second move
    expect(valuesOf(x)).toBe(moved);
    const c = tf.relu(small); // small tensors move too: a copy per read would cost more
    expect(kernels().isResident(valuesOf(small))).toBe(true);
    expect(user).toEqual(userCopy);
    expect(Array.from(x.dataSync())).toEqual(Array.from(userCopy)); // a read moves it back out
    expect(Array.from(b.dataSync())).toEqual(Array.from(userCopy, (v) => -v));
    expect(Array.from(a.dataSync())).toEqual(relu(userCopy));
    tf.dispose([x, a, b, c, small]);
    expect(backend().outputs.bytesResident).toBe(before);
  });
  it("values read with dataSync are an ordinary copy that later outputs never touch; the tensor's memory is freed", () => {
    const [x, y] = [input(3), input(4)];
    const first = tf.relu(x);
    const before = backend().outputs.bytesResident;
    const read = first.dataSync();
    expect(kernels().isResident(read as Float32Array)).toBe(false);
    expect(backend().outputs.bytesResident).toBe(before - SIZE * 4);
    const copy = Float32Array.from(read);
    first.dispose();
    const later = [tf.relu(y), tf.neg(y)];
    expect(read).toEqual(copy);
    tf.dispose([x, y, ...later]);
  });
  it("an array a cpu kernel saw (a slice keeps a view of it) is an ordinary copy: later outputs never touch it", () => {
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
    first.dispose();
    x.dispose();
    const later = [tf.relu(input(8)), tf.relu(input(9)), tf.neg(input(10))];
    expect(Array.from(reshaped.dataSync())).toEqual(relu(userCopy));
    expect(user).toEqual(userCopy);
    tf.dispose([reshaped, ...later]);
  });
  it("a cast to float32 (tfjs-layers casts every layer input) shares a resident output without a copy; a cast to int32 reads it", () => {
    const x = input(13);
    const a = tf.relu(x);
    const same = tf.cast(a, "float32");
    expect(valuesOf(same)).toBe(valuesOf(a));
    expect(kernels().isResident(valuesOf(a))).toBe(true);
    const ints = tf.cast(tf.mul(a, 10), "int32");
    expect(Array.from(ints.dataSync())).toEqual(relu(seededValues(SIZE, 13)).map((v) => Math.trunc(Math.fround(v * 10))));
    a.dispose();
    expect(Array.from(same.dataSync())).toEqual(relu(seededValues(SIZE, 13)));
    tf.dispose([x, same, ints]);
  });
  it("arrays derived from a resident array are computed once per source, replaced for another, freed with it", () => {
    const outputs = backend().outputs;
    const before = outputs.bytesResident;
    const inputs = [input(16), input(17)];
    const [a, b] = inputs.map((t) => tf.relu(t));
    const owner = valuesOf(a);
    let computed = 0;
    const compute = (out: Float32Array): void => {
      computed++;
      out.fill(computed);
    };
    const first = outputs.derived(owner, "test", `from ${outputs.idOf(valuesOf(b))}`, 10, compute);
    expect(kernels().isResident(first)).toBe(true);
    expect(outputs.derived(owner, "test", `from ${outputs.idOf(valuesOf(b))}`, 10, compute)).toBe(first);
    expect(computed).toBe(1);
    expect(outputs.idOf(valuesOf(a))).not.toBe(outputs.idOf(valuesOf(b)));
    const other = outputs.derived(owner, "test", "another source", 10, compute);
    expect(computed).toBe(2);
    expect(Array.from(other)).toEqual(new Array(10).fill(2));
    expect(() => outputs.derived(new Float32Array(4), "test", "", 1, compute)).toThrow("resident");
    expect(() => outputs.derived(owner, "failing", "", 4, () => { throw new Error("no"); })).toThrow("no");
    tf.dispose([a, b, ...inputs]);
    expect(outputs.bytesResident).toBe(before);
  });
  it("a conv's prepared filter and a batch norm's factors are kept with their tensors and never go stale", async () => {
    const outputs = backend().outputs;
    const before = outputs.bytesResident;
    const x = tf.tensor(seededValues(2 * 9 * 9 * 8, 40), [2, 9, 9, 8]);
    const shapes: Array<[number, number]> = [[1, 1], [3, 3]]; // GEMM and Winograd forms
    const run = async (name: string, wSeed: number, mSeed: number): Promise<Float32Array[]> => {
      await tf.setBackend(name);
      return tf.tidy(() => shapes.flatMap(([kh, kw]) => {
        const w = tf.tensor(seededValues(kh * kw * 8 * 12, wSeed + kh), [kh, kw, 8, 12]);
        const mean = tf.tensor(seededValues(12, mSeed));
        const variance = tf.abs(tf.tensor(seededValues(12, mSeed + 1)));
        const y = tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, "same");
        const outs = [y, tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, "same"), tf.batchNorm(y, mean, variance), tf.batchNorm(y, mean, variance, undefined, undefined, 0.5)];
        return outs.map((t) => Float32Array.from(t.dataSync()));
      }));
    };
    for (const [wSeed, mSeed] of [[50, 60], [51, 61]]) {
      const expected = await run("cpu", wSeed, mSeed);
      const actual = await run(OURS, wSeed, mSeed);
      actual.forEach((a, i) => expect(maxRelativeError(a, expected[i]), `output ${i}`).toBeLessThanOrEqual(1e-4));
    }
    x.dispose();
    expect(outputs.bytesResident).toBe(before);
  });
  it("disposing every tensor frees every resident output", () => {
    const before = backend().outputs.bytesResident;
    tf.tidy(() => {
      const x = input(12);
      const y = tf.relu(tf.add(x, x));
      tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.relu(v), y)))(x);
    });
    expect(backend().outputs.bytesResident).toBe(before);
  });
  it("output arrays a kernel took but made no tensor of are freed when the kernel ends, also when it throws", () => {
    const before = backend().outputs.bytesResident;
    const kernel = (fail: boolean) => freeingUnclaimedOutputs({
      kernelName: "TestKernel", backendName: OURS,
      kernelFunc: (args) => {
        const b = args.backend as PocketflowBackend;
        const out = outputArray(b, SIZE);
        outputArray(b, SIZE); // scratch that never becomes a tensor
        if (fail) throw new Error("midway");
        return makeTensor(b, [SIZE], out);
      },
    }).kernelFunc;
    expect(() => kernel(true)({ inputs: {}, backend: backend(), attrs: {} })).toThrow("midway");
    expect(backend().outputs.bytesResident).toBe(before);
    const info = kernel(false)({ inputs: {}, backend: backend(), attrs: {} }) as tf.TensorInfo;
    expect(backend().outputs.bytesResident - before).toBe(SIZE * 4);
    backend().disposeData(info.dataId);
    expect(backend().outputs.bytesResident).toBe(before);
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
