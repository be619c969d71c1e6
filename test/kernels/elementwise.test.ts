import { describe, expect, it } from "vitest";
import { kernels } from "../../src/kernels/core.js";
import {
  binary, binaryBlockRow, binaryBlockRowOp, binaryOp, binaryRow, binaryRowOp, binaryScalar, binaryScalarOp, clip, clipGrad, clipGradOp, clipOp, reluGrad, reluGradOp, sum,
  sumMiddle, sumMiddleOp, sumOp, unary, unaryOp,
  type BinaryOp, type SumAxis, type UnaryOp,
} from "../../src/kernels/elementwise.js";
import { runInline } from "../../src/kernels/operation.js";
import {
  binaryBlockRowRef, binaryRef, binaryRowRef, binaryScalarOpRef, clipGradRef, clipRef, reluGradRef, sumMiddleRef, sumRef, unaryRef,
} from "../../src/kernels/reference.js";
import { ODD_LENGTHS, randomFloats } from "./random.js";
import { maxRelativeError } from "../relative-error.js";

const BINARY: BinaryOp[] = ["add", "sub", "mul", "div", "max", "min", "squaredDifference"];
const UNARY: UnaryOp[] = ["relu", "relu6", "neg", "square", "sqrt", "rsqrt", "abs", "step"];

/** Indices where the arrays differ bit for bit (all NaNs count as equal). */
function mismatches(actual: Float32Array, expected: Float32Array): number[] {
  expect(actual.length).toBe(expected.length);
  const bad: number[] = [];
  for (let i = 0; i < actual.length; i++) {
    const same = Object.is(actual[i], expected[i]) || (Number.isNaN(actual[i]) && Number.isNaN(expected[i])) || actual[i] === expected[i];
    if (!same) bad.push(i);
  }
  return bad;
}

/** Random values with a few zeros, NaNs, infinities and relu6's bounds sprinkled in. */
function values(n: number, seed: number, scale = 8): Float32Array {
  const x = randomFloats(n, seed, scale);
  const specials = [0, -0, NaN, Infinity, -Infinity, 6, -6];
  for (let i = seed % 7; i < n; i += 37) x[i] = specials[i % specials.length];
  return x;
}

describe("element-wise binary kernels match the reference bit for bit", () => {
  for (const op of BINARY) {
    it(`${op}: same shape, odd lengths, inline and split`, () => {
      for (const n of ODD_LENGTHS) {
        const a = values(n, n + 1);
        const b = values(n, n + 2);
        const expected = binaryRef(op, a, b);
        expect(mismatches(binary(op, a, b), expected)).toEqual([]);
        expect(mismatches(runInline(kernels(), binaryOp(op, a, b), 3), expected)).toEqual([]);
      }
    });
    it(`${op}: tensor op scalar and scalar op tensor`, () => {
      for (const n of ODD_LENGTHS) {
        const a = values(n, n + 3);
        for (const s of [0.37, -2.5, 0]) {
          for (const scalarFirst of [false, true]) {
            const expected = binaryScalarOpRef(op, a, s, scalarFirst);
            expect(mismatches(binaryScalar(op, a, s, scalarFirst), expected)).toEqual([]);
            expect(mismatches(runInline(kernels(), binaryScalarOp(op, a, s, scalarFirst), 4), expected)).toEqual([]);
          }
        }
      }
    });
    it(`${op}: a row broadcast over the rows, both orders`, () => {
      for (const cols of [1, 3, 4, 5, 16, 17, 33, 64]) {
        for (const rows of [0, 1, 2, 7]) {
          const a = values(rows * cols, rows * 100 + cols);
          const row = values(cols, cols + 5, 3);
          for (const rowFirst of [false, true]) {
            const expected = binaryRowRef(op, a, row, rowFirst);
            expect(mismatches(binaryRow(op, a, row, rowFirst), expected)).toEqual([]);
            expect(mismatches(runInline(kernels(), binaryRowOp(op, a, row, rowFirst), 3), expected)).toEqual([]);
          }
        }
      }
    });
    it(`${op}: a row per block broadcast over the block's rows, both orders`, () => {
      for (const [blocks, rows, cols] of [[2, 3, 17], [5, 49, 16], [3, 1, 5], [4, 7, 1], [1, 2, 33], [2, 0, 3]]) {
        const a = values(blocks * rows * cols, blocks * 1000 + rows * 10 + cols);
        const row = values(blocks * cols, cols + 9, 3);
        for (const rowFirst of [false, true]) {
          const expected = binaryBlockRowRef(op, a, row, blocks, rowFirst);
          const shape = `[${blocks}, ${rows}, ${cols}]`;
          expect(mismatches(binaryBlockRow(op, a, row, blocks, rowFirst), expected), shape).toEqual([]);
          expect(mismatches(runInline(kernels(), binaryBlockRowOp(op, a, row, blocks, rowFirst), 3), expected), shape).toEqual([]);
        }
      }
    });
  }
  it("refuses mismatched lengths and unknown ops", () => {
    expect(() => binary("add", new Float32Array(3), new Float32Array(4))).toThrow(/same length/);
    expect(() => binaryRow("add", new Float32Array(7), new Float32Array(2), false)).toThrow(/multiple/);
    expect(() => binaryBlockRow("add", new Float32Array(12), new Float32Array(5), 2, false)).toThrow(/multiple of blocks/);
    expect(() => binaryBlockRow("add", new Float32Array(10), new Float32Array(4), 2, false)).toThrow(/multiple of the row/);
    expect(() => binary("pow" as BinaryOp, new Float32Array(3), new Float32Array(3))).toThrow(/op must be/);
  });
  it("writes into a given out", () => {
    const out = new Float32Array(5);
    expect(binary("add", Float32Array.of(1, 2, 3, 4, 5), Float32Array.of(1, 1, 1, 1, 1), out)).toBe(out);
    expect(Array.from(out)).toEqual([2, 3, 4, 5, 6]);
  });
});

