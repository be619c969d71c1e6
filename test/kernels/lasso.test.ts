import { describe, expect, it } from "vitest";
import { kernels } from "../../src/kernels/core.js";
import {
  gram,
  gramOp,
  lasso,
  lassoForNonZeros,
  leastSquares,
  splitGramColumns,
  type GramSystem,
} from "../../src/kernels/lasso.js";
import { callKernel, type OperationBuilder } from "../../src/kernels/operation.js";
import { countNonFiniteRef, gramRef, lassoForNonZerosRef, lassoRef, leastSquaresRef } from "../../src/kernels/reference.js";
import { correlatedDesign, residualError, supportError, type CorrelatedDesign } from "./correlated-design.js";
import { mulberry32, ODD_LENGTHS, randomFloats } from "./random.js";

/** Runs an operation split into `parts` calls per phase, calling them in reverse order. */
function runSplit<T>(build: OperationBuilder<T>, parts: number): T {
  const core = kernels();
  const op = build(core, parts);
  try {
    const results = op.phases.map((phase) => [...phase].reverse().map((call) => callKernel(core, call)).reverse());
    return op.finish(results);
  } finally {
    op.release();
  }
}

interface SparseProblem {
  x: Float32Array;
  y: Float32Array;
  truth: Float64Array;
  support: number[];
}

/** y = X β + noise with `nonZeros` coefficients of magnitude 0.5..1.5 and random signs. */
function sparseProblem(n: number, p: number, nonZeros: number, noise: number, seed: number): SparseProblem {
  const rand = mulberry32(seed);
  const x = randomFloats(n * p, seed + 1);
  const truth = new Float64Array(p);
  const support: number[] = [];
  while (support.length < nonZeros) {
    const j = Math.floor(rand() * p);
    if (truth[j] !== 0) continue;
    truth[j] = (rand() < 0.5 ? -1 : 1) * (0.5 + rand());
    support.push(j);
  }
  support.sort((a, b) => a - b);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let s = noise * (rand() * 2 - 1);
    for (const j of support) s += x[i * p + j] * truth[j];
    y[i] = s;
  }
  return { x, y, truth, support };
}

const supportOf = (beta: ArrayLike<number>): number[] => Array.from(beta).flatMap((b, j) => (b !== 0 ? [j] : []));
const maxAbs = (a: ArrayLike<number>): number => Array.from(a).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
const alphaMaxOf = (s: GramSystem): number => maxAbs(s.xty) / s.samples;

describe("gram kernel matches the f64 reference", () => {
  const shapes: Array<[n: number, p: number, m: number]> = [
    [1, 1, 1], [5, 3, 1], [17, 7, 2], [64, 16, 1], [33, 33, 3], [130, 67, 1], [300, 9, 5], [257, 128, 1], [600, 5, 0],
  ];
  for (const [n, p, m] of shapes) {
    for (const parts of [1, 3]) {
      it(`X=[${n},${p}] Y=[${n},${m}] parts=${parts}`, () => {
        const x = randomFloats(n * p, n * 7 + p, 2, 0.3);
        const y = m > 0 ? randomFloats(n * m, n + 3 * p) : undefined;
        const system = runSplit(gramOp(x, n, p, y, m || 1), parts);
        const ref = gramRef(x, n, p, y, m || 1);
        expect(system.features).toBe(p);
        expect(system.targets).toBe(m);
        for (let j = 0; j < p; j++) {
          for (let k = 0; k < p; k++) {
            const scale = Math.sqrt(ref.gram[j * p + j] * ref.gram[k * p + k]);
            expect(Math.abs(system.gram[j * p + k] - ref.gram[j * p + k])).toBeLessThanOrEqual(2e-6 * scale + 1e-30);
            expect(system.gram[j * p + k]).toBe(system.gram[k * p + j]);
          }
          for (let t = 0; t < m; t++) {
            const scale = Math.sqrt(ref.gram[j * p + j] * ref.yty);
            expect(Math.abs(system.xty[j * m + t] - ref.xty[j * m + t])).toBeLessThanOrEqual(2e-6 * scale + 1e-30);
          }
        }
        expect(system.yty).toBeCloseTo(ref.yty, 6);
      });
    }
  }

  it("blockwise accumulation keeps long sums accurate: X=[20000,4] of values near 1", () => {
    const n = 20000;
    const x = randomFloats(n * 4, 99, 0.01, 1);
    const y = randomFloats(n, 98, 0.01, 1);
    const system = gram(x, n, 4, y);
    const ref = gramRef(x, n, 4, y);
    for (let k = 0; k < 16; k++) expect(Math.abs(system.gram[k] / ref.gram[k] - 1)).toBeLessThan(1e-5);
    for (let k = 0; k < 4; k++) expect(Math.abs(system.xty[k] / ref.xty[k] - 1)).toBeLessThan(1e-5);
  });

  it("splits columns into contiguous blocks that start on multiples of 8 and balance the triangle", () => {
    for (const [p, parts] of [[1, 4], [7, 2], [64, 3], [512, 8], [130, 5]]) {
      const blocks = splitGramColumns(p, parts);
      expect(blocks[0][0]).toBe(0);
      expect(blocks[blocks.length - 1][1]).toBe(p);
      for (let b = 0; b < blocks.length; b++) {
        expect(blocks[b][0] % 8).toBe(0);
        expect(blocks[b][1]).toBeGreaterThan(blocks[b][0]);
        if (b > 0) expect(blocks[b][0]).toBe(blocks[b - 1][1]);
      }
      expect(blocks.length).toBeLessThanOrEqual(parts);
    }
    const [first, last] = [splitGramColumns(512, 4)[0], splitGramColumns(512, 4)[3]];
    expect(first[1] - first[0]).toBeLessThan(last[1] - last[0]); // later rows are shorter
  });
});

