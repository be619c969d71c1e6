import { describe, expect, it } from "vitest";
import { kernels } from "../../src/kernels/core.js";
import {
  assignNearest,
  assignNearestOp,
  centroidGradients,
  centroidGradientsOp,
  decodeCodebook,
  kmeans1d,
  kmeans1dSteps,
  lowerMidpoint,
  thresholdsOf,
  type KMeansInit,
} from "../../src/kernels/kmeans.js";
import { nextUpF32 } from "../../src/kernels/mask.js";
import { runInline } from "../../src/kernels/operation.js";
import {
  assignNearestRef,
  centroidGradientsRef,
  decodeCodebookRef,
  kmeans1dRef,
  nearestIndexRef,
} from "../../src/kernels/reference.js";
import { mulberry32, ODD_LENGTHS, randomFloats, randomInts } from "./random.js";

const bits = (x: Float32Array): number[] => Array.from(new Uint32Array(x.buffer, x.byteOffset, x.length));

/** k sorted or shuffled centroids, some of them equal, all drawn from `scale`. */
function centroidsFor(k: number, seed: number, sorted: boolean): Float32Array {
  const c = randomFloats(k, seed, 2);
  if (k > 3) c[1] = c[2]; // a duplicate
  if (sorted) c.sort();
  return c;
}

/** Data that hits every case: random, exact midpoints, centroids themselves, -0, far outside. */
function valuesFor(n: number, centroids: Float32Array, seed: number): Float32Array {
  const rand = mulberry32(seed);
  const sorted = Float32Array.from(centroids).sort();
  return Float32Array.from({ length: n }, () => {
    const r = rand();
    const j = Math.floor(rand() * sorted.length);
    if (r < 0.4) return (rand() * 2 - 1) * 3;
    if (r < 0.6 && j + 1 < sorted.length) return (sorted[j] + sorted[j + 1]) / 2; // a tie when exact
    if (r < 0.75) return sorted[j];
    if (r < 0.8) return -0;
    if (r < 0.9) return rand() < 0.5 ? -3e38 : 3e38;
    return nextUpF32(sorted[j]);
  });
}

describe("nearest-centroid assignment matches the brute-force reference", () => {
  for (const n of ODD_LENGTHS) {
    for (const k of [1, 2, 3, 16, 17, 64, 65, 256]) {
      for (const sorted of [true, false]) {
        it(`n=${n} k=${k} ${sorted ? "sorted" : "shuffled"}`, () => {
          const centroids = centroidsFor(k, n * 13 + k, sorted);
          const x = valuesFor(n, centroids, n + k);
          expect(Array.from(assignNearest(x, centroids))).toEqual(Array.from(assignNearestRef(x, centroids)));
        });
      }
    }
  }

  it("sends an exact tie to the smaller centroid, and equal centroids to the lower index", () => {
    const centroids = new Float32Array([0, 1, 1, 3]);
    const x = new Float32Array([0.5, 0.49999997, 0.50000006, 2, 2.0000002, 1, -0, 100]);
    expect(Array.from(assignNearest(x, centroids))).toEqual([0, 0, 1, 1, 3, 1, 0, 3]);
    // shuffled: the same centroid values, indices follow the given order
    const shuffled = new Float32Array([3, 1, 0, 1]);
    expect(Array.from(assignNearest(x, shuffled))).toEqual([2, 2, 1, 1, 0, 1, 2, 0]);
  });

  it("is exact where the f64 midpoint rounds: thresholds checked in integers", () => {
    const exact = (v: number): bigint => BigInt(v * 2 ** 149);
    const rand = mulberry32(99);
    const samples = [-3.4028234663852886e38, -1e30, -1, -1e-30, -1e-45, 1e-45, 1e-30, 1, 2, 1e30, 3.4028234663852886e38];
    for (let trial = 0; trial < 2000; trial++) {
      let a = Math.fround(samples[Math.floor(rand() * samples.length)] * (1 + rand()));
      let b = Math.fround(samples[Math.floor(rand() * samples.length)] * (1 + rand()));
      if (!Number.isFinite(a) || !Number.isFinite(b) || a === b) continue;
      if (a > b) [a, b] = [b, a];
      const t = lowerMidpoint(a, b);
      // t is the largest f32 with 2t <= a + b
      expect(2n * exact(t) <= exact(a) + exact(b), `${a} ${b}`).toBe(true);
      expect(2n * exact(nextUpF32(t)) > exact(a) + exact(b), `${a} ${b}`).toBe(true);
    }
    const t = thresholdsOf(new Float32Array([1, 1, 2]));
    expect(t[0]).toBe(t[1]);
    expect(t[2]).toBe(Infinity);
  });
});

