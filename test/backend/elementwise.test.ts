import * as tf from "@tensorflow/tfjs-core";
import { describe, expect, it } from "vitest";
import { innerKernelFunc } from "../../src/backend/register.js";
import { binaryPlan } from "../../src/backend/kernels/Add.js";
import { ELEMENTWISE_KERNELS } from "../../src/backend/kernels/elementwise-kernels.js";
import { reductionPlan } from "../../src/backend/kernels/Sum.js";
import { plainRepeats } from "../../src/backend/kernels/Tile.js";
import { errorAgainstCpu, OURS, seededValues } from "./compare.js";

const TOLERANCE = 1e-4;
const size = (shape: number[]): number => shape.reduce((p, d) => p * d, 1);
const t = (shape: number[], seed: number, scale = 1): tf.Tensor => tf.tensor(seededValues(size(shape), seed).map((v) => v * scale), shape);

type Binary = (a: tf.Tensor, b: tf.Tensor) => tf.Tensor;
const BINARY: Record<string, Binary> = {
  add: tf.add, sub: tf.sub, mul: tf.mul, div: tf.div, maximum: tf.maximum, minimum: tf.minimum, squaredDifference: tf.squaredDifference,
};

// [a, b]: same shape, scalars both ways, rows both ways, plus broadcasts that go to the cpu kernel
const SHAPES: Array<[number[], number[]]> = [
  [[2, 5, 3, 17], [2, 5, 3, 17]], [[37], [37]], [[2, 5, 3, 17], []], [[], [2, 5, 3, 17]], [[1], [3, 33]],
  [[2, 5, 3, 16], [16]], [[16], [2, 5, 3, 16]], [[2, 5, 3, 17], [1, 1, 1, 17]], [[1, 1, 1, 17], [2, 5, 3, 17]],
  [[2, 5, 3, 17], [3, 17]], [[1, 3, 17], [2, 5, 3, 17]],
  [[2, 5, 3, 17], [2, 1, 1, 17]], [[2, 1, 1, 17], [2, 5, 3, 17]], [[2, 5, 3, 17], [2, 5, 3, 1]], [[3, 1], [3, 7]],
  [[2, 5, 1, 17], [1, 5, 3, 17]], [[4, 1], [1, 5]], [[2, 5, 3, 17], [1, 5, 1, 17]], [[0, 3], [3]],
];

describe("binary element-wise kernels match cpu", () => {
  for (const [name, fn] of Object.entries(BINARY)) {
    it(`${name} over same, scalar, row (both orders) and fallback broadcasts`, async () => {
      for (const [as, bs] of SHAPES) {
        // divisors kept away from 0
        const err = await errorAgainstCpu(() => fn(t(as, 1, 3), name === "div" ? tf.add(t(bs, 2), 2) : t(bs, 2)));
        expect(err, `[${as}] ${name} [${bs}]`).toBeLessThanOrEqual(TOLERANCE);
      }
    });
  }
  it("int32 operands go to the cpu kernel", async () => {
    await tf.setBackend(OURS);
    const r = tf.tidy(() => tf.add(tf.tensor1d([1, 2, 3], "int32"), tf.scalar(4, "int32")).dataSync());
    expect(r).toBeInstanceOf(Int32Array);
    expect(Array.from(r)).toEqual([5, 6, 7]);
  });
  it("plans: same, scalar, row, blockRow or undefined", () => {
    expect(binaryPlan([2, 3], [2, 3], [2, 3])).toEqual({ kind: "same" });
    expect(binaryPlan([], [2, 3], [2, 3])).toEqual({ kind: "scalar", scalarIsA: true });
    expect(binaryPlan([2, 3], [1, 1], [2, 3])).toEqual({ kind: "scalar", scalarIsA: false });
    expect(binaryPlan([4, 2, 3], [1, 2, 3], [4, 2, 3])).toEqual({ kind: "row", rowIsA: false });
    expect(binaryPlan([3], [4, 2, 3], [4, 2, 3])).toEqual({ kind: "row", rowIsA: true });
    expect(binaryPlan([4, 2, 3], [4, 1, 3], [4, 2, 3])).toEqual({ kind: "blockRow", rowIsA: false, blocks: 4 });
    expect(binaryPlan([8, 1, 1, 3], [8, 7, 7, 3], [8, 7, 7, 3])).toEqual({ kind: "blockRow", rowIsA: true, blocks: 8 });
    expect(binaryPlan([8, 10], [8, 1], [8, 10])).toEqual({ kind: "blockRow", rowIsA: false, blocks: 8 });
    expect(binaryPlan([2, 5, 3], [1, 5, 1], [2, 5, 3])).toBeUndefined();
    expect(binaryPlan([4, 1], [1, 3], [4, 3])).toBeUndefined();
  });
});

