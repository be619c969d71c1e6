// The benchmark functions reach their published minima at their published minimizers, and
// nowhere lower among random points of their spaces.
import { describe, expect, it } from "vitest";
import { pointFromUnit } from "../../src/search/space.js";
import { branin, braninValue, hartmann6, levy20, testFunctions } from "../../src/search/test-functions.js";
import { seededRandom } from "../../src/util/random.js";

describe("test functions", () => {
  it("Branin is 0.397887 at all three minimizers", () => {
    for (const [x1, x2] of [[-Math.PI, 12.275], [Math.PI, 2.275], [9.42478, 2.475]]) expect(braninValue(x1, x2)).toBeCloseTo(0.397887, 5);
    expect(branin.evaluate(branin.minimizer)).toBeCloseTo(branin.minimum, 5);
  });

  it("Hartmann-6 is -3.32237 at its minimizer", () => {
    expect(hartmann6.evaluate(hartmann6.minimizer)).toBeCloseTo(-3.32237, 4);
  });

  it("Levy-20 is 0 at (1, …, 1)", () => {
    expect(levy20.evaluate(levy20.minimizer)).toBeCloseTo(0, 12);
    expect(levy20.space.dimensions).toHaveLength(20);
  });

  for (const fn of testFunctions) {
    it(`${fn.name}: 2000 random points stay above the minimum`, () => {
      const random = seededRandom(1);
      const d = fn.space.dimensions.length;
      for (let k = 0; k < 2000; k++) {
        const value = fn.evaluate(pointFromUnit(fn.space, Array.from({ length: d }, () => random())));
        expect(value).toBeGreaterThanOrEqual(fn.minimum - 1e-5);
      }
    });
  }
});
