import { describe, expect, it } from "vitest";
import { kernels } from "../../src/kernels/core.js";
import {
  applyMask,
  applyMaskOp,
  countZerosOp,
  magnitudeMaskOp,
  orderStatisticOp,
  percentileOp,
  countKept,
  countZeros,
  magnitudeMask,
  magnitudeThreshold,
  orderStatistic,
  percentile,
  sortAscending,
  sparsity,
  type PercentileInterpolation,
} from "../../src/kernels/mask.js";
import { runInline } from "../../src/kernels/operation.js";
import {
  applyMaskRef,
  countKeptRef,
  countZerosRef,
  magnitudeMaskRef,
  magnitudeThresholdRef,
  orderStatisticRef,
  percentileRef,
  sortAscendingRef,
} from "../../src/kernels/reference.js";
import { mulberry32, ODD_LENGTHS, randomFloats } from "./random.js";

/** The bit patterns, so that -0 and +0 (and every NaN payload) count as different. */
const bits = (x: Float32Array): number[] => Array.from(new Uint32Array(x.buffer, x.byteOffset, x.length));

/** Inputs that stress the order: plain random, heavy ties, signed zeros, extremes. */
function datasets(n: number, seed: number): Array<[string, Float32Array]> {
  const rand = mulberry32(seed);
  const random = randomFloats(n, seed, 3);
  const ties = Float32Array.from(random, (v) => Math.round(v * 2) / 2); // about 13 distinct values
  const zeros = Float32Array.from(random, (v, i) => (i % 3 === 0 ? -0 : i % 3 === 1 ? 0 : v));
  const pick = [3.4028234663852886e38, -3.4028234663852886e38, Infinity, -Infinity, 1e-45, -1e-45, 1.1754943508222875e-38, 0, -0, 1, -1];
  const extremes = Float32Array.from({ length: n }, () => pick[Math.floor(rand() * pick.length)]);
  const narrow = Float32Array.from(random, (v) => 1 + v * 1e-5); // one top digit: all three passes matter
  return [["random", random], ["ties", ties], ["signed zeros", zeros], ["extremes", extremes], ["narrow", narrow]];
}

function ranksFor(n: number, seed: number): number[] {
  const rand = mulberry32(seed);
  const ranks = new Set([0, n - 1, Math.floor(n / 2), Math.floor(n / 10)]);
  for (let i = 0; i < 3; i++) ranks.add(Math.floor(rand() * n));
  return [...ranks];
}

describe("selection and sorting match the reference", () => {
  for (const n of ODD_LENGTHS.filter((len) => len > 0)) {
    for (const [label, x] of datasets(n, n * 7 + 1)) {
      it(`n=${n} ${label}`, () => {
        for (const abs of [false, true]) {
          for (const rank of ranksFor(n, n)) {
            expect(orderStatistic(x, rank, { abs }), `rank ${rank} abs=${abs}`).toBe(orderStatisticRef(x, rank, abs));
          }
        }
        expect(bits(sortAscending(x))).toEqual(bits(sortAscendingRef(x)));
        for (const keep of [0, 1, Math.floor(n / 3), n]) {
          expect(magnitudeThreshold(x, keep), `keep ${keep}`).toBe(magnitudeThresholdRef(x, keep));
        }
      });
    }
  }

  const methods: PercentileInterpolation[] = ["linear", "lower", "higher", "nearest", "midpoint"];
  for (const n of [1, 2, 5, 17, 100, 1001]) {
    it(`percentile n=${n} every interpolation`, () => {
      for (const [label, x] of datasets(n, n + 5).filter(([name]) => name !== "extremes")) {
        for (const p of [0, 10, 12.5, 25, 50, 75, 90, 99.9, 100, 37.0123]) {
          for (const interpolation of methods) {
            for (const abs of [false, true]) {
              expect(percentile(x, p, { interpolation, abs }), `${label} p=${p} ${interpolation} abs=${abs}`).toBe(
                percentileRef(x, p, interpolation, abs),
              );
            }
          }
        }
      }
    });
  }

  // past 2^18 elements the selection switches to two 16-bit digits
  for (const [label, x] of datasets((1 << 18) + 5, 77).filter(([name]) => name !== "extremes")) {
    it(`n=2^18+5 ${label} (16-bit digits)`, () => {
      const n = x.length;
      for (const abs of [false, true]) {
        const sorted = sortAscendingRef(x, abs);
        for (const rank of ranksFor(n, 3)) expect(orderStatistic(x, rank, { abs }), `rank ${rank} abs=${abs}`).toBe(sorted[rank]);
        // p = 90: position 0.9 (n - 1) = 235933.2 lies between two ranks
        const position = 0.9 * (n - 1);
        const lower = Math.floor(position);
        const [a, b] = [sorted[lower], sorted[lower + 1]];
        expect(percentile(x, 90, { abs })).toBe(a + (b - a) * (position - lower));
      }
    });
  }

  it("sorts in place and into resident arrays", () => {
    const core = kernels();
    const x = randomFloats(1000, 11);
    const expected = bits(sortAscendingRef(x));
    const resident = core.allocCopy(x);
    expect(sortAscending(resident, resident)).toBe(resident);
    expect(bits(resident)).toEqual(expected);
    const copy = x.slice();
    sortAscending(copy, copy);
    expect(bits(copy)).toEqual(expected);
    core.free(resident);
  });
});