describe("unary element-wise kernels match cpu", () => {
  const UNARY: Record<string, (x: tf.Tensor) => tf.Tensor> = {
    relu: tf.relu, relu6: tf.relu6, neg: tf.neg, square: tf.square, abs: tf.abs,
    sqrt: (x) => tf.sqrt(tf.abs(x)), rsqrt: (x) => tf.rsqrt(tf.add(tf.abs(x), 0.1)), step: (x) => tf.step(x), stepAlpha: (x) => tf.step(x, 0.3),
  };
  for (const [name, fn] of Object.entries(UNARY)) {
    it(`${name} on odd lengths and with zeros`, async () => {
      for (const shape of [[1], [7], [3, 37], [2, 9, 9, 16]]) {
        const err = await errorAgainstCpu(() => fn(tf.concat([t(shape, 3, 8).reshape([-1]), tf.zeros([3])])));
        expect(err, `[${shape}]`).toBeLessThanOrEqual(TOLERANCE);
      }
    });
  }
});

describe("Sum and Mean match cpu", () => {
  const cases: Array<[number[], number | number[] | undefined]> = [
    [[4, 6, 5, 16], [0, 1, 2]], [[4, 6, 5, 17], [0, 1, 2]], [[3, 33], 0], [[3, 33], 1], [[3, 33], -1], [[4, 6, 5, 3], [1, 2, 3]],
    [[4, 6, 5, 3], undefined], [[4, 6, 5, 3], [0, 1, 2, 3]], [[37], 0], [[1, 1, 1, 16], [0, 1, 2]], [[4, 1, 5, 3], [0, 2]],
    [[4, 6, 5, 3], [1, 2]], [[4, 6, 5, 3], [0, 3]], [[2, 3], []], [[1000, 16], 0], [[5, 7, 7, 64], [1, 2]], [[3, 4, 5, 17], [1]],
    [[2, 3, 4, 5, 6], [1, 2, 3]], [[2, 3, 4, 5, 6], [1, 3]], [[32, 1, 1, 40], [1, 2]],
  ];
  for (const [name, fn] of [["sum", tf.sum], ["mean", tf.mean]] as const) {
    for (const keepDims of [false, true]) {
      it(`${name} over leading, trailing, all and other axes, keepDims ${keepDims}`, async () => {
        for (const [shape, axis] of cases) {
          const err = await errorAgainstCpu(() => fn(t(shape, 5, 2), axis, keepDims));
          expect(err, `[${shape}] over ${axis}`).toBeLessThanOrEqual(TOLERANCE);
          await tf.setBackend(OURS);
          const oursShape = tf.tidy(() => fn(t(shape, 5), axis, keepDims).shape);
          await tf.setBackend("cpu");
          const cpuShape = tf.tidy(() => fn(t(shape, 5), axis, keepDims).shape);
          expect(oursShape).toEqual(cpuShape);
        }
      });
    }
  }
  it("a reduction over axes of size 1 only (a global pool of a 1x1 map) shares x's values by id, freed with the last tensor", async () => {
    await tf.setBackend(OURS);
    const before = tf.memory().numBytes;
    const x = tf.tidy(() => tf.relu(t([32, 1, 1, 40], 9)));
    const pooled = tf.mean(x, [1, 2]);
    expect(pooled.dataId).toBe(x.dataId);
    expect(pooled.shape).toEqual([32, 40]);
    x.dispose();
    expect(Array.from(pooled.dataSync())).toEqual(Array.from(tf.tidy(() => tf.relu(t([32, 40], 9)).dataSync())));
    pooled.dispose();
    expect(tf.memory().numBytes).toBe(before);
  });
  it("int32 sums go to the cpu kernel", async () => {
    await tf.setBackend(OURS);
    expect(Array.from(tf.tidy(() => tf.sum(tf.tensor2d([1, 2, 3, 4], [2, 2], "int32"), 0).dataSync()))).toEqual([4, 6]);
  });
  it("plans group axes of size > 1 into leading, trailing and middle runs", () => {
    expect(reductionPlan([4, 6, 5, 16], [0, 1, 2])).toEqual({ over: "rows", rows: 120, cols: 16 });
    expect(reductionPlan([4, 6, 5, 16], [3])).toEqual({ over: "columns", rows: 120, cols: 16 });
    expect(reductionPlan([4, 1, 5, 16], [0, 2])).toEqual({ over: "rows", rows: 20, cols: 16 });
    expect(reductionPlan([4, 6], [0, 1])).toEqual({ over: "all", rows: 1, cols: 24 });
    expect(reductionPlan([4, 6, 5], [1])).toEqual({ over: "middle", blocks: 4, rows: 6, cols: 5 });
    expect(reductionPlan([4, 7, 7, 16], [1, 2])).toEqual({ over: "middle", blocks: 4, rows: 49, cols: 16 });
    expect(reductionPlan([4, 6, 5, 3], [0, 3])).toBeUndefined();
  });
});

