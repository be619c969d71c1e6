import { describe, expect, it } from "vitest";
import {
  batchNormTraining, batchNormTrainingGrad, batchNormTrainingGradOp, batchNormTrainingOp,
} from "../../src/kernels/batchnorm.js";
import { kernels } from "../../src/kernels/core.js";
import { runInline } from "../../src/kernels/operation.js";
import { batchNormTrainingGradRef, batchNormTrainingRef } from "../../src/kernels/reference.js";
import { floorOf, maxRelativeError } from "../relative-error.js";
import { randomFloats } from "./random.js";

// Channel counts below, at and around the SIMD width (periods of 4, 8, 12, 20, 28, 68, ...),
// row counts giving no whole period, a partial last period, and several sum blocks.
const CHANNELS = [1, 2, 3, 4, 5, 7, 16, 17, 33, 64];
const ROWS = [1, 2, 5, 33, 257, 1001];
// Sums are f32 within blocks of 64 periods and f64 across them, so the error of a per-channel
// sum is about that of a 64-term f32 sum whatever M is. A split moves the block boundaries, so a
// split result differs from the inline one by as much as either from the reference (dgamma
// and dbeta, sums of terms of both signs, show it most).
const TOLERANCE = 2e-5;

interface Case {
  channels: number;
  rows: number;
  gamma: boolean;
  beta: boolean;
}

function cases(): Case[] {
  return CHANNELS.flatMap((channels, i) => ROWS.map((rows, j) => ({ channels, rows, gamma: (i + j) % 3 !== 0, beta: (i + j) % 4 !== 1 })));
}

const label = (c: Case): string => `x=[${c.rows},${c.channels}]${c.gamma ? "" : " no gamma"}${c.beta ? "" : " no beta"}`;

function forwardInputs(c: Case, seed: number, offset = 0, scale = 3) {
  return {
    x: randomFloats(c.rows * c.channels, seed, scale, offset),
    params: {
      gamma: c.gamma ? randomFloats(c.channels, seed + 1, 0.5, 1) : undefined,
      beta: c.beta ? randomFloats(c.channels, seed + 2) : undefined,
      varianceEpsilon: 1e-3,
    },
  };
}

function expectClose(actual: Float32Array, expected: Float32Array, what: string, tolerance = TOLERANCE, floor = floorOf(expected)): void {
  expect(maxRelativeError(actual, expected, floor), what).toBeLessThanOrEqual(tolerance);
}

/**
 * A tenth of the size of dx's terms, gamma·dy/sqrt(variance + epsilon): with one or two rows per
 * channel dx cancels to ~0 (exactly 0 for one row), and what is computed is rounding of that size.
 */
function dxFloor(dy: Float32Array, params: { gamma?: Float32Array; variance: Float32Array; varianceEpsilon: number }): number {
  const largestScale = Math.max(...Array.from(params.variance, (v, c) => Math.abs(params.gamma?.[c] ?? 1) / Math.sqrt(v + params.varianceEpsilon)));
  return floorOf(dy) * largestScale;
}

