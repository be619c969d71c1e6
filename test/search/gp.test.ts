// The Gaussian process and its optimizer: the likelihood gradient against finite differences,
// a posterior mean that interpolates noise-free data with variance vanishing there, ARD length
// scales that tell an irrelevant dimension, EI that finds a 1-d optimum, the box L-BFGS, and
// option checks.
import { describe, expect, it } from "vitest";
import { GaussianProcess, negativeLogPosterior, pairDifferences } from "../../src/search/gp-model.js";
import { GpOptimizer } from "../../src/search/gp.js";
import { minimizeBoxLbfgs } from "../../src/search/lbfgs.js";
import { searchSpace } from "../../src/search/space.js";
import { seededRandom } from "../../src/util/random.js";

function randomPoints(n: number, d: number, seed: number): number[][] {
  const random = seededRandom(seed);
  return Array.from({ length: n }, () => Array.from({ length: d }, () => random()));
}

const smooth = (x: number[]): number => Math.sin(3 * x[0]) + Math.cos(2 * x[1]) + x[0] * x[1];

describe("gaussian process", () => {
  it("has the analytic gradient of its negative log posterior (finite differences, n=12 d=3)", () => {
    const x = randomPoints(12, 3, 1);
    const y = Float64Array.from(x, (p) => smooth(p) + p[2]);
    const diffs = pairDifferences(x);
    const theta = Float64Array.from([Math.log(0.4), Math.log(0.7), Math.log(1.3), 0.2, Math.log(0.05)]);
    const { gradient } = negativeLogPosterior(diffs, 12, 3, y, theta);
    for (let k = 0; k < theta.length; k++) {
      const h = 1e-5;
      const up = theta.slice();
      const down = theta.slice();
      up[k] += h;
      down[k] -= h;
      const numeric = (negativeLogPosterior(diffs, 12, 3, y, up).value - negativeLogPosterior(diffs, 12, 3, y, down).value) / (2 * h);
      expect(Math.abs(gradient[k] - numeric)).toBeLessThan(1e-5 * Math.max(1, Math.abs(numeric)));
    }
  });

  it("interpolates noise-free training points, with the variance vanishing there (n=15 d=2)", () => {
    const x = randomPoints(15, 2, 2);
    const y = x.map(smooth);
    const gp = GaussianProcess.fit(x, y, { random: seededRandom(3) });
    const { mean, variance } = gp.predict(x);
    const spread = Math.max(...y) - Math.min(...y);
    for (let i = 0; i < x.length; i++) {
      expect(Math.abs(mean[i] - y[i])).toBeLessThan(1e-3 * spread);
      expect(variance[i]).toBeLessThan(1e-4 * spread * spread);
    }
    expect(gp.hyperParameters.noiseVariance).toBeLessThan(1e-3);
    const away = gp.predict([[0.5, 0.5], [1, 1]]);
    const fresh = randomPoints(30, 2, 4);
    const predicted = gp.predict(fresh).mean;
    const worst = Math.max(...fresh.map((p, i) => Math.abs(predicted[i] - smooth(p))));
    expect(worst).toBeLessThan(0.1 * spread); // and generalises between them
    expect(Math.max(...away.variance)).toBeGreaterThan(Math.max(...variance));
  });

  it("fits a longer length scale to an irrelevant dimension than to a relevant one (n=20 d=2)", () => {
    const x = randomPoints(20, 2, 5);
    const gp = GaussianProcess.fit(x, x.map((p) => Math.sin(6 * p[0])), { random: seededRandom(6) });
    const [relevant, irrelevant] = gp.hyperParameters.lengthScales;
    expect(irrelevant).toBeGreaterThan(3 * relevant);
  });

  it("rejects outputs that do not match the inputs", () => {
    expect(() => GaussianProcess.fit([[0.1]], [1, 2], { random: seededRandom(1) })).toThrow("gp: needs as many outputs as inputs (>= 1), but got 1 inputs and 2 outputs");
  });
});

describe("gp optimizer", () => {
  it("finds the optimum of a 1-d function within 5 model-based trials", () => {
    const space = searchSpace([{ name: "x", option: "x", kind: "continuous", low: -2, high: 2 }]);
    const gp = new GpOptimizer(space, { seed: 9, startupTrials: 5 });
    const f = (x: number): number => -((x - 0.7) ** 2);
    let best = -Infinity;
    for (let t = 0; t < 10; t++) {
      const point = gp.ask();
      best = Math.max(best, f(point.x as number));
      gp.tell({ point, score: f(point.x as number) });
    }
    expect(best).toBeGreaterThan(-1e-3);
  });

  it("rejects options that break the rules, naming them and the value", () => {
    const space = searchSpace([{ name: "x", option: "x", kind: "continuous", low: 0, high: 1 }]);
    expect(() => new GpOptimizer(space, { candidates: 0 })).toThrow("gp: candidates must be an integer >= 1, but got 0");
    expect(() => new GpOptimizer(space, { refineSteps: -1 })).toThrow("gp: refineSteps must be an integer >= 0, but got -1");
  });
});

describe("box L-BFGS", () => {
  const rosenbrock = (x: Float64Array): { value: number; gradient: Float64Array } => ({
    value: (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2,
    gradient: Float64Array.from([-2 * (1 - x[0]) - 400 * x[0] * (x[1] - x[0] ** 2), 200 * (x[1] - x[0] ** 2)]),
  });

  it("minimises Rosenbrock from (-1.2, 1) inside a box that holds its minimum", () => {
    const result = minimizeBoxLbfgs(rosenbrock, [-1.2, 1], Float64Array.from([-2, -2]), Float64Array.from([2, 2]), { maxIterations: 200 });
    expect(result.x[0]).toBeCloseTo(1, 3);
    expect(result.x[1]).toBeCloseTo(1, 3);
  });

  it("stops on the bound when the minimum lies outside the box (x <= 0.5: the optimum is (0.5, 0.25))", () => {
    const result = minimizeBoxLbfgs(rosenbrock, [-1.2, 1], Float64Array.from([-2, -2]), Float64Array.from([0.5, 2]), { maxIterations: 200 });
    expect(result.x[0]).toBe(0.5);
    expect(result.x[1]).toBeCloseTo(0.25, 3);
  });
});