describe("lasso matches the coordinate-descent reference", () => {
  for (const p of [1, 3, 8, 17, 64]) {
    for (const ratio of [0.5, 0.1, 0.01]) {
      for (const nonNegative of [false, true]) {
        it(`p=${p} alpha=${ratio}·alpha_max ${nonNegative ? "non-negative" : "signed"}`, () => {
          const n = 2 * p + 10;
          const problem = sparseProblem(n, p, Math.max(1, p >> 2), 0.1, p * 13 + 1);
          const system = gram(problem.x, n, p, problem.y);
          const options = { alpha: ratio * alphaMaxOf(system), nonNegative };
          const ours = lasso(system, options);
          const ref = lassoRef(system, options);
          const scale = maxAbs(ref.coefficients) + 1e-12;
          for (let j = 0; j < p; j++) expect(Math.abs(ours.coefficients[j] - ref.coefficients[j])).toBeLessThanOrEqual(1e-9 * scale);
          expect(ours.iterations).toBe(ref.iterations);
          expect(ours.converged).toBe(ref.converged);
          expect(ours.nonZeros).toBe(ref.nonZeros);
          expect(ours.dualityGap).toBeCloseTo(ref.dualityGap, 8);
        });
      }
    }
  }
});

describe("lasso semantics", () => {
  const n = 512;
  const p = 64;
  const problem = sparseProblem(n, p, 8, 0.01, 2024);
  const system = gram(problem.x, n, p, problem.y);

  it("recovers a known support of 8 in a 512×64 design with low noise", () => {
    const result = lasso(system, { alpha: 0.02 });
    expect(result.converged).toBe(true);
    expect(supportOf(result.coefficients)).toEqual(problem.support);
    for (const j of problem.support) expect(Math.abs(result.coefficients[j] - problem.truth[j])).toBeLessThan(0.1);
    expect(result.dualityGap).toBeGreaterThanOrEqual(0);
    expect(result.dualityGap).toBeLessThanOrEqual((1e-4 * system.yty) / n);
  });

  it("returns all zeros at alpha >= alpha_max, after one sweep", () => {
    const result = lasso(system, { alpha: alphaMaxOf(system) * 1.0001 });
    expect(result.nonZeros).toBe(0);
    expect(result.iterations).toBe(1);
    expect(result.converged).toBe(true);
  });

  it("non-negative never returns negatives and keeps the positive part of the support", () => {
    const result = lasso(system, { alpha: 0.02, nonNegative: true });
    for (const b of result.coefficients) expect(b).toBeGreaterThanOrEqual(0);
    const positives = problem.support.filter((j) => problem.truth[j] > 0);
    for (const j of positives) expect(result.coefficients[j]).toBeGreaterThan(0);
    expect(result.converged).toBe(true);
  });

  it("a warm start from a nearby alpha converges in fewer sweeps to the same solution", () => {
    const alphaMax = alphaMaxOf(system);
    const near = lasso(system, { alpha: 0.012 * alphaMax, tol: 1e-8 });
    const nearCopy = near.coefficients.slice();
    const cold = lasso(system, { alpha: 0.01 * alphaMax, tol: 1e-8 });
    const warm = lasso(system, { alpha: 0.01 * alphaMax, tol: 1e-8, warmStart: near.coefficients });
    expect(warm.iterations).toBeLessThan(cold.iterations);
    const scale = maxAbs(cold.coefficients);
    for (let j = 0; j < p; j++) expect(Math.abs(warm.coefficients[j] - cold.coefficients[j])).toBeLessThan(1e-4 * scale);
    expect(near.coefficients).toEqual(nearCopy); // the warm start is read, not written
  });

  it("reports non-convergence when maxIter is too small", () => {
    const result = lasso(system, { alpha: 0.001 * alphaMaxOf(system), tol: 1e-12, maxIter: 2 });
    expect(result.iterations).toBe(2);
    expect(result.converged).toBe(false);
    expect(result.dualityGap).toBeGreaterThan(0);
  });

  it("accepts Gram arrays that already live in kernel memory", () => {
    const core = kernels();
    const resident = { ...system, gram: core.allocCopy(system.gram), xty: core.allocCopy(system.xty) };
    try {
      expect(lasso(resident, { alpha: 0.02 }).coefficients).toEqual(lasso(system, { alpha: 0.02 }).coefficients);
    } finally {
      core.free(resident.gram);
      core.free(resident.xty);
    }
  });
});