describe("batch-norm training forward matches the reference", () => {
  for (const c of cases()) {
    it(label(c), () => {
      const { x, params } = forwardInputs(c, c.channels * 1000 + c.rows);
      const expected = batchNormTrainingRef(x, c.channels, params);
      const actual = batchNormTraining(x, c.channels, params);
      expectClose(actual.mean, expected.mean, "mean");
      expectClose(actual.variance, expected.variance, "variance");
      expectClose(actual.y, expected.y, "y");
      const split = runInline(kernels(), batchNormTrainingOp(x, c.channels, params), 3);
      expectClose(split.y, actual.y, "y split in 3", 1e-6);
      expectClose(split.variance, actual.variance, "variance split in 3", 1e-6);
    });
  }

  for (const channels of [3, 16]) {
    it(`x=[200000,${channels}] around 100 with standard deviation 0.01: variance to 1e-4 relative`, () => {
      const c = { channels, rows: 200_000, gamma: true, beta: true };
      const { x, params } = forwardInputs(c, channels, 100, 0.017);
      const expected = batchNormTrainingRef(x, channels, params);
      const actual = batchNormTraining(x, channels, params);
      const relative = Math.max(...actual.variance.map((v, k) => Math.abs(v - expected.variance[k]) / expected.variance[k]));
      expect(relative).toBeLessThanOrEqual(1e-4);
      expectClose(actual.mean, expected.mean, "mean", 1e-6);
    });
  }

  it("empty x: NaN statistics, as tf.moments", () => {
    const result = batchNormTraining(new Float32Array(0), 3, { varianceEpsilon: 1e-3 });
    expect(result.y.length).toBe(0);
    expect([...result.mean, ...result.variance].every(Number.isNaN)).toBe(true);
  });

  it("rejects bad arguments, naming the rule and the value", () => {
    expect(() => batchNormTraining(new Float32Array(10), 4, { varianceEpsilon: 1e-3 })).toThrow(/not a whole number of 4-channel rows/);
    expect(() => batchNormTraining(new Float32Array(8), 4, { gamma: new Float32Array(3), varianceEpsilon: 1e-3 })).toThrow(/gamma must have one value per channel \(4\), but has 3/);
    expect(() => batchNormTraining(new Float32Array(8), 4, { varianceEpsilon: -1 })).toThrow(/varianceEpsilon must be a finite number >= 0, but got -1/);
  });
});

