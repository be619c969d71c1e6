// The comparison every kernel and backend test relies on: a relative error that is relative.
import { describe, expect, it } from "vitest";
import { floorOf, maxRelativeError } from "./relative-error.js";

describe("maxRelativeError", () => {
  it("catches a 1% error on values of size 1e-3 (an absolute 1e-4 would not)", () => {
    const expected = Float32Array.from({ length: 64 }, (_, i) => 1e-3 * (1 + (i % 7) / 10));
    const actual = expected.map((value) => value * 1.01);
    expect(maxRelativeError(actual, expected)).toBeCloseTo(0.01, 4);
    expect(maxRelativeError(actual, expected)).toBeGreaterThan(1e-4); // the tolerance the backend tests use
  });
  it("measures values below the floor against the floor: rounding of a sum that cancels", () => {
    const expected = Float32Array.of(10, -4, 1e-9, 0);
    const actual = Float32Array.of(10, -4, 2e-9, 1e-6);
    expect(floorOf(expected)).toBe(1);
    expect(maxRelativeError(actual, expected)).toBeCloseTo(1e-6, 12);
    expect(maxRelativeError(actual, expected, 1e-3)).toBeCloseTo(1e-3, 9);
    expect(maxRelativeError(Float32Array.of(0, 0), Float32Array.of(0, 0))).toBe(0);
  });
  it("counts NaN as infinitely wrong and refuses mismatched lengths and a floor that is not positive", () => {
    expect(maxRelativeError(Float32Array.of(1, NaN), Float32Array.of(1, 2))).toBe(Infinity);
    expect(() => maxRelativeError(new Float32Array(2), new Float32Array(3))).toThrow("length 2 vs 3");
    expect(() => maxRelativeError(new Float32Array(2), new Float32Array(2), 0)).toThrow("absoluteFloor must be > 0, but got 0");
  });
});