describe("centroid gradients and codebook decoding match the reference", () => {
  for (const n of ODD_LENGTHS) {
    for (const k of [1, 4, 16, 17, 256]) {
      it(`n=${n} k=${k}`, () => {
        const grad = randomFloats(n, n * 5 + k, 1e-3);
        const assignments = Uint8Array.from(randomInts(n, n + k, 0, k - 1));
        const got = centroidGradients(grad, assignments, k);
        const ref = centroidGradientsRef(grad, assignments, k);
        expect(bits(got.sums)).toEqual(bits(ref.sums));
        expect(Array.from(got.counts)).toEqual(Array.from(ref.counts));
        const centroids = randomFloats(k, k, 4);
        expect(bits(decodeCodebook(centroids, assignments))).toEqual(bits(decodeCodebookRef(centroids, assignments)));
      });
    }
  }

  it("gradient sums equal a brute-force sum per centroid", () => {
    const n = 50_001;
    const grad = randomFloats(n, 8, 0.01);
    const assignments = Uint8Array.from(randomInts(n, 9, 0, 15));
    const { sums, counts } = centroidGradients(grad, assignments, 16);
    for (let j = 0; j < 16; j++) {
      let sum = 0;
      let count = 0;
      for (let i = 0; i < n; i++) {
        if (assignments[i] === j) {
          sum += grad[i];
          count++;
        }
      }
      expect(counts[j]).toBe(count);
      expect(sums[j]).toBeCloseTo(sum, 6);
    }
    expect(counts.reduce((a, b) => a + b, 0)).toBe(n);
  });
});

describe("kmeans1d matches the reference", () => {
  const inits: KMeansInit[] = ["kmeans++", "quantile", "linspace"];
  for (const n of [1, 3, 17, 64, 257, 1000, 4099]) {
    for (const k of [2, 5, 16]) {
      for (const init of inits) {
        it(`n=${n} k=${k} init=${init}`, () => {
          const x = randomFloats(n, n * 3 + k, 2);
          if (n > 10) x[7] = -0;
          const options = { k, init, seed: n + k, maxIter: 30 };
          const got = kmeans1d(x, options);
          const ref = kmeans1dRef(x, options);
          expect(bits(got.centroids)).toEqual(bits(ref.centroids));
          expect(Array.from(got.assignments)).toEqual(Array.from(ref.assignments));
          expect(got.iterations).toBe(ref.iterations);
          expect(got.converged).toBe(ref.converged);
          expect(got.inertia).toBe(ref.inertia);
        });
      }
    }
  }
});

describe("split into ranges as the pool runs them", () => {
  const core = kernels();
  it("assignment and gradient sums give the inline result (sums to rounding)", () => {
    const n = 10_007;
    const centroids = centroidsFor(16, 3, false);
    const x = valuesFor(n, centroids, 4);
    expect(Array.from(runInline(core, assignNearestOp(x, centroids), 3))).toEqual(Array.from(assignNearest(x, centroids)));
    const grad = randomFloats(n, 5);
    const assignments = Uint8Array.from(randomInts(n, 6, 0, 15));
    const split = runInline(core, centroidGradientsOp(grad, assignments, 16), 3);
    const inline = centroidGradients(grad, assignments, 16);
    expect(Array.from(split.counts)).toEqual(Array.from(inline.counts));
    split.sums.forEach((s, j) => expect(s).toBeCloseTo(inline.sums[j], 5));
  });

  it("kmeans1d steps run split find the same clusters", () => {
    const x = clustered([-10, -3, 2, 8], 20_000, 0.5, 5);
    const steps = kmeans1dSteps(core, x, { k: 4, init: "kmeans++", seed: 1 });
    let next = steps.next();
    while (!next.done) next = steps.next(runInline(core, next.value, 3));
    const inline = kmeans1d(x, { k: 4, init: "kmeans++", seed: 1 });
    next.value.centroids.forEach((c, j) => expect(c).toBeCloseTo(inline.centroids[j], 4));
    expect(next.value.converged).toBe(true);
  });
});

/** n values around the given centres, spread ±spread, in a shuffled order. */
function clustered(centres: number[], n: number, spread: number, seed: number): Float32Array {
  const rand = mulberry32(seed);
  return Float32Array.from({ length: n }, () => centres[Math.floor(rand() * centres.length)] + (rand() * 2 - 1) * spread);
}