describe("batch-norm training backward matches the reference", () => {
  for (const c of cases()) {
    const withStatGrads = c.channels % 2 === 1;
    it(`${label(c)}${withStatGrads ? " with dmean, dvariance" : ""}`, () => {
      const seed = c.channels * 1000 + c.rows + 7;
      const { x, params } = forwardInputs(c, seed);
      const { mean, variance } = batchNormTrainingRef(x, c.channels, params);
      const dy = randomFloats(x.length, seed + 3);
      const gradParams = {
        mean, variance, gamma: params.gamma, varianceEpsilon: params.varianceEpsilon,
        dmean: withStatGrads ? randomFloats(c.channels, seed + 4) : undefined,
        dvariance: withStatGrads ? randomFloats(c.channels, seed + 5) : undefined,
      };
      const expected = batchNormTrainingGradRef(x, dy, c.channels, gradParams);
      const actual = batchNormTrainingGrad(x, dy, c.channels, gradParams);
      expectClose(actual.dbeta, expected.dbeta, "dbeta");
      expectClose(actual.dgamma, expected.dgamma, "dgamma");
      expectClose(actual.dx, expected.dx, "dx", TOLERANCE, dxFloor(dy, gradParams));
      const split = runInline(kernels(), batchNormTrainingGradOp(x, dy, c.channels, gradParams), 3);
      expectClose(split.dx, actual.dx, "dx split in 3", TOLERANCE, dxFloor(dy, gradParams));
      expectClose(split.dgamma, actual.dgamma, "dgamma split in 3");
    });
  }

  it("x=[200000,16]: dx, dgamma, dbeta over a large batch", () => {
    const c = { channels: 16, rows: 200_000, gamma: true, beta: true };
    const { x, params } = forwardInputs(c, 99);
    const { mean, variance } = batchNormTrainingRef(x, c.channels, params);
    const dy = randomFloats(x.length, 98);
    const gradParams = { mean, variance, gamma: params.gamma, varianceEpsilon: 1e-3 };
    const expected = batchNormTrainingGradRef(x, dy, c.channels, gradParams);
    const actual = batchNormTrainingGrad(x, dy, c.channels, gradParams);
    expectClose(actual.dbeta, expected.dbeta, "dbeta");
    expectClose(actual.dgamma, expected.dgamma, "dgamma");
    expectClose(actual.dx, expected.dx, "dx");
  });

  it("rejects dy of another size, and an unknown activation", () => {
    const bad = { mean: new Float32Array(2), variance: new Float32Array(2), varianceEpsilon: 1e-3, activation: "tanh" as "relu" };
    expect(() => batchNormTrainingGrad(new Float32Array(8), new Float32Array(8), 2, bad)).toThrow(/activation must be 'relu', 'relu6' or absent, but got 'tanh'/);
    expect(() => batchNormTraining(new Float32Array(8), 2, bad)).toThrow(/activation must be 'relu', 'relu6' or absent, but got 'tanh'/);
    const params = { mean: new Float32Array(2), variance: new Float32Array(2), varianceEpsilon: 1e-3 };
    expect(() => batchNormTrainingGrad(new Float32Array(8), new Float32Array(6), 2, params)).toThrow(/dy must have x's 8 elements, but has 6/);
  });
});

// A relu or relu6 fused into the batch norm: the forward clips y as it writes it, the backward
// gates dy by the same y recomputed from x. Both must equal the unfused kernels around a
// separate activation exactly (the gradient's mask is bit for bit the forward's), and the
// reference, which differentiates the activation itself.
describe("batch norm with a fused activation", () => {
  const clip = (activation: "relu" | "relu6") => (v: number): number => Math.min(Math.max(v, 0), activation === "relu6" ? 6 : Infinity);
  /** The Relu / Relu6 gradients' gate: dy where 0 < y <= hi. */
  const gate = (activation: "relu" | "relu6", y: Float32Array, dy: Float32Array): Float32Array =>
    dy.map((d, i) => (y[i] > 0 && (activation === "relu" || y[i] <= 6) ? d : 0));

  for (const activation of ["relu", "relu6"] as const) {
    for (const c of cases().filter((k) => [3, 16, 17].includes(k.channels) && [33, 257, 1001].includes(k.rows))) {
      it(`${activation} ${label(c)}: forward and backward as the unfused kernels with a separate ${activation}`, () => {
        const seed = c.channels * 31 + c.rows;
        // beta around 1 and a wide gamma put y on both sides of 0 and, for relu6, above 6
        const { x, params } = forwardInputs(c, seed);
        const wide = { ...params, gamma: params.gamma?.map((g) => 4 * g), activation };
        const unfused = batchNormTraining(x, c.channels, { ...wide, activation: undefined });
        const fused = batchNormTraining(x, c.channels, wide);
        expect(Array.from(fused.y)).toEqual(Array.from(unfused.y, clip(activation)));
        expect(fused.y.some((v) => v === 0) && fused.y.some((v) => v > 0)).toBe(true);
        expect(fused.mean).toEqual(unfused.mean);
        expectClose(fused.y, batchNormTrainingRef(x, c.channels, wide).y, "y against the reference", 1e-4);
        expectClose(runInline(kernels(), batchNormTrainingOp(x, c.channels, wide), 3).y, fused.y, "y split in 3", 1e-6);

        const dy = randomFloats(x.length, seed + 3);
        const gradParams = { mean: fused.mean, variance: fused.variance, gamma: wide.gamma, beta: wide.beta, varianceEpsilon: wide.varianceEpsilon };
        const expected = batchNormTrainingGrad(x, gate(activation, unfused.y, dy), c.channels, gradParams);
        const actual = batchNormTrainingGrad(x, dy, c.channels, { ...gradParams, activation });
        expect(actual.dx).toEqual(expected.dx);
        expect(actual.dgamma).toEqual(expected.dgamma);
        expect(actual.dbeta).toEqual(expected.dbeta);
        const reference = batchNormTrainingGradRef(x, dy, c.channels, { ...gradParams, activation });
        expectClose(actual.dx, reference.dx, "dx against the reference", 1e-4);
        expectClose(actual.dgamma, reference.dgamma, "dgamma against the reference", 1e-4);
        const split = runInline(kernels(), batchNormTrainingGradOp(x, dy, c.channels, { ...gradParams, activation }), 3);
        expectClose(split.dx, actual.dx, "dx split in 3");
      });
    }
  }
});
