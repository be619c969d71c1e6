import { describe, expect, it } from "vitest";
import { kernels } from "../../src/kernels/core.js";
import { runInline } from "../../src/kernels/operation.js";
import { adam, adamOp, sgdMomentum, sgdMomentumOp } from "../../src/kernels/optimizers.js";
import { adamRef, sgdMomentumRef } from "../../src/kernels/reference.js";
import { ODD_LENGTHS, randomFloats } from "./random.js";

/** Indices where the arrays differ bit for bit. */
function mismatches(actual: Float32Array, expected: Float32Array): number[] {
  expect(actual.length).toBe(expected.length);
  const bad: number[] = [];
  for (let i = 0; i < actual.length; i++) if (!Object.is(actual[i], expected[i])) bad.push(i);
  return bad;
}

describe("momentum SGD kernel matches the reference bit for bit", () => {
  for (const nesterov of [false, true]) {
    it(`nesterov ${nesterov}: odd lengths, inline and split over 3`, () => {
      for (const n of ODD_LENGTHS) {
        const [w, accumulator, gradient] = [1, 2, 3].map((k) => randomFloats(n, n * 10 + k, k === 2 ? 0.3 : 1));
        const params = { momentum: 0.9, learningRate: 0.0137, nesterov };
        const expected = sgdMomentumRef(w, accumulator, gradient, params);
        for (const actual of [sgdMomentum(w, accumulator, gradient, params), runInline(kernels(), sgdMomentumOp(w, accumulator, gradient, params), 3)]) {
          expect(mismatches(actual.w, expected.w), `n ${n} w`).toEqual([]);
          expect(mismatches(actual.accumulator, expected.accumulator), `n ${n} accumulator`).toEqual([]);
        }
      }
    });
  }
  it("leaves its inputs as they are and refuses mismatched lengths or non-finite rates", () => {
    const w = Float32Array.of(1, 2, 3);
    const out = sgdMomentum(w, new Float32Array(3), Float32Array.of(1, 1, 1), { momentum: 0.5, learningRate: 1, nesterov: false });
    expect(Array.from(w)).toEqual([1, 2, 3]);
    expect(Array.from(out.w)).toEqual([0, 1, 2]);
    expect(() => sgdMomentum(w, new Float32Array(2), w, { momentum: 0.9, learningRate: 0.1, nesterov: false })).toThrow(/accumulator must have as many values as w \(3\), but has 2/);
    expect(() => sgdMomentum(w, w, w, { momentum: 0.9, learningRate: NaN, nesterov: false })).toThrow(/learningRate must be finite, but got NaN/);
  });
});

describe("Adam kernel matches the reference bit for bit", () => {
  it("odd lengths, bias-corrected rates of steps 1 and 50, inline and split over 3", () => {
    for (const n of ODD_LENGTHS) {
      const [w, gradient] = [randomFloats(n, n * 10 + 1), randomFloats(n, n * 10 + 2, 0.3)];
      const first = randomFloats(n, n * 10 + 3, 0.1);
      const second = randomFloats(n, n * 10 + 4, 0.01, 0.01);
      for (const t of [1, 50]) {
        const params = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, correctedRate: (0.001 * Math.sqrt(1 - 0.999 ** t)) / (1 - 0.9 ** t) };
        const expected = adamRef(w, first, second, gradient, params);
        for (const actual of [adam(w, first, second, gradient, params), runInline(kernels(), adamOp(w, first, second, gradient, params), 3)]) {
          expect(mismatches(actual.w, expected.w), `n ${n} t ${t} w`).toEqual([]);
          expect(mismatches(actual.first, expected.first), `n ${n} t ${t} first`).toEqual([]);
          expect(mismatches(actual.second, expected.second), `n ${n} t ${t} second`).toEqual([]);
        }
      }
    }
  });
  it("refuses mismatched lengths", () => {
    const a = new Float32Array(4);
    expect(() => adam(a, a, new Float32Array(5), a, { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, correctedRate: 0.001 })).toThrow(/second must have as many values as w \(4\), but has 5/);
  });
});