describe("lassoForNonZeros", () => {
  const n = 512;
  const p = 64;
  const problem = sparseProblem(n, p, 8, 0.01, 77);
  const system = gram(problem.x, n, p, problem.y);

  for (const keep of [1, 8, 20]) {
    it(`keeps exactly ${keep} of ${p} and matches the reference search`, () => {
      const result = lassoForNonZeros(system, { keep });
      expect(result.exact).toBe(true);
      expect(result.nonZeros).toBe(keep);
      expect(result.note).toBeUndefined();
      expect(result.steps).toBeGreaterThan(0);
      expect(result.totalIterations).toBeGreaterThanOrEqual(result.iterations);
      expect(result.alpha).toBeLessThan(alphaMaxOf(system));
      if (keep === 8) expect(supportOf(result.coefficients)).toEqual(problem.support);
      const ref = lassoForNonZerosRef(system, { keep });
      expect(result.alpha).toBe(ref.alpha);
      expect(result.steps).toBe(ref.steps);
      expect(supportOf(result.coefficients)).toEqual(supportOf(ref.coefficients));
      // the solution is the plain lasso solution at that alpha, to the solver's tolerance
      const tight = lasso(system, { alpha: result.alpha, tol: 1e-10 }).coefficients;
      const scale = maxAbs(tight);
      for (let j = 0; j < p; j++) expect(Math.abs(result.coefficients[j] - tight[j])).toBeLessThan(1e-2 * scale);
    });
  }

  it("non-negative search returns exactly k non-negative coefficients", () => {
    const result = lassoForNonZeros(system, { keep: 3, nonNegative: true });
    expect(result.exact).toBe(true);
    expect(result.nonZeros).toBe(3);
    for (const b of result.coefficients) expect(b).toBeGreaterThanOrEqual(0);
  });

  it("says so when keep is out of reach (a zero column never enters)", () => {
    const small = sparseProblem(40, 8, 3, 0.1, 5);
    for (let i = 0; i < 40; i++) small.x[i * 8 + 2] = 0;
    const result = lassoForNonZeros(gram(small.x, 40, 8, small.y), { keep: 8 });
    expect(result.exact).toBe(false);
    expect(result.nonZeros).toBe(7);
    expect(result.note).toMatch(/at most 7 coefficients become non-zero.*8 is out of reach/);
  });

  it("stops at maxSteps and returns the closest solution above keep", () => {
    const result = lassoForNonZeros(system, { keep: 20, maxSteps: 2 });
    expect(result.steps).toBeLessThanOrEqual(2);
    if (!result.exact) {
      expect(result.note).toMatch(/maxSteps \(2\) ran out|out of reach/);
      if (/maxSteps/.test(result.note!)) expect(result.nonZeros).toBeGreaterThan(20);
    }
  });
});

