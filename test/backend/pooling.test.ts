import * as tf from "@tensorflow/tfjs-core";
import { describe, expect, it } from "vitest";
import { errorAgainstCpu, OURS, seededValues } from "./compare.js";

type Pad = "same" | "valid" | number | [[number, number], [number, number], [number, number], [number, number]];

interface Case {
  x: [number, number, number, number];
  window: number | [number, number];
  strides: number | [number, number];
  pad: Pad;
  rounding?: "floor" | "round" | "ceil";
}

const size = (shape: number[]): number => shape.reduce((p, d) => p * d, 1);
const label = (c: Case): string =>
  `x=[${c.x}] w=${c.window} s=${c.strides} p=${Array.isArray(c.pad) ? JSON.stringify(c.pad) : c.pad}${c.rounding ? ` ${c.rounding}` : ""}`;

/** Values on a coarse grid, so that max-pool windows hold ties. */
const input = (c: Case, seed: number): tf.Tensor4D =>
  tf.tensor4d(Float32Array.from(seededValues(size(c.x), seed), (v) => Math.round(v * 4) / 4), c.x);

const TOLERANCE = 1e-4;

const cases: Case[] = [
  { x: [2, 9, 9, 1], window: 2, strides: 2, pad: "valid" },
  { x: [2, 9, 9, 3], window: 3, strides: 2, pad: "same" },
  { x: [1, 8, 7, 4], window: 3, strides: 1, pad: "same" },
  { x: [3, 7, 10, 8], window: 2, strides: 1, pad: "valid" },
  { x: [2, 11, 9, 17], window: 3, strides: 2, pad: "valid" },
  { x: [4, 12, 12, 6], window: 2, strides: 2, pad: "same" },
  { x: [1, 7, 7, 5], window: [3, 2], strides: [2, 1], pad: [[0, 0], [1, 2], [0, 1], [0, 0]] },
  { x: [1, 9, 9, 16], window: 3, strides: 2, pad: 1, rounding: "ceil" },
];

describe("MaxPool / AvgPool and their gradients on the pocketflow backend match cpu", () => {
  for (const c of cases) {
    it(`maxPool ${label(c)}`, async () => {
      expect(await errorAgainstCpu(() => tf.maxPool(input(c, 3), c.window, c.strides, c.pad, c.rounding))).toBeLessThanOrEqual(TOLERANCE);
    });
    it(`avgPool ${label(c)}`, async () => {
      expect(await errorAgainstCpu(() => tf.avgPool(input(c, 4), c.window, c.strides, c.pad, c.rounding))).toBeLessThanOrEqual(TOLERANCE);
    });
    // tfjs's avgPool gradient ignores dimRoundingMode, which makes dy's shape disagree with it
    if (!c.rounding) {
      it(`grads through maxPool and avgPool ${label(c)}`, async () => {
        const err = await errorAgainstCpu(() => {
          const x = input(c, 5);
          const loss = (x: tf.Tensor): tf.Scalar => {
            const m = tf.maxPool(x as tf.Tensor4D, c.window, c.strides, c.pad);
            const a = tf.avgPool(x as tf.Tensor4D, c.window, c.strides, c.pad);
            return tf.add(tf.sum(tf.mul(m, tf.sin(m))), tf.sum(tf.mul(a, tf.cos(a))));
          };
          return tf.grads(loss)([x]);
        });
        expect(err).toBeLessThanOrEqual(TOLERANCE);
      });
    }
  }

  it("maxPool of a rank-3 input and of int32 values (cpu fallback) match cpu", async () => {
    expect(await errorAgainstCpu(() => tf.maxPool(tf.tensor3d(seededValues(100, 1), [5, 5, 4]), 2, 1, "same"))).toBe(0);
    expect(await errorAgainstCpu(() => tf.maxPool(tf.tensor4d(Int32Array.from({ length: 32 }, (_, i) => (i * 7) % 11), [1, 4, 4, 2], "int32"), 2, 2, "valid"))).toBe(0);
  });

  it("the gradient goes to the first of tied maxima, as on cpu", async () => {
    const err = await errorAgainstCpu(() => {
      const x = tf.tensor4d(new Float32Array(2 * 6 * 6 * 4).fill(1), [2, 6, 6, 4]);
      return tf.grads((x: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(x as tf.Tensor4D, 3, 1, "same"), tf.range(1, 2 * 6 * 6 * 4 + 1).reshape([2, 6, 6, 4]))))([x]);
    });
    expect(err).toBe(0);
  });

  it("really runs our kernels", async () => {
    await tf.setBackend(OURS);
    const names = ["MaxPool", "MaxPoolGrad", "AvgPool", "AvgPoolGrad", "FusedBatchNorm"];
    for (const name of names) expect(tf.getKernel(name, OURS)?.kernelFunc).not.toBe(tf.getKernel(name, "cpu")?.kernelFunc);
  });
});

describe("FusedBatchNorm on the pocketflow backend matches cpu", () => {
  const bn = (shape: number[], paramShape: number[], withOffset: boolean, withScale: boolean, eps?: number) => (): tf.Tensor => {
    const x = tf.tensor(seededValues(size(shape), 21), shape).mul(3);
    const p = (seed: number) => tf.tensor(seededValues(size(paramShape), seed), paramShape);
    const variance = tf.add(tf.abs(p(23)), 0.1);
    return tf.batchNorm(x, p(22), variance, withOffset ? p(24) : undefined, withScale ? p(25).mul(2) : undefined, eps);
  };
  const forms: Array<[number[], number[]]> = [
    [[2, 5, 5, 16], [16]], [[2, 5, 5, 3], [3]], [[3, 4, 4, 17], [17]], [[2, 3, 3, 8], [1, 1, 1, 8]], [[4, 6], [6]], [[2, 7, 1], [1]],
  ];
  for (const [shape, paramShape] of forms) {
    for (const [withOffset, withScale] of [[true, true], [false, true], [true, false], [false, false]]) {
      it(`x=[${shape}] params=[${paramShape}] offset=${withOffset} scale=${withScale}`, async () => {
        expect(await errorAgainstCpu(bn(shape, paramShape, withOffset, withScale))).toBeLessThanOrEqual(TOLERANCE);
      });
    }
  }
  it("epsilon 1e-5 and parameters of other shapes (cpu fallback)", async () => {
    expect(await errorAgainstCpu(bn([2, 4, 4, 8], [8], true, true, 1e-5))).toBeLessThanOrEqual(TOLERANCE);
    // parameters that vary along the last two axes: the cpu path, cyclic as on cpu
    expect(await errorAgainstCpu(bn([2, 4, 3, 8], [3, 8], true, true))).toBeLessThanOrEqual(TOLERANCE);
  });
});
