// cholesky_f64 and its triangular solves against their plain twins, on random SPD matrices of
// sizes that cover several f64x2 iterations of the inner products and every tail (n mod 4),
// right-hand sides as wide as one element and as wide as a candidate batch, and rank-deficient
// matrices that need the jitter to grow.
import { describe, expect, it } from "vitest";
import { cholesky, choleskySolve } from "../../src/kernels/cholesky.js";
import { choleskyF64Ref, choleskySolveF64Ref, solveLowerF64Ref, solveUpperTransposedF64Ref } from "../../src/kernels/reference.js";
import { mulberry32 } from "./random.js";

/** A = B Bᵀ + shift·I with B n×rank, uniform in [-1, 1]: rank-deficient when rank < n and shift is 0. */
function randomSpd(n: number, rank: number, shift: number, seed: number): Float64Array {
  const rand = mulberry32(seed);
  const b = Array.from({ length: n * rank }, () => rand() * 2 - 1);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = i === j ? shift : 0;
      for (let k = 0; k < rank; k++) s += b[i * rank + k] * b[j * rank + k];
      a[i * n + j] = s;
    }
  }
  return a;
}

function randomMatrix(rows: number, cols: number, seed: number): Float64Array {
  const rand = mulberry32(seed);
  return Float64Array.from({ length: rows * cols }, () => rand() * 2 - 1);
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

const maxAbs = (a: ArrayLike<number>): number => Array.from(a).reduce((m, v) => Math.max(m, Math.abs(v)), 0);

describe("cholesky_f64", () => {
  for (const n of [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 33, 50]) {
    it(`n=${n} SPD: factor equals the reference and L Lᵀ = A`, () => {
      const a = randomSpd(n, n + 2, 0.1, 100 + n);
      const got = cholesky(a, n);
      const ref = choleskyF64Ref(a, n)!;
      expect(got.jitter).toBe(0);
      expect(maxAbsDiff(got.factor, ref.factor)).toBeLessThan(1e-12 * maxAbs(ref.factor));
      let worst = 0;
      let upper = 0;
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let k = 0; k < n; k++) s += got.factor[i * n + k] * got.factor[j * n + k];
          worst = Math.max(worst, Math.abs(s - a[i * n + j]));
        }
        for (let j = i + 1; j < n; j++) upper = Math.max(upper, Math.abs(got.factor[i * n + j]));
      }
      expect(worst).toBeLessThan(1e-10 * maxAbs(a));
      expect(upper).toBe(0);
    });
  }

  for (const [n, rank] of [[6, 2], [17, 5], [33, 10]]) {
    it(`n=${n} rank=${rank}: the jitter grows as the reference's and the factor matches`, () => {
      const a = randomSpd(n, rank, 0, 200 + n);
      const got = cholesky(a, n);
      const ref = choleskyF64Ref(a, n)!;
      expect(got.jitter).toBeGreaterThan(0);
      expect(got.jitter).toBe(ref.jitter);
      expect(maxAbsDiff(got.factor, ref.factor)).toBeLessThan(1e-9 * maxAbs(ref.factor));
    });
  }

  it("a requested jitter is added to the diagonal", () => {
    const a = randomSpd(9, 9, 0.5, 7);
    const got = cholesky(a, 9, { jitter: 0.25 });
    expect(got.jitter).toBe(0.25);
    expect(maxAbsDiff(got.factor, choleskyF64Ref(a, 9, 0.25)!.factor)).toBeLessThan(1e-12);
  });

  it("rejects NaN, a negative diagonal and a wrong length, naming the rule and the value", () => {
    const a = randomSpd(3, 3, 0.1, 1);
    a[4] = NaN;
    expect(() => cholesky(a, 3)).toThrow(/cholesky: matrix must be finite, but matrix\[4\] is NaN/);
    expect(() => cholesky(Float64Array.from([-1]), 1)).toThrow(/non-negative diagonal, but matrix\[0\]\[0\] is -1/);
    expect(() => cholesky(new Float64Array(5), 2)).toThrow(/must have 4 elements, but has 5/);
    expect(() => cholesky(randomSpd(2, 2, 0.1, 1), 2, { jitter: -1 })).toThrow(/jitter must be a finite number >= 0, but got -1/);
  });
});

describe("cholesky solves", () => {
  for (const [n, m] of [[1, 1], [4, 1], [5, 3], [9, 4], [17, 5], [33, 9], [50, 51], [20, 1000]]) {
    it(`n=${n} m=${m}: lower, upperTransposed and both equal the reference; A X = B`, () => {
      const a = randomSpd(n, n, 0.2, 300 + n);
      const chol = cholesky(a, n);
      const b = randomMatrix(n, m, 400 + m);
      const scale = (x: ArrayLike<number>): number => 1e-11 * Math.max(1, maxAbs(x));
      const lower = choleskySolve(chol, b, m, "lower");
      const lowerRef = solveLowerF64Ref(chol.factor, n, b, m);
      expect(maxAbsDiff(lower, lowerRef)).toBeLessThan(scale(lowerRef));
      const upper = choleskySolve(chol, b, m, "upperTransposed");
      const upperRef = solveUpperTransposedF64Ref(chol.factor, n, b, m);
      expect(maxAbsDiff(upper, upperRef)).toBeLessThan(scale(upperRef));
      const x = choleskySolve(chol, b, m);
      const xRef = choleskySolveF64Ref(chol.factor, n, b, m);
      expect(maxAbsDiff(x, xRef)).toBeLessThan(scale(xRef));
      for (let i = 0; i < n; i++) {
        for (let t = 0; t < m; t += Math.max(1, Math.floor(m / 7))) {
          let s = 0;
          for (let k = 0; k < n; k++) s += a[i * n + k] * x[k * m + t];
          expect(Math.abs(s - b[i * m + t])).toBeLessThan(1e-8);
        }
      }
    });
  }

  it("leaves the right-hand side as it was", () => {
    const chol = cholesky(randomSpd(5, 5, 0.2, 3), 5);
    const b = randomMatrix(5, 2, 4);
    const before = b.slice();
    choleskySolve(chol, b, 2);
    expect(Array.from(b)).toEqual(Array.from(before));
  });

  it("rejects a right-hand side of the wrong length", () => {
    const chol = cholesky(randomSpd(4, 4, 0.2, 3), 4);
    expect(() => choleskySolve(chol, new Float64Array(7), 2)).toThrow(/choleskySolve: rhs \(n × m = 4 × 2\) must have 8 elements, but has 7/);
  });
});