/** The same least squares by brute force: the f64 Gram of X_S from X itself, Cholesky in f64. */
function supportErrorRef(design: CorrelatedDesign, support: number[]): number {
  const { x, y, samples: n, features: p } = design;
  const k = support.length;
  const columns = new Float32Array(n * k);
  for (let i = 0; i < n; i++) support.forEach((j, a) => (columns[i * k + a] = x[i * p + j]));
  const ref = gramRef(columns, n, k, y);
  return residualError(design, support, leastSquaresRef(ref.gram, ref.xty, k, 1).weights);
}

/** The k columns with the largest |correlation| with y: the naive selection LASSO must beat. */
function topCorrelated(system: GramSystem, k: number): number[] {
  const p = system.features;
  const score = (j: number): number => Math.abs(system.xty[j]) / Math.sqrt(system.gram[j * p + j]);
  return Array.from({ length: p }, (_, j) => j).sort((a, b) => score(b) - score(a)).slice(0, k).sort((a, b) => a - b);
}

function randomSupport(p: number, k: number, rand: () => number): number[] {
  const order = Array.from({ length: p }, (_, j) => j);
  for (let j = p - 1; j > 0; j--) {
    const swap = Math.floor(rand() * (j + 1));
    [order[j], order[swap]] = [order[swap], order[j]];
  }
  return order.slice(0, k).sort((a, b) => a - b);
}

describe("lassoForNonZeros on correlated inputs (X = F·A + noise, 8 shared factors)", () => {
  // Before tightening, default solves "converged" with wrong counts here and the searches
  // returned 184 of 256 and 162 of 512 non-zeros.
  for (const [n, p, keep] of [[4096, 256, 128], [4096, 512, 64]]) {
    it(`X=[${n},${p}] keep ${keep}: exact with defaults, and its support reconstructs y best`, () => {
      const design = correlatedDesign({ samples: n, features: p, activeColumns: 32, columnNoise: 0.5, seed: 2 });
      const system = gram(design.x, n, p, design.y);
      const result = lassoForNonZeros(system, { keep });
      expect(result.nonZeros).toBe(keep);
      expect(result.exact).toBe(true);
      expect(result.note).toBeUndefined();
      expect(result.converged).toBe(true);
      const support = supportOf(result.coefficients);
      const error = supportError(design, system, support);
      expect(Math.abs(error / supportErrorRef(design, support) - 1)).toBeLessThan(1e-3);
      expect(error).toBeLessThan(supportError(design, system, topCorrelated(system, keep)));
      const rand = mulberry32(p + keep);
      for (let trial = 0; trial < 20; trial++) expect(error).toBeLessThan(supportError(design, system, randomSupport(p, keep, rand)));
    });
  }

  it("X=[512,64] keep 32: the tightened search is the reference twin's, step for step", () => {
    const design = correlatedDesign({ samples: 512, features: 64, activeColumns: 8, columnNoise: 0.5, seed: 2 });
    const system = gram(design.x, 512, 64, design.y);
    const result = lassoForNonZeros(system, { keep: 32 });
    const ref = lassoForNonZerosRef(system, { keep: 32 });
    expect(result.exact).toBe(true);
    expect(result.nonZeros).toBe(32);
    expect(result.alpha).toBe(ref.alpha);
    expect(result.steps).toBe(ref.steps);
    expect(supportOf(result.coefficients)).toEqual(supportOf(ref.coefficients));
    // without tightening the counts stay noisy and the bracket collapses on a jump past 32
    const loose = lassoForNonZeros(system, { keep: 32, tightenLevels: 0 });
    expect(loose.exact).toBe(false);
    expect(loose.nonZeros).toBeGreaterThan(32);
  });

  it("X=[512,64] keep 8 maxIter 2: redoes a solve that ran out of sweeps before trusting its count", () => {
    const design = correlatedDesign({ samples: 512, features: 64, activeColumns: 8, columnNoise: 0.5, seed: 2 });
    const system = gram(design.x, 512, 64, design.y);
    const tightened = lassoForNonZeros(system, { keep: 8, maxIter: 2 });
    expect(tightened.exact).toBe(true);
    expect(tightened.converged).toBe(true);
    const untightened = lassoForNonZeros(system, { keep: 8, maxIter: 2, tightenLevels: 0 });
    expect(untightened.converged).toBe(false);
    expect(untightened.nonZeros).not.toBe(8);
  });

  it("an impossible request (two columns enter at once) says so after tightening", () => {
    // orthogonal columns with equal correlation: both enter at α_max, so 1 non-zero never occurs
    const x = Float32Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0]);
    const y = Float32Array.from([1, 1, 0.5, 0]);
    const result = lassoForNonZeros(gram(x, 4, 3, y), { keep: 1 });
    expect(result.exact).toBe(false);
    expect(result.nonZeros).toBe(2);
    expect(result.note).toMatch(/no α gave exactly 1 non-zeros \(the bracket collapsed.*tol 1e-8 and maxIter 100000\).*with 2, the closest above/);
  });
});

