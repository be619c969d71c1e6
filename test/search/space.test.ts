// The search space: learners' hyper-parameters become named dimensions; unit coordinates map to
// values and back; per-layer values gather into the learner's option map; bad declarations are
// named; random search is uniform and repeats itself for a seed.
import { describe, expect, it } from "vitest";
import { RandomSearch } from "../../src/search/random-search.js";
import { fromUnit, optionsOfPoint, pointFromUnit, pointOfOptions, searchSpace, spaceOfHyperParameters, toUnit, unitOfPoint, type Dimension } from "../../src/search/space.js";

const bits: Dimension = { name: "bits", option: "bits", kind: "integer", low: 2, high: 8 };
const lr: Dimension = { name: "lr", option: "lr", kind: "continuous", low: 1e-4, high: 1e-1, log: true };
const init: Dimension = { name: "init", option: "init", kind: "categorical", choices: ["quantile", "linspace", "kmeans++"] };

describe("search space", () => {
  it("expands per-layer hyper-parameters into one dimension per layer and gathers them back", () => {
    const space = spaceOfHyperParameters([
      { option: "ratios", kind: "continuous", low: 0.1, high: 1, perLayer: ["conv_a", "conv_b"] },
      { option: "fastSteps", kind: "integer", low: 10, high: 100 },
    ]);
    expect(space.dimensions.map((d) => d.name)).toEqual(["ratios/conv_a", "ratios/conv_b", "fastSteps"]);
    const point = pointFromUnit(space, [0, 1, 0.5]);
    expect(optionsOfPoint(space, point)).toEqual({ ratios: { conv_a: 0.1, conv_b: 1 }, fastSteps: 55 });
    expect(pointOfOptions(space, optionsOfPoint(space, point))).toEqual(point);
    expect(() => pointOfOptions(space, { ratios: { conv_a: 0.5 }, fastSteps: 20 })).toThrow(/no value for 'ratios\/conv_b'/);
  });

  it("draws every integer alike from a uniform coordinate, and round-trips values", () => {
    const counts = new Map<number, number>();
    for (let i = 0; i < 7000; i++) {
      const value = fromUnit(bits, (i + 0.5) / 7000) as number;
      counts.set(value, (counts.get(value) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual([2, 3, 4, 5, 6, 7, 8]);
    for (const count of counts.values()) expect(count).toBe(1000);
    for (const value of [2, 5, 8]) expect(fromUnit(bits, toUnit(bits, value))).toBe(value);
    for (const choice of init.choices ?? []) expect(fromUnit(init, toUnit(init, choice))).toBe(choice);
    expect(fromUnit(lr, toUnit(lr, 3e-3)) as number).toBeCloseTo(3e-3, 12);
    expect(fromUnit(lr, 0.5) as number).toBeCloseTo(Math.sqrt(1e-4 * 1e-1), 12);
  });

  it("names a dimension it cannot search", () => {
    expect(() => searchSpace([{ ...bits, low: 9 }])).toThrow(/'bits' needs finite bounds low <= high, but has \[9, 8\]/);
    expect(() => searchSpace([{ ...lr, low: 0 }])).toThrow(/'lr' is log-scale and needs low > 0/);
    expect(() => searchSpace([{ ...init, choices: [] }])).toThrow(/'init' is categorical but has no choices/);
    expect(() => searchSpace([bits, bits])).toThrow(/'bits' is declared twice/);
    expect(() => searchSpace([])).toThrow(/no dimension to search/);
    expect(() => unitOfPoint(searchSpace([bits, lr]), { bits: 3 })).toThrow(/no value for 'lr'/);
  });

  it("random search covers the space and repeats itself for a seed", () => {
    const space = searchSpace([bits, lr, init]);
    const draw = (seed: number) => { const search = new RandomSearch(space, { seed }); return Array.from({ length: 300 }, () => search.ask()); };
    const points = draw(1);
    expect(draw(1)).toEqual(points);
    expect(draw(2)).not.toEqual(points);
    expect(new Set(points.map((p) => p.bits))).toEqual(new Set([2, 3, 4, 5, 6, 7, 8]));
    expect(new Set(points.map((p) => p.init))).toEqual(new Set(["quantile", "linspace", "kmeans++"]));
    const logs = points.map((p) => Math.log10(p.lr as number));
    expect(Math.min(...logs)).toBeGreaterThanOrEqual(-4);
    expect(Math.max(...logs)).toBeLessThanOrEqual(-1);
    expect(logs.filter((l) => l < -2.5).length / logs.length).toBeGreaterThan(0.4);
  });
});
