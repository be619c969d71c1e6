// TPE: Optuna's γ, random points until enough trials complete (failed ones do not count), draws
// that concentrate where the good trials are (numerical and categorical dimensions), the
// multivariate variant, and option checks that name the rule and the value.
import { describe, expect, it } from "vitest";
import { searchSpace, type Point } from "../../src/search/space.js";
import { defaultGamma, TpeOptimizer } from "../../src/search/tpe.js";
import { RandomSearch } from "../../src/search/random-search.js";

const line = searchSpace([{ name: "x", option: "x", kind: "continuous", low: 0, high: 1 }]);
const choice = searchSpace([
  { name: "x", option: "x", kind: "continuous", low: 0, high: 1 },
  { name: "act", option: "act", kind: "categorical", choices: ["relu", "relu6", "tanh", "gelu"] },
]);

/** Tells `trials` asked points scored by `score`, then returns the next `asks` asks (told too). */
function trainThenAsk(tpe: TpeOptimizer, score: (p: Point) => number, trials: number, asks: number): Point[] {
  for (let t = 0; t < trials; t++) {
    const point = tpe.ask();
    tpe.tell({ point, score: score(point) });
  }
  return Array.from({ length: asks }, () => {
    const point = tpe.ask();
    tpe.tell({ point, score: score(point) });
    return point;
  });
}

describe("tpe", () => {
  it("keeps Optuna's default γ: min(⌈0.1 n⌉, 25) good trials", () => {
    expect([1, 10, 11, 100, 250, 251, 1000].map(defaultGamma)).toEqual([1, 1, 2, 10, 25, 25, 25]);
  });

  it("draws uniformly until startupTrials trials complete; failed trials do not count", () => {
    const tpe = new TpeOptimizer(line, { seed: 5, startupTrials: 4 });
    const random = new RandomSearch(line, { seed: 5 });
    // 10 failed trials and 3 completed ones: still the startup phase, the same draws as random search
    for (let t = 0; t < 13; t++) {
      const point = tpe.ask();
      expect(point).toEqual(random.ask());
      tpe.tell({ point, score: t < 10 ? undefined : -(point.x as number) });
    }
    expect(tpe.ask()).toEqual(random.ask());
    tpe.tell({ point: { x: 0.5 }, score: -0.5 });
    expect(tpe.ask()).not.toEqual(random.ask());
  });

  for (const multivariate of [false, true]) {
    it(`concentrates its draws where the good trials are (multivariate=${multivariate})`, () => {
      const tpe = new TpeOptimizer(line, { seed: 11, multivariate });
      const asks = trainThenAsk(tpe, (p) => -Math.abs((p.x as number) - 0.3), 30, 20);
      const near = asks.filter((p) => Math.abs((p.x as number) - 0.3) < 0.1).length;
      expect(near).toBeGreaterThanOrEqual(8); // twice random search's 4 of 20 (the prior keeps exploring)
    });

    it(`prefers the categorical choice the good trials share (multivariate=${multivariate})`, () => {
      const tpe = new TpeOptimizer(choice, { seed: 12, multivariate });
      const asks = trainThenAsk(tpe, (p) => (p.act === "tanh" ? 1 : 0) - Math.abs((p.x as number) - 0.5), 30, 20);
      expect(asks.filter((p) => p.act === "tanh").length).toBeGreaterThanOrEqual(10); // twice random search's 5 of 20
    });
  }

  it("keeps integer dimensions on integers and log dimensions inside their bounds", () => {
    const space = searchSpace([
      { name: "bits", option: "bits", kind: "integer", low: 2, high: 8 },
      { name: "lr", option: "lr", kind: "continuous", low: 1e-5, high: 1, log: true },
    ]);
    const tpe = new TpeOptimizer(space, { seed: 3 });
    for (let t = 0; t < 40; t++) {
      const point = tpe.ask();
      expect(Number.isInteger(point.bits)).toBe(true);
      expect(point.lr).toBeGreaterThanOrEqual(1e-5);
      expect(point.lr).toBeLessThanOrEqual(1);
      tpe.tell({ point, score: -Math.abs((point.bits as number) - 5) - Math.abs(Math.log10(point.lr as number) + 3) });
    }
  });

  it("rejects options that break the rules, naming them and the value", () => {
    expect(() => new TpeOptimizer(line, { candidates: 0 })).toThrow("tpe: candidates must be an integer >= 1, but got 0");
    expect(() => new TpeOptimizer(line, { startupTrials: 1.5 })).toThrow("tpe: startupTrials must be an integer >= 0, but got 1.5");
    expect(() => new TpeOptimizer(line, { priorWeight: -1 })).toThrow("tpe: priorWeight must be a finite number > 0, but got -1");
  });

  it("rejects a told point outside the space, naming the dimension", () => {
    const tpe = new TpeOptimizer(choice);
    expect(() => tpe.tell({ point: { x: 0.5, act: "elu" }, score: 1 })).toThrow(/'elu' is not a choice of 'act'/);
  });
});