describe("leastSquares", () => {
  /** X (n×p) and Y = X·W for a random W (p×m). */
  function linearProblem(n: number, p: number, m: number, seed: number) {
    const x = randomFloats(n * p, seed);
    const w = randomFloats(p * m, seed + 1, 2);
    const y = new Float32Array(n * m);
    for (let i = 0; i < n; i++) {
      for (let t = 0; t < m; t++) {
        let s = 0;
        for (let j = 0; j < p; j++) s += x[i * p + j] * w[j * m + t];
        y[i * m + t] = s;
      }
    }
    return { x, w, y };
  }

  for (const [n, p, m] of [[200, 20, 5], [50, 1, 1], [300, 33, 7], [400, 64, 16]]) {
    it(`reproduces a known W: X=[${n},${p}] W=[${p},${m}], as the reference`, () => {
      const { x, w, y } = linearProblem(n, p, m, n + p + m);
      const system = gram(x, n, p, y, m);
      const result = leastSquares(system);
      expect(result.ridge).toBe(0);
      for (let k = 0; k < p * m; k++) expect(Math.abs(result.weights[k] - w[k])).toBeLessThan(2e-3);
      const ref = leastSquaresRef(system.gram, system.xty, p, m);
      expect(ref.ridge).toBe(0);
      for (let k = 0; k < p * m; k++) expect(Math.abs(result.weights[k] - ref.weights[k])).toBeLessThan(1e-5 * (1 + Math.abs(ref.weights[k])));
    });
  }

  it("takes the ridge path on a singular Gram matrix (duplicated column) and still fits Y", () => {
    const n = 100;
    const p = 12;
    const m = 3;
    const { x, y } = linearProblem(n, p, m, 9);
    for (let i = 0; i < n; i++) x[i * p + 7] = x[i * p + 3];
    // refit the targets on the modified design so an exact solution exists
    const w = randomFloats(p * m, 10);
    for (let i = 0; i < n; i++) {
      for (let t = 0; t < m; t++) {
        let s = 0;
        for (let j = 0; j < p; j++) s += x[i * p + j] * w[j * m + t];
        y[i * m + t] = s;
      }
    }
    const system = gram(x, n, p, y, m);
    const result = leastSquares(system);
    expect(result.ridge).toBeGreaterThan(0);
    const trace = Array.from({ length: p }, (_, j) => system.gram[j * p + j]).reduce((a, b) => a + b);
    expect(result.ridge).toBeLessThan(1e-5 * (trace / p));
    for (let t = 0; t < m; t++) {
      // the ridge splits the weight of the duplicated pair evenly
      expect(result.weights[3 * m + t]).toBeCloseTo(result.weights[7 * m + t], 3);
      expect(result.weights[3 * m + t] + result.weights[7 * m + t]).toBeCloseTo(w[3 * m + t] + w[7 * m + t], 2);
    }
    let residual = 0;
    let total = 0;
    for (let i = 0; i < n; i++) {
      for (let t = 0; t < m; t++) {
        let s = 0;
        for (let j = 0; j < p; j++) s += x[i * p + j] * result.weights[j * m + t];
        residual += (s - y[i * m + t]) ** 2;
        total += y[i * m + t] ** 2;
      }
    }
    expect(Math.sqrt(residual / total)).toBeLessThan(1e-3);
    expect(leastSquaresRef(system.gram, system.xty, p, m).ridge).toBe(result.ridge);
  });

  it("gives a zero column a zero weight row", () => {
    const { x, y } = linearProblem(60, 6, 2, 4);
    for (let i = 0; i < 60; i++) x[i * 6 + 4] = 0;
    const result = leastSquares(gram(x, 60, 6, y, 2));
    expect(result.ridge).toBeGreaterThan(0);
    expect(result.weights[4 * 2]).toBe(0);
    expect(result.weights[4 * 2 + 1]).toBe(0);
  });

  it("starts from a requested ridge", () => {
    const { x, y } = linearProblem(80, 5, 1, 6);
    const system = gram(x, 80, 5, y);
    const result = leastSquares(system, { ridge: 3 });
    expect(result.ridge).toBe(3);
    const ref = leastSquaresRef(system.gram, system.xty, 5, 1, 3);
    for (let j = 0; j < 5; j++) expect(result.weights[j]).toBeCloseTo(ref.weights[j], 5);
  });
});