describe("masks match the reference", () => {
  for (const n of ODD_LENGTHS) {
    for (const [label, w] of datasets(n, n * 3 + 2)) {
      it(`n=${n} ${label}`, () => {
        const thresholds = [0, 0.5, 1, 1.7, Infinity, n > 0 ? Math.abs(w[0]) : 1];
        for (const t of thresholds) {
          for (const strict of [false, true]) {
            const got = magnitudeMask(w, t, { strict });
            const ref = magnitudeMaskRef(w, t, strict);
            expect(Array.from(got.mask), `t=${t} strict=${strict}`).toEqual(Array.from(ref.mask));
            expect(got.kept).toBe(ref.kept);
            expect(countKept(got.mask)).toBe(countKeptRef(ref.mask));
            expect(bits(applyMask(w, got.mask))).toEqual(bits(applyMaskRef(w, got.mask)));
          }
        }
        expect(countZeros(w)).toBe(countZerosRef(w));
      });
    }
  }

  it("compares an f64 threshold exactly, not rounded to f32", () => {
    const w = new Float32Array([0.1, -0.1, 0.09999999, 0.2]); // f32(0.1) > 0.1
    expect(Array.from(magnitudeMask(w, 0.1).mask)).toEqual(Array.from(magnitudeMaskRef(w, 0.1).mask));
    expect(Array.from(magnitudeMask(w, 0.1, { strict: true }).mask)).toEqual([1, 1, 0, 1]);
    expect(Array.from(magnitudeMask(w, Math.fround(0.1), { strict: true }).mask)).toEqual([0, 0, 0, 1]);
    expect(Array.from(magnitudeMask(w, Math.fround(0.1)).mask)).toEqual([1, 1, 0, 1]);
    expect(Array.from(magnitudeMask(w, 1e39).mask)).toEqual([0, 0, 0, 0]);
  });

  it("treats any non-zero mask byte as keep and applies in place", () => {
    const x = randomFloats(1003, 4);
    const mask = Uint8Array.from(x, (_, i) => [0, 1, 255, 2][i % 4]);
    const expected = bits(applyMaskRef(x, mask));
    const inPlace = x.slice();
    expect(applyMask(inPlace, mask, inPlace)).toBe(inPlace);
    expect(bits(inPlace)).toEqual(expected);
    const core = kernels();
    const rx = core.allocCopy(x);
    const rm = core.allocCopy(mask);
    applyMask(rx, rm, rx);
    expect(bits(rx)).toEqual(expected);
    core.free(rx);
    core.free(rm);
  });
});

describe("split into ranges as the pool runs them, the ops give the inline result", () => {
  const core = kernels();
  for (const n of [1000, 4099, (1 << 18) + 77]) {
    it(`n=${n} parts=3`, () => {
      const x = randomFloats(n, n, 2);
      x[5] = -0;
      for (const abs of [false, true]) {
        for (const rank of ranksFor(n, 9)) {
          expect(runInline(core, orderStatisticOp(x, rank, { abs }), 3)).toBe(orderStatistic(x, rank, { abs }));
        }
        expect(runInline(core, percentileOp(x, 37.5, { abs }), 3)).toBe(percentile(x, 37.5, { abs }));
      }
      const t = percentile(x, 80, { abs: true });
      const split = runInline(core, magnitudeMaskOp(x, t, { strict: true }), 3);
      const inline = magnitudeMask(x, t, { strict: true });
      expect(split.kept).toBe(inline.kept);
      expect(split.mask.findIndex((m, i) => m !== inline.mask[i])).toBe(-1);
      const pruned = runInline(core, applyMaskOp(x, split.mask), 3);
      const expected = applyMask(x, inline.mask);
      expect(pruned.findIndex((v, i) => !Object.is(v, expected[i]))).toBe(-1);
      expect(runInline(core, countZerosOp(pruned), 3)).toBe(countZeros(pruned));
    });
  }
});