describe("Tile matches cpu", () => {
  it("repeats of leading unit axes, and other tilings on cpu", async () => {
    const cases: Array<[number[], number[]]> = [[[1, 1, 1, 16], [4, 5, 3, 1]], [[1, 7], [5, 1]], [[3], [4]], [[2, 3], [2, 2]], [[1, 2, 3], [3, 1, 2]], [[1, 3], [0, 1]]];
    for (const [shape, reps] of cases) {
      const err = await errorAgainstCpu(() => tf.tile(t(shape, 7), reps));
      expect(err, `[${shape}] x [${reps}]`).toBeLessThanOrEqual(TOLERANCE);
    }
    await tf.setBackend(OURS);
    expect(Array.from(tf.tidy(() => tf.tile(tf.tensor2d([1, 2], [1, 2], "int32"), [3, 1]).dataSync()))).toEqual([1, 2, 1, 2, 1, 2]);
    expect(plainRepeats([1, 1, 16], [4, 5, 1])).toBe(20);
    expect(plainRepeats([2, 16], [2, 1])).toBeUndefined();
  });
});

describe("float32 tensors cast from bool or int32 (which keep their source's storage)", () => {
  const mask = (): tf.Tensor => tf.lessEqual(t([3, 37], 41, 8), 2);
  it("feed the binary, unary, sum and tile kernels as numbers", async () => {
    const cases: Array<() => tf.Tensor> = [
      () => tf.mul(mask(), tf.step(t([3, 37], 41, 8))), // relu6's gradient mask
      () => tf.add(tf.cast(mask(), "float32"), t([37], 42)),
      () => tf.sub(t([3, 37], 43), tf.cast(tf.tensor2d([1, 2, 3], [3, 1], "int32"), "float32")),
      () => tf.relu(tf.cast(mask(), "float32")),
      () => tf.sum(tf.cast(mask(), "float32"), 0),
      () => tf.tile(tf.cast(tf.lessEqual(t([1, 37], 44), 0), "float32"), [3, 1]),
    ];
    for (const [i, compute] of cases.entries()) expect(await errorAgainstCpu(compute), `case ${i}`).toBeLessThanOrEqual(TOLERANCE);
  });
  it("relu6's gradient matches cpu", async () => {
    expect(await errorAgainstCpu(() => tf.grad((x) => tf.sum(tf.square(tf.relu6(x))))(t([5, 41], 45, 8)))).toBeLessThanOrEqual(TOLERANCE);
  });
});