describe("count_nonfinite_f32 matches the reference", () => {
  for (const n of ODD_LENGTHS) {
    it(`n=${n}`, () => {
      const x = randomFloats(n, n + 11);
      const rand = mulberry32(n);
      const specials = [NaN, Infinity, -Infinity, 3.4e38];
      for (let i = 0; i < n; i++) if (rand() < 0.1) x[i] = specials[Math.floor(rand() * 4)];
      const core = kernels();
      const resident = core.allocCopy(x);
      try {
        const count = core.exports.count_nonfinite_f32 as (ptr: number, length: number) => number;
        expect(count(resident.byteOffset, n)).toBe(countNonFiniteRef(x));
      } finally {
        core.free(resident);
      }
    });
  }
});

describe("lasso argument errors", () => {
  const x = randomFloats(40, 1);
  const y = randomFloats(10, 2);
  const system = gram(x, 10, 4, y);

  it("gram rejects mismatched shapes and NaN inputs, naming them", () => {
    expect(() => gram(x, 3, 4)).toThrow(/gram: X \(samples × features = 3 × 4\) must have 12 elements, but has 40/);
    expect(() => gram(x, 10, 4, y.subarray(0, 9))).toThrow(/gram: Y \(samples × targets = 10 × 1\) must have 10 elements, but has 9/);
    expect(() => gram(x, 0, 4)).toThrow(/gram: samples must be an integer >= 1, but got 0/);
    const bad = x.slice();
    bad[5] = NaN;
    expect(() => gram(bad, 10, 4, y)).toThrow(/gram: X contains 1 NaN value;/);
    const badY = y.slice();
    badY[0] = NaN;
    badY[3] = NaN;
    expect(() => gram(x, 10, 4, badY)).toThrow(/gram: Y contains 2 NaN values/);
    bad[5] = Infinity;
    expect(() => gram(bad, 10, 4, y)).toThrow(/gram: X contains 1 infinite value/);
    bad[5] = 1e20;
    expect(() => gram(bad, 10, 4, y)).toThrow(/gram: XᵀX overflows f32 \(gram\[1\]\[1\] = Infinity\); scale X down first/);
  });

  it("lasso rejects a wrong-sized gram, bad alpha and NaN", () => {
    expect(() => lasso({ ...system, gram: new Float32Array(15) }, { alpha: 1 })).toThrow(/lasso: gram must be p×p = 16 elements for p = 4/);
    expect(() => lasso(system, { alpha: -1 })).toThrow(/lasso: alpha must be a finite number >= 0, but got -1/);
    expect(() => lasso(system, { alpha: NaN })).toThrow(/lasso: alpha must be a finite number >= 0, but got NaN/);
    expect(() => lasso(system, { alpha: 0.1, tol: 0 })).toThrow(/lasso: tol must be a finite number > 0, but got 0/);
    expect(() => lasso(system, { alpha: 0.1, maxIter: 0 })).toThrow(/lasso: maxIter must be an integer >= 1, but got 0/);
    expect(() => lasso(system, { alpha: 0.1, warmStart: new Float64Array(3) })).toThrow(/lasso: warmStart must have 4 elements, but has 3/);
    const badGram = system.gram.slice();
    badGram[6] = NaN;
    expect(() => lasso({ ...system, gram: badGram }, { alpha: 0.1 })).toThrow(/lasso: gram contains 1 NaN value/);
    expect(() => lassoForNonZeros({ ...system, gram: badGram }, { keep: 2 })).toThrow(/lassoForNonZeros: gram contains 1 NaN value/);
    badGram[6] = -Infinity;
    badGram[9] = Infinity;
    expect(() => lasso({ ...system, gram: badGram }, { alpha: 0.1 })).toThrow(/lasso: gram contains 2 infinite values/);
    const badC = system.xty.slice();
    badC[1] = NaN;
    expect(() => lasso({ ...system, xty: badC }, { alpha: 0.1 })).toThrow(/lasso: xty contains 1 NaN value/);
    expect(() => lasso({ ...system, samples: 2.5 }, { alpha: 0.1 })).toThrow(/lasso: samples must be an integer >= 1, but got 2.5/);
    const before = kernels().bytesInUse;
    expect(() => lasso({ ...system, gram: badGram }, { alpha: 0.1 })).toThrow(/infinite/);
    expect(() => lassoForNonZeros({ ...system, gram: badGram }, { keep: 2 })).toThrow(/infinite/);
    expect(kernels().bytesInUse).toBe(before); // nothing leaked on the error paths
    const negative = system.gram.slice();
    negative[5] = -1;
    expect(() => lasso({ ...system, gram: negative }, { alpha: 0.1 })).toThrow(/non-negative diagonal, but gram\[1\]\[1\] is -1/);
  });

  it("lassoForNonZeros rejects keep outside 1..p", () => {
    expect(() => lassoForNonZeros(system, { keep: 0 })).toThrow(/lassoForNonZeros: keep must be an integer in 1..4, but got 0/);
    expect(() => lassoForNonZeros(system, { keep: 5 })).toThrow(/lassoForNonZeros: keep must be an integer in 1..4, but got 5/);
    expect(() => lassoForNonZeros(system, { keep: 2, maxSteps: 0 })).toThrow(/maxSteps must be an integer >= 1/);
    expect(() => lassoForNonZeros(system, { keep: 2, tightenLevels: -1 })).toThrow(/lassoForNonZeros: tightenLevels must be an integer >= 0, but got -1/);
  });

  it("leastSquares rejects mismatched shapes, NaN and a negative ridge", () => {
    const ls = { gram: system.gram, xty: new Float32Array(7), features: 4, targets: 2 };
    expect(() => leastSquares(ls)).toThrow(/leastSquares: xty \(features × targets = 4 × 2\) must have 8 elements, but has 7/);
    expect(() => leastSquares({ ...ls, features: 3 })).toThrow(/leastSquares: gram must be p×p = 9 elements for p = 3/);
    const nanB = new Float32Array(8);
    nanB[2] = NaN;
    expect(() => leastSquares({ ...ls, xty: nanB })).toThrow(/leastSquares: xty contains 1 NaN value/);
    const nanG = system.gram.slice();
    nanG[1] = NaN;
    expect(() => leastSquares({ ...ls, gram: nanG, xty: new Float32Array(8) })).toThrow(/leastSquares: gram contains 1 NaN value/);
    const before = kernels().bytesInUse;
    expect(() => leastSquares({ ...ls, gram: nanG, xty: new Float32Array(8) })).toThrow(/NaN/);
    expect(kernels().bytesInUse).toBe(before); // nothing leaked on the error path
    expect(() => leastSquares({ ...ls, xty: new Float32Array(8) }, { ridge: -1 })).toThrow(/leastSquares: ridge must be a finite number >= 0, but got -1/);
  });
});