describe("k-means semantics", () => {
  const centres = [-10, -3, 2, 8];
  const x = clustered(centres, 20_000, 0.5, 5);

  for (const init of ["kmeans++", "quantile", "linspace"] as KMeansInit[]) {
    it(`finds 4 well-separated clusters (init=${init})`, () => {
      const result = kmeans1d(x, { k: 4, init, seed: 1 });
      expect(result.converged).toBe(true);
      centres.forEach((c, j) => expect(Math.abs(result.centroids[j] - c)).toBeLessThan(0.05));
      for (let i = 0; i < x.length; i++) {
        if (centres[result.assignments[i]] !== centres[nearestIndexRef(x[i], new Float32Array(centres))]) {
          throw new Error(`x[${i}] = ${x[i]} sits in the wrong cluster`);
        }
      }
    });
  }

  it("a 4-bit codebook has at most 16 distinct values, each weight at its nearest one", () => {
    const w = randomFloats(30_000, 17, 0.1);
    const { centroids, assignments, inertia } = kmeans1d(w, { k: 16, init: "quantile" });
    const quantized = decodeCodebook(centroids, assignments);
    expect(new Set(quantized).size).toBeLessThanOrEqual(16);
    expect(Array.from(assignNearest(w, centroids))).toEqual(Array.from(assignments));
    for (let j = 1; j < 16; j++) expect(centroids[j]).toBeGreaterThanOrEqual(centroids[j - 1]);
    let sse = 0;
    for (let i = 0; i < w.length; i++) sse += (w[i] - quantized[i]) ** 2;
    expect(inertia).toBeCloseTo(sse, 10);
    // Lloyd only lowers the error of its starting codebook
    expect(inertia).toBeLessThanOrEqual(kmeans1d(w, { k: 16, init: "quantile", maxIter: 0 }).inertia);
  });

  it("is deterministic for a seed", () => {
    const a = kmeans1d(x, { k: 8, seed: 3 });
    const b = kmeans1d(x, { k: 8, seed: 3 });
    expect(bits(a.centroids)).toEqual(bits(b.centroids));
    expect(Array.from(a.assignments)).toEqual(Array.from(b.assignments));
  });

  it("copes with fewer distinct values than k", () => {
    const few = Float32Array.from({ length: 1000 }, (_, i) => [0.5, -1, 2][i % 3]);
    for (const init of ["kmeans++", "quantile", "linspace"] as KMeansInit[]) {
      const result = kmeans1d(few, { k: 8, init });
      expect(result.inertia).toBe(0);
      for (const v of [0.5, -1, 2]) expect(Array.from(result.centroids)).toContain(v);
    }
    const single = kmeans1d(new Float32Array([4]), { k: 3 });
    expect(Array.from(single.centroids)).toEqual([4, 4, 4]);
    expect(Array.from(single.assignments)).toEqual([0]);
  });

  it("writes assignments into a resident array and leaves no temporaries", () => {
    const core = kernels();
    const before = core.bytesInUse;
    const rx = core.allocCopy(x.subarray(0, 5000));
    const out = core.alloc(Uint8Array, 5000);
    const result = kmeans1d(rx, { k: 4, init: "linspace" }, out);
    expect(result.assignments).toBe(out);
    expect(Array.from(out)).toEqual(Array.from(assignNearestRef(rx, result.centroids)));
    core.free(rx);
    core.free(out);
    expect(core.bytesInUse).toBe(before);
  });
});

describe("k-means argument errors", () => {
  const x = randomFloats(64, 1);
  it("names the rule and the value", () => {
    expect(() => kmeans1d(x, { k: 1 })).toThrow(/kmeans1d: k must be an integer in 2..256, but got 1/);
    expect(() => kmeans1d(x, { k: 257 })).toThrow(/k must be an integer in 2..256, but got 257/);
    expect(() => kmeans1d(x, { k: 4, init: "random" as KMeansInit })).toThrow(/init must be one of kmeans\+\+, quantile, linspace, but got random/);
    expect(() => kmeans1d(x, { k: 4, maxIter: -1 })).toThrow(/maxIter must be an integer >= 0, but got -1/);
    expect(() => kmeans1d(new Float32Array(0), { k: 4 })).toThrow(/x must not be empty/);
    expect(() => assignNearest(x, new Float32Array(300))).toThrow(/centroids must hold 1..256 values/);
    expect(() => assignNearest(x, new Float32Array([0, NaN]))).toThrow(/centroids must be finite, but centroids\[1\] is NaN/);
    expect(() => centroidGradients(x, new Uint8Array(64).fill(4), 4)).toThrow(/assignments must be indices < k = 4, but 64 are not/);
    expect(() => centroidGradients(x, new Uint8Array(3), 4)).toThrow(/assignments must have 64 elements, but has 3/);
    expect(() => decodeCodebook(new Float32Array(4), new Uint8Array(20).fill(9))).toThrow(/indices < k = 4, but 20 are not/);
  });
  it("rejects NaN and infinite data, and frees everything", () => {
    const core = kernels();
    const before = core.bytesInUse;
    const bad = x.slice();
    bad[9] = NaN;
    expect(() => kmeans1d(bad, { k: 4 })).toThrow(/kmeans1d: x contains 1 NaN value/);
    expect(() => assignNearest(bad, new Float32Array([0, 1]))).toThrow(/assignNearest: x contains 1 NaN value/);
    bad[9] = -Infinity;
    expect(() => kmeans1d(bad, { k: 4 })).toThrow(/x must be finite, but contains -Infinity/);
    expect(core.bytesInUse).toBe(before);
  });
});
