import { describe, expect, it } from "vitest";
import { kernels } from "../../src/kernels/core.js";
import { runInline } from "../../src/kernels/operation.js";
import { batchNorm, batchNormFactors, batchNormOp } from "../../src/kernels/batchnorm-inference.js";
import { batchNormRef } from "../../src/kernels/reference.js";
import { randomFloats } from "./random.js";
import { maxRelativeError } from "../relative-error.js";

const TOLERANCE = 1e-5;

describe("batch norm kernel matches the reference", () => {
  for (const channels of [1, 3, 4, 6, 8, 17, 64]) {
    for (const pixels of [1, 5, 33]) {
      it(`channels=${channels} pixels=${pixels}`, () => {
        const seed = channels * 100 + pixels;
        const x = randomFloats(channels * pixels, seed, 3);
        const params = {
          mean: randomFloats(channels, seed + 1),
          variance: randomFloats(channels, seed + 2, 0.5, 1),
          offset: channels % 2 === 0 ? randomFloats(channels, seed + 3) : undefined,
          scale: channels % 3 === 0 ? undefined : randomFloats(channels, seed + 4, 2),
          varianceEpsilon: 1e-3,
        };
        const y = batchNorm(x, channels, params);
        expect(maxRelativeError(y, batchNormRef(x, channels, params))).toBeLessThanOrEqual(TOLERANCE);
        expect(runInline(kernels(), batchNormOp(x, channels, params), 3)).toEqual(y);
        // the factors computed beforehand (as the backend caches them) give the same values
        expect(runInline(kernels(), batchNormOp(x, channels, batchNormFactors(channels, params)), 2)).toEqual(y);
      });
    }
  }

  for (const activation of ["relu", "relu6"] as const) {
    it(`a fused ${activation}: the reference's, and exactly the unfused output clipped (channels 3, 16; split in 3)`, () => {
      for (const channels of [3, 16]) {
        const x = randomFloats(channels * 41, channels, 8);
        const params = { mean: randomFloats(channels, 1), variance: randomFloats(channels, 2, 0.5, 1), offset: randomFloats(channels, 3, 2), varianceEpsilon: 1e-3 };
        const y = batchNorm(x, channels, params, undefined, activation);
        const hi = activation === "relu6" ? 6 : Infinity;
        expect(Array.from(y)).toEqual(Array.from(batchNorm(x, channels, params), (v) => Math.min(Math.max(v, 0), hi)));
        expect(y.some((v) => v === 0) && y.some((v) => v > 0), "both sides of the clip are exercised").toBe(true);
        if (activation === "relu6") expect(y.some((v) => v === 6)).toBe(true);
        expect(maxRelativeError(y, batchNormRef(x, channels, params, activation))).toBeLessThanOrEqual(TOLERANCE);
        expect(runInline(kernels(), batchNormOp(x, channels, params, undefined, activation), 3)).toEqual(y);
      }
    });
  }

  it("rejects parameters of the wrong size, and an unknown activation", () => {
    expect(() => batchNormOp(new Float32Array(4), 4, batchNormFactors(4, { mean: new Float32Array(4), variance: new Float32Array(4), varianceEpsilon: 0 }), undefined, "gelu" as "relu"))
      .toThrow(/activation must be 'relu', 'relu6' or absent, but got 'gelu'/);
    const params = { mean: new Float32Array(3), variance: new Float32Array(4), varianceEpsilon: 1e-3 };
    expect(() => batchNorm(new Float32Array(12), 4, params)).toThrow(/mean must hold/);
    expect(() => batchNormOp(new Float32Array(12), 4, new Float32Array(5))).toThrow(/factors must hold/);
  });
});