describe("pruning semantics", () => {
  const n = 100_000;
  // distinct magnitudes (i + 1) / n * 0.05 in a shuffled order with random signs
  const rand = mulberry32(21);
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const w = Float32Array.from(order, (i) => (((i + 1) / n) * 0.05) * (rand() < 0.5 ? -1 : 1));

  it("keeps exactly `keep` weights when no magnitudes tie", () => {
    expect(new Set(Array.from(w, Math.abs)).size).toBe(n);
    for (const keep of [1, 10, 12_345, 50_000, n - 1, n]) {
      const t = magnitudeThreshold(w, keep);
      expect(magnitudeMask(w, t).kept, `keep ${keep}`).toBe(keep);
    }
    expect(magnitudeMask(w, magnitudeThreshold(w, 0)).kept).toBe(0);
  });

  it("keeps every weight tied at the threshold", () => {
    const tied = Float32Array.from(w, (v) => Math.round(v * 100) / 100);
    const t = magnitudeThreshold(tied, 1000);
    const atOrAbove = Array.from(tied).filter((v) => Math.abs(v) >= t).length;
    expect(atOrAbove).toBeGreaterThan(1000);
    expect(magnitudeMask(tied, t).kept).toBe(atOrAbove);
  });

  it("a 90% sparsity mask (WeightSparse: |w| > percentile 90) keeps 10%", () => {
    const t = percentile(w, 90, { abs: true });
    const { mask, kept } = magnitudeMask(w, t, { strict: true });
    expect(kept).toBe(n / 10);
    expect(mask.reduce((a, b) => a + b, 0)).toBe(n / 10);
    // and the kept weights are the largest ones
    const kth = orderStatistic(w, n - n / 10, { abs: true });
    expect(mask.every((m, i) => m === (Math.abs(w[i]) >= kth ? 1 : 0))).toBe(true);
  });

  it("applying a mask zeroes exactly the masked weights and nothing else", () => {
    const { mask } = magnitudeMask(w, percentile(w, 70, { abs: true }), { strict: true });
    const pruned = applyMask(w, mask);
    const wrong = pruned.findIndex((v, i) => (mask[i] === 0 ? !Object.is(v, 0) : v !== w[i]));
    expect(wrong).toBe(-1);
    expect(countZeros(pruned)).toBe(n - countKept(mask));
    expect(sparsity(pruned)).toBeCloseTo(0.7, 4);
    expect(sparsity(new Float32Array(0))).toBe(0);
  });

  it("selects from all-equal and single-element inputs", () => {
    const same = new Float32Array(5000).fill(-0.25);
    expect(orderStatistic(same, 0)).toBe(-0.25);
    expect(orderStatistic(same, 4999, { abs: true })).toBe(0.25);
    expect(percentile(same, 33)).toBe(-0.25);
    expect(magnitudeThreshold(new Float32Array([-3]), 1)).toBe(3);
  });
});

describe("mask argument errors", () => {
  const x = randomFloats(64, 1);
  it("rejects NaN input, naming the count", () => {
    const bad = x.slice();
    bad[5] = NaN;
    bad[60] = NaN;
    expect(() => orderStatistic(bad, 3)).toThrow(/orderStatistic: x contains 2 NaN values/);
    expect(() => percentile(bad, 50)).toThrow(/percentile: x contains 2 NaN values/);
    expect(() => magnitudeThreshold(bad, 10)).toThrow(/magnitudeThreshold: w contains 2 NaN/);
    expect(() => sortAscending(bad)).toThrow(/sortAscending: x contains 2 NaN/);
  });
  it("names the rule and the value", () => {
    expect(() => orderStatistic(x, 64)).toThrow(/orderStatistic: rank must be an integer in 0..63, but got 64/);
    expect(() => orderStatistic(new Float32Array(0), 0)).toThrow(/x must not be empty/);
    expect(() => percentile(x, 101)).toThrow(/percentile: p must be a number in 0..100, but got 101/);
    expect(() => percentile(x, 50, { interpolation: "cubic" as PercentileInterpolation })).toThrow(/interpolation must be one of/);
    expect(() => magnitudeThreshold(x, 65)).toThrow(/keep must be an integer in 0..64, but got 65/);
    expect(() => magnitudeMask(x, NaN)).toThrow(/threshold must be a number, but got NaN/);
    expect(() => magnitudeMask(x, 0.5, { out: new Uint8Array(3) })).toThrow(/out must have 64 elements, but has 3/);
    expect(() => applyMask(x, new Uint8Array(63))).toThrow(/applyMask: mask must have 64 elements, but has 63/);
    expect(() => applyMask(x, new Int8Array(64) as unknown as Uint8Array)).toThrow(/mask must be a Uint8Array/);
    expect(() => sortAscending(x, new Float32Array(2))).toThrow(/out must have 64 elements/);
  });
  it("leaves no temporaries behind after an error", () => {
    const core = kernels();
    const before = core.bytesInUse;
    const bad = x.slice();
    bad[0] = NaN;
    expect(() => percentile(bad, 50)).toThrow();
    expect(() => sortAscending(bad)).toThrow();
    expect(core.bytesInUse).toBe(before);
  });
});