describe("element-wise unary kernels match the reference bit for bit", () => {
  for (const op of UNARY) {
    it(`${op}: odd lengths, inline and split`, () => {
      for (const n of ODD_LENGTHS) {
        const x = values(n, n + 7);
        const alpha = op === "step" ? 0.25 : 0;
        const expected = unaryRef(op, x, alpha);
        expect(mismatches(unary(op, x, alpha), expected)).toEqual([]);
        expect(mismatches(runInline(kernels(), unaryOp(op, x, alpha), 3), expected)).toEqual([]);
      }
    });
  }
});

describe("relu's gradient kernel matches the reference bit for bit", () => {
  it("dy·step(x): odd lengths with zeros, NaNs and infinities in both, inline and split", () => {
    for (const n of ODD_LENGTHS) {
      const dy = values(n, n + 11);
      const x = values(n, n + 12);
      const expected = reluGradRef(dy, x);
      expect(mismatches(reluGrad(dy, x), expected), `n ${n}`).toEqual([]);
      expect(mismatches(runInline(kernels(), reluGradOp(dy, x), 3), expected), `n ${n}`).toEqual([]);
    }
  });
  it("keeps the sign of a zero gradient (dy·0) and refuses mismatched lengths", () => {
    const out = reluGrad(Float32Array.of(-2, 3, -1, 5, 7), Float32Array.of(-1, 0, 2, NaN, 1e-30));
    expect(Object.is(out[0], -0)).toBe(true);
    expect(Array.from(out)).toEqual([-0, 0, -1, NaN, 7]);
    expect(() => reluGrad(new Float32Array(3), new Float32Array(4))).toThrow(/same length/);
  });
});