describe("relu's gradient (PocketflowReluGrad on ours) matches cpu", () => {
  it("first and second order, odd shapes, with zeros in x", async () => {
    for (const shape of [[7], [3, 37], [2, 9, 9, 16]]) {
      const x = (): tf.Tensor => tf.concat([t(shape, 51, 4).reshape([-1]), tf.zeros([5])]);
      const probe = (): tf.Tensor => t([size(shape) + 5], 52);
      const first = await errorAgainstCpu(() => tf.grad((v) => tf.sum(tf.mul(tf.relu(v), probe())))(x()));
      expect(first, `[${shape}] first order`).toBeLessThanOrEqual(TOLERANCE);
      const second = await errorAgainstCpu(() => tf.grad((v) => tf.sum(tf.mul(tf.grad((w) => tf.sum(tf.square(tf.relu(w))))(v), probe())))(x()));
      expect(second, `[${shape}] second order`).toBeLessThanOrEqual(TOLERANCE);
    }
  });
  it("runs as one PocketflowReluGrad kernel on ours, and as Step and Multiply on cpu", async () => {
    const kernelsOf = async (backend: string): Promise<string[]> => {
      await tf.setBackend(backend);
      const info = await tf.profile(() => tf.grad((v) => tf.sum(tf.relu(v)))(t([4, 9], 53)));
      return info.kernels.map((k) => k.name);
    };
    expect(await kernelsOf(OURS)).toContain("PocketflowReluGrad");
    expect(await kernelsOf(OURS)).not.toContain("Step");
    expect(await kernelsOf("cpu")).toContain("Step");
  });
});

describe("ClipByValue and its gradient (PocketflowClipGrad on ours) match cpu", () => {
  const RANGES: Array<[number, number]> = [[0, 6], [-0.5, 0.75], [-2, -1]];
  it("forward and gradient, odd shapes, with values on the bounds", async () => {
    for (const shape of [[7], [3, 37], [2, 9, 9, 16]]) {
      for (const [lo, hi] of RANGES) {
        const x = (): tf.Tensor => tf.concat([t(shape, 61, 8).reshape([-1]), tf.tensor1d([lo, hi, lo, hi, 0])]);
        const probe = (): tf.Tensor => t([size(shape) + 5], 62);
        expect(await errorAgainstCpu(() => tf.clipByValue(x(), lo, hi)), `[${shape}] [${lo}, ${hi}] forward`).toBe(0);
        const first = await errorAgainstCpu(() => tf.grad((v) => tf.sum(tf.mul(tf.clipByValue(v, lo, hi), probe())))(x()));
        expect(first, `[${shape}] [${lo}, ${hi}] first order`).toBe(0);
      }
    }
  });
  it("second order on ours (tfjs's own gradient is not differentiable): d/dx sum(p · d/dx sum(clip(x)²)) = 2p where lo <= x <= hi", async () => {
    await tf.setBackend(OURS);
    const [lo, hi] = [-0.5, 0.75];
    const x = tf.concat([t([3, 37], 64, 2).reshape([-1]), tf.tensor1d([lo, hi, 0])]);
    const p = t([114], 65);
    const second = tf.grad((v) => tf.sum(tf.mul(tf.grad((w) => tf.sum(tf.square(tf.clipByValue(w, lo, hi))))(v), p)))(x);
    const [xs, ps] = [await x.data(), await p.data()];
    const expected = Array.from(ps, (pi, i) => (xs[i] >= lo && xs[i] <= hi ? Math.fround(2 * pi) : 0));
    expect(Array.from(await second.data())).toEqual(expected);
    expect(expected.filter((v) => v === 0).length).toBeGreaterThan(10);
  });
  it("int32 inputs go to the cpu kernel", async () => {
    await tf.setBackend(OURS);
    const clipped = tf.clipByValue(tf.tensor1d([-3, 2, 9], "int32"), 0, 6);
    expect(clipped.dtype).toBe("int32");
    expect(Array.from(await clipped.data())).toEqual([0, 2, 6]);
  });
  it("runs as one ClipByValue and one PocketflowClipGrad kernel on ours, and as five kernels on cpu", async () => {
    const kernelsOf = async (backend: string): Promise<string[]> => {
      await tf.setBackend(backend);
      const info = await tf.profile(() => tf.grad((v) => tf.sum(tf.clipByValue(v, 0, 6)))(t([4, 9], 63, 8)));
      return info.kernels.map((k) => k.name);
    };
    const ours = await kernelsOf(OURS);
    expect(ours).toContain("PocketflowClipGrad");
    expect(ours).not.toContain("LogicalAnd");
    expect(await kernelsOf("cpu")).toContain("LogicalAnd");
  });
});

