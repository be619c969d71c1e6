// Reference twins of assembly/kmeans.ts: nearest centroids by brute force with exact distance
// comparisons, Lloyd's algorithm spelled out, and the same summation orders as the kernels
// (f64 sums over 4 interleaved tables combined as (t0 + t1) + (t2 + t3)) so that results
// match bit for bit.
import type { KMeansOptions, KMeansResult } from "../kmeans.js";
import { seededRandom } from "../../util/random.js";

/** f32 values as exact integers: every finite f32 is a multiple of 2^-149. */
const exact = (v: number): bigint => BigInt(v * 2 ** 149);

/** The sign of 2x - a - b, exactly (x, a, b finite f32). */
function signTwiceMinusSum(x: number, a: number, b: number): number {
  const d = 2 * x - a - b;
  const scale = 2 * Math.abs(x) + Math.abs(a) + Math.abs(b);
  if (Math.abs(d) > scale * 1e-12) return Math.sign(d); // far from a tie: f64 rounding cannot flip it
  const e = 2n * exact(x) - exact(a) - exact(b);
  return e > 0n ? 1 : e < 0n ? -1 : 0;
}

/** Whether x is strictly closer to b than to a, or as close and b < a. */
function prefers(x: number, a: number, b: number): boolean {
  if (a === b) return false;
  // a < b: closer to b iff x > (a + b) / 2; a > b: closer to b (or tied) iff x <= (a + b) / 2
  const s = signTwiceMinusSum(x, a, b);
  return a < b ? s > 0 : s <= 0;
}

/** Index of the nearest centroid: ties to the smaller value, equal values to the lower index. */
export function nearestIndexRef(v: number, centroids: Float32Array): number {
  if (Number.isNaN(v)) return 0;
  let best = 0;
  for (let j = 1; j < centroids.length; j++) if (prefers(v, centroids[best], centroids[j])) best = j;
  return best;
}

export function assignNearestRef(x: Float32Array, centroids: Float32Array): Uint8Array {
  return Uint8Array.from(x, (v) => nearestIndexRef(v, centroids));
}

/** Per-key f64 sums over 4 interleaved tables, combined as (t0 + t1) + (t2 + t3). */
function interleavedSums(values: Float32Array, keys: Uint8Array, k: number): { sums: Float64Array; counts: Int32Array } {
  const tables = [0, 1, 2, 3].map(() => new Float64Array(k));
  const counts = new Int32Array(k);
  for (let i = 0; i < values.length; i++) {
    const j = keys[i];
    if (j >= k) continue;
    tables[i % 4][j] += values[i];
    counts[j]++;
  }
  const sums = Float64Array.from(tables[0], (_, j) => tables[0][j] + tables[1][j] + (tables[2][j] + tables[3][j]));
  return { sums, counts };
}

export function centroidGradientsRef(grad: Float32Array, assignments: Uint8Array, k: number): { sums: Float32Array; counts: Int32Array } {
  const { sums, counts } = interleavedSums(grad, assignments, k);
  return { sums: Float32Array.from(sums), counts };
}

export function decodeCodebookRef(centroids: Float32Array, assignments: Uint8Array): Float32Array {
  return Float32Array.from(assignments, (j) => centroids[j]);
}

function kmeansPlusPlusRef(x: Float32Array, k: number, seed: number): Float32Array {
  const random = seededRandom(seed);
  const n = x.length;
  const centroids = new Float32Array(k);
  centroids[0] = x[Math.floor(random() * n)];
  const d2 = new Float64Array(n).fill(Number.POSITIVE_INFINITY);
  for (let j = 1; j < k; j++) {
    const lanes = [0, 0, 0, 0];
    for (let i = 0; i < n; i++) {
      const d = x[i] - centroids[j - 1];
      d2[i] = Math.min(d2[i], d * d);
      lanes[i % 4] += d2[i];
    }
    const total = lanes[0] + lanes[1] + (lanes[2] + lanes[3]);
    if (!(total > 0)) {
      centroids.fill(centroids[j - 1], j);
      break;
    }
    const target = random() * total;
    let pick = -1;
    let lastPositive = n - 1;
    let sum = 0;
    for (let i = 0; i < n && pick < 0; i++) {
      sum += d2[i];
      if (sum > target) pick = i;
      else if (d2[i] > 0) lastPositive = i;
    }
    centroids[j] = x[pick >= 0 ? pick : lastPositive];
  }
  return centroids;
}

function initRef(x: Float32Array, k: number, init: string, seed: number): Float32Array {
  if (init === "kmeans++") return kmeansPlusPlusRef(x, k, seed);
  if (init === "linspace") {
    let min = Infinity;
    let max = -Infinity;
    for (const v of x) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    return Float32Array.from({ length: k }, (_, i) => min + ((max - min) * i) / (k - 1));
  }
  const sorted = Float32Array.from(x).sort();
  return Float32Array.from({ length: k }, (_, i) => {
    const position = ((i + 1) / (k + 1)) * (x.length - 1);
    const lo = Math.floor(position);
    const t = position - lo;
    const a = sorted[lo];
    const b = sorted[Math.min(lo + 1, x.length - 1)];
    return t < 0.5 ? a + (b - a) * t : b - (b - a) * (1 - t);
  });
}

/** Lloyd's algorithm from the same initial centroids, by brute-force assignment. */
export function kmeans1dRef(x: Float32Array, options: KMeansOptions): KMeansResult {
  const { k, init = "kmeans++", maxIter = 50, seed = 0 } = options;
  let centroids = initRef(x, k, init, seed).sort();
  let assignments: Uint8Array = new Uint8Array(x.length);
  let iterations = 0;
  let converged = false;
  while (iterations < maxIter) {
    iterations++;
    const next = assignNearestRef(x, centroids);
    const changed = next.some((j, i) => j !== assignments[i]);
    assignments = next;
    if (iterations > 1 && !changed) {
      converged = true;
      break;
    }
    const { sums, counts } = interleavedSums(x, assignments, k);
    centroids = centroids.map((c, j) => (counts[j] > 0 ? sums[j] / counts[j] : c)).sort();
  }
  if (!converged) assignments = assignNearestRef(x, centroids);
  let inertia = 0;
  for (let i = 0; i < x.length; i++) {
    const d = x[i] - centroids[assignments[i]];
    inertia += d * d;
  }
  return { centroids, assignments, iterations, converged, inertia };
}
