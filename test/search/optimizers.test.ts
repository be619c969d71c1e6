// One seeded suite over every optimizer `--optimizer` names (src/search/optimizers.ts): the same
// seed and tells give the same asks, every point is a point of the space (bounds, integers,
// choices, log scales), failed trials are survived, and on Branin the model-based ones beat
// random search (a reduced version of kernels-bench/search-optimizers.ts that fails when a
// model is ignored).
import { describe, expect, it } from "vitest";
import { OPTIMIZERS, optimizerByName } from "../../src/search/optimizers.js";
import type { Optimizer } from "../../src/search/optimizer.js";
import { searchSpace, type Point } from "../../src/search/space.js";
import { branin } from "../../src/search/test-functions.js";

/** Every kind of dimension: continuous, log continuous, integer, log integer, categorical, per layer. */
const mixed = searchSpace([
  { name: "ratio", option: "ratio", kind: "continuous", low: 0.1, high: 0.9 },
  { name: "lr", option: "lr", kind: "continuous", low: 1e-4, high: 1e-1, log: true },
  { name: "bits", option: "bits", kind: "integer", low: 2, high: 8 },
  { name: "steps", option: "steps", kind: "integer", low: 10, high: 1000, log: true },
  { name: "init", option: "init", kind: "categorical", choices: ["quantile", "linspace", "kmeans++"] },
  { name: "keep/conv_1", option: "keep", kind: "continuous", low: 0.25, high: 1, layer: "conv_1" },
]);

/** A smooth score over the mixed space with its best at ratio 0.3, lr 1e-2, bits 4, init kmeans++. */
function mixedScore(point: Point): number {
  const init = point.init === "kmeans++" ? 0 : 0.5;
  const ratio = (point.ratio as number) - 0.3;
  const lr = Math.log10(point.lr as number) + 2;
  const bits = (point.bits as number) - 4;
  return -(ratio * ratio) - (lr * lr) / 4 - (bits * bits) / 9 - init;
}

function checkPoint(point: Point): void {
  expect(Object.keys(point).sort()).toEqual(["bits", "init", "keep/conv_1", "lr", "ratio", "steps"]);
  expect(point.ratio).toBeGreaterThanOrEqual(0.1);
  expect(point.ratio).toBeLessThanOrEqual(0.9);
  expect(point.lr).toBeGreaterThanOrEqual(1e-4);
  expect(point.lr).toBeLessThanOrEqual(1e-1);
  expect(Number.isInteger(point.bits) && (point.bits as number) >= 2 && (point.bits as number) <= 8).toBe(true);
  expect(Number.isInteger(point.steps) && (point.steps as number) >= 10 && (point.steps as number) <= 1000).toBe(true);
  expect(["quantile", "linspace", "kmeans++"]).toContain(point.init);
  expect(point["keep/conv_1"]).toBeGreaterThanOrEqual(0.25);
  expect(point["keep/conv_1"]).toBeLessThanOrEqual(1);
}

/** Runs `trials` asks and tells; every `failEvery`-th trial fails. Returns the asked points. */
function run(optimizer: Optimizer, trials: number, score: (p: Point) => number, failEvery = 0): Point[] {
  const points: Point[] = [];
  for (let t = 0; t < trials; t++) {
    const point = optimizer.ask();
    points.push(point);
    const failed = failEvery > 0 && t % failEvery === failEvery - 1;
    optimizer.tell({ point, score: failed ? undefined : score(point) });
  }
  return points;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/** Median over seeds of the best Branin value after `trials` trials. */
function medianBest(name: string, seeds: number, trials: number): number {
  return median(Array.from({ length: seeds }, (_, seed) => {
    const points = run(optimizerByName(name, branin.space, { seed }), trials, (p) => -branin.evaluate(p));
    return Math.min(...points.map((p) => branin.evaluate(p)));
  }));
}

describe.each(Object.keys(OPTIMIZERS))("optimizer %s", (name) => {
  it("is named as the factory calls it", () => {
    expect(optimizerByName(name, mixed).name).toBe(name);
  });

  it("asks the same points for the same seed and tells, and others for another seed", () => {
    const a = run(optimizerByName(name, mixed, { seed: 7 }), 16, mixedScore);
    const b = run(optimizerByName(name, mixed, { seed: 7 }), 16, mixedScore);
    const c = run(optimizerByName(name, mixed, { seed: 8 }), 16, mixedScore);
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
  });

  it("asks only points of the space: bounds, integers, choices and log scales kept", () => {
    for (const point of run(optimizerByName(name, mixed, { seed: 1 }), 20, mixedScore)) checkPoint(point);
  });

  it("survives failed trials (undefined or NaN scores), and trials that all fail", () => {
    for (const point of run(optimizerByName(name, mixed, { seed: 2 }), 20, mixedScore, 3)) checkPoint(point);
    const optimizer = optimizerByName(name, mixed, { seed: 3 });
    for (let t = 0; t < 14; t++) optimizer.tell({ point: optimizer.ask(), score: t % 2 ? undefined : NaN });
    checkPoint(optimizer.ask());
  });
});

describe("optimizers on Branin (5 seeds × 30 trials)", () => {
  const random = medianBest("random", 5, 30);
  for (const name of Object.keys(OPTIMIZERS).filter((n) => n === "tpe" || n === "gp")) {
    it(`${name}'s median best is below random search's`, () => {
      expect(medianBest(name, 5, 30)).toBeLessThan(random);
    });
  }
});

describe("optimizerByName", () => {
  it("lists the names there are when a name is unknown", () => {
    expect(() => optimizerByName("cma", mixed)).toThrow(/optimizer must be one of random, tpe, gp.*but got 'cma'/);
  });
});