describe("gradients through batch norm and dense layers match cpu", () => {
  it("tf.grads through tf.moments and tf.batchNorm (training-mode batch norm, ResNet shapes)", async () => {
    const err = await errorAgainstCpu(() => {
      const x = t([4, 8, 8, 16], 21, 2);
      const gamma = tf.add(t([16], 22, 0.5), 1);
      const beta = t([16], 23);
      const probe = t([4, 8, 8, 16], 24);
      const loss = (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor): tf.Scalar => {
        const { mean, variance } = tf.moments(x, [0, 1, 2]);
        const y = tf.relu(tf.batchNorm(x, mean, variance, beta, gamma, 1e-5));
        return tf.sum(tf.mul(y, probe));
      };
      return tf.grads(loss)([x, gamma, beta]);
    });
    expect(err).toBeLessThanOrEqual(TOLERANCE);
  });
  it("tf.grads through global average pooling (a mean over H, W; its gradient broadcasts [N, 1, 1, C])", async () => {
    const err = await errorAgainstCpu(() => {
      const probe = t([6, 16], 26);
      const loss = (x: tf.Tensor): tf.Scalar => tf.sum(tf.mul(tf.mean(tf.relu(x), [1, 2]), probe));
      return tf.grads(loss)([t([6, 7, 7, 16], 25, 2)]);
    });
    expect(err).toBeLessThanOrEqual(TOLERANCE);
  });
  it("tf.grads through a dense-relu-dense chain with a mean squared loss", async () => {
    const err = await errorAgainstCpu(() => {
      const x = t([9, 13], 31);
      const w1 = t([13, 21], 32, 0.5);
      const b1 = t([21], 33);
      const w2 = t([21, 5], 34, 0.5);
      const target = t([9, 5], 35);
      const loss = (w1: tf.Tensor, b1: tf.Tensor, w2: tf.Tensor): tf.Scalar => {
        const h = tf.relu(tf.add(tf.matMul(x as tf.Tensor2D, w1 as tf.Tensor2D), b1));
        return tf.mean(tf.squaredDifference(tf.matMul(h, w2 as tf.Tensor2D), target));
      };
      return tf.grads(loss)([w1, b1, w2]);
    });
    expect(err).toBeLessThanOrEqual(TOLERANCE);
  });
});

describe("Softmax matches cpu", () => {
  it("over the last axis of rank 1 to 3, with large and equal logits, and its gradient", async () => {
    const shapes = [[7], [3, 10], [2, 3, 17], [4, 1], [32, 10]];
    for (const shape of shapes) {
      for (const scale of [1, 80]) {
        const logits = (): tf.Tensor => tf.add(tf.mul(t(shape, shape.length + scale), scale), 3);
        expect(await errorAgainstCpu(() => tf.softmax(logits())), `[${shape}] x${scale}`).toBeLessThanOrEqual(TOLERANCE);
        const weights = (): tf.Tensor => t(shape, 11);
        const grad = (): tf.Tensor => tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.softmax(x), weights())))(logits());
        expect(await errorAgainstCpu(grad), `gradient [${shape}] x${scale}`).toBeLessThanOrEqual(TOLERANCE);
      }
    }
    expect(await errorAgainstCpu(() => tf.softmax(tf.zeros([3, 5])))).toBe(0);
  });
});

describe("registration", () => {
  it("our element-wise kernels are the ones registered for the backend", () => {
    for (const config of ELEMENTWISE_KERNELS) expect(innerKernelFunc(tf.getKernel(config.kernelName, OURS)?.kernelFunc)).toBe(config.kernelFunc);
  });
});