describe("ClipByValue's kernel and its gradient match the reference bit for bit", () => {
  const ranges: Array<[number, number]> = [[0, 6], [-1.5, 2.25], [-0.1, 0.1], [3, 3], [-Infinity, 0]];
  it("odd lengths with zeros, NaNs, infinities and the bounds themselves, inline and split", () => {
    for (const [lo, hi] of ranges) {
      for (const n of ODD_LENGTHS) {
        const x = values(n, n + 21);
        for (let i = 0; i < n; i += 13) x[i] = i % 2 === 0 ? lo : hi;
        const dy = values(n, n + 22);
        const expected = clipRef(x, lo, hi);
        expect(mismatches(clip(x, lo, hi), expected), `[${lo}, ${hi}] n ${n}`).toEqual([]);
        expect(mismatches(runInline(kernels(), clipOp(x, lo, hi), 3), expected), `[${lo}, ${hi}] n ${n}`).toEqual([]);
        const expectedGrad = clipGradRef(dy, x, lo, hi);
        expect(mismatches(clipGrad(dy, x, lo, hi), expectedGrad), `[${lo}, ${hi}] n ${n}`).toEqual([]);
        expect(mismatches(runInline(kernels(), clipGradOp(dy, x, lo, hi), 3), expectedGrad), `[${lo}, ${hi}] n ${n}`).toEqual([]);
      }
    }
  });
  it("keeps -0 and NaN as tfjs does, passes dy on the bounds, and refuses lo > hi", () => {
    const out = clip(Float32Array.of(-0, NaN, -3, 9, 0, 6, 2.5, -0, NaN, 7), 0, 6);
    expect(out.slice(0, 8).map((v) => (Object.is(v, -0) ? 1 : 0))).toEqual(Float32Array.of(1, 0, 0, 0, 0, 0, 0, 1));
    expect(Array.from(out)).toEqual([-0, NaN, 0, 6, 0, 6, 2.5, -0, NaN, 6]);
    expect(Array.from(clipGrad(Float32Array.of(1, 2, 3, 4, 5, 6, 7), Float32Array.of(0, 6, -1, 6.5, NaN, 3, -0), 0, 6))).toEqual([1, 2, 0, 0, 0, 6, 7]);
    expect(() => clip(new Float32Array(3), 1, 0)).toThrow(/lo <= hi/);
    expect(() => clipGrad(new Float32Array(3), new Float32Array(4), 0, 6)).toThrow(/same length/);
  });
});

describe("sum kernels match the f64 reference", () => {
  const shapes: Array<[number, number]> = [[0, 5], [5, 0], [1, 1], [3, 1], [1, 17], [7, 3], [33, 4], [65, 16], [130, 17], [300, 33], [2, 64], [1000, 16]];
  for (const over of ["rows", "columns", "all"] as SumAxis[]) {
    it(`over ${over}, odd shapes, scaled, inline and split`, () => {
      for (const [rows, cols] of shapes) {
        const x = randomFloats(rows * cols, rows * 31 + cols, 4, 0.5);
        for (const scale of [1, 1 / 7]) {
          const expected = sumRef(x, rows, cols, over, scale);
          expect(maxRelativeError(sum(x, rows, cols, over, scale), expected), `[${rows}, ${cols}] scale ${scale}`).toBeLessThanOrEqual(1e-5);
          expect(maxRelativeError(runInline(kernels(), sumOp(x, rows, cols, over, scale), 3), expected)).toBeLessThanOrEqual(1e-5);
        }
      }
    });
  }
  it("over the middle axis of [blocks, rows, cols], odd shapes, scaled, inline and split", () => {
    for (const [blocks, rows, cols] of [[0, 3, 4], [2, 0, 5], [1, 1, 1], [3, 49, 64], [4, 7, 17], [2, 130, 3], [5, 2, 33]]) {
      const x = randomFloats(blocks * rows * cols, blocks * 97 + rows * 31 + cols, 4, 0.5);
      for (const scale of [1, 1 / 49]) {
        const expected = sumMiddleRef(x, blocks, rows, cols, scale);
        const shape = `[${blocks}, ${rows}, ${cols}] scale ${scale}`;
        expect(maxRelativeError(sumMiddle(x, blocks, rows, cols, scale), expected), shape).toBeLessThanOrEqual(1e-5);
        expect(maxRelativeError(runInline(kernels(), sumMiddleOp(x, blocks, rows, cols, scale), 3), expected), shape).toBeLessThanOrEqual(1e-5);
      }
    }
  });
  it("long sums stay close to f64 (2^20 values with a large mean)", () => {
    const rows = 1 << 16;
    const x = randomFloats(rows * 16, 99, 1, 100);
    for (const over of ["rows", "all"] as SumAxis[]) {
      const expected = sumRef(x, rows, 16, over);
      const actual = sum(x, rows, 16, over);
      for (let i = 0; i < expected.length; i++) expect(Math.abs(actual[i] - expected[i]) / Math.abs(expected[i])).toBeLessThanOrEqual(1e-6);
    }
  });
  it("refuses a shape that does not match x", () => {
    expect(() => sum(new Float32Array(6), 2, 2, "rows")).toThrow(/must hold/);
  });
});
