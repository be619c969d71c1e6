// 1-D k-means kernels against plain JS on the same data in the same run: nearest-centroid
// assignment (4-bit and 8-bit codebooks), one Lloyd step, centroid gradient sums and codebook
// decoding. The data lives in kernel memory (core.alloc), so no copy is timed on our side.
import { kernels } from "../src/kernels/core.js";
import { assignNearestOp, centroidGradientsOp, decodeCodebookOp, quantileCentroids, thresholdsOf } from "../src/kernels/kmeans.js";
import { callKernel, runInline } from "../src/kernels/operation.js";
import { entry, perSecond, time, type BenchEntry, type BenchOptions, fillWeights } from "./harness.js";

/** Plain JS, same algorithm as ours: index = how many midpoint thresholds lie below x. */
function assignLinearJs(x: Float32Array, thresholds: Float32Array, k: number, out: Uint8Array): void {
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    let idx = 0;
    for (let j = 0; j < k - 1; j++) if (v > thresholds[j]) idx++;
    out[i] = idx;
  }
}

/** Plain JS binary search over the padded thresholds (k a power of two). */
function assignBinaryJs(x: Float32Array, thresholds: Float32Array, k: number, out: Uint8Array): void {
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    let idx = 0;
    for (let step = k >> 1; step > 0; step >>= 1) if (v > thresholds[idx + step - 1]) idx += step;
    out[i] = idx;
  }
}

/** One Lloyd step in plain JS: assignment plus per-centroid sums and counts. */
function lloydStepJs(x: Float32Array, thresholds: Float32Array, k: number, out: Uint8Array, sums: Float64Array, counts: Int32Array): void {
  sums.fill(0);
  counts.fill(0);
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    let idx = 0;
    for (let j = 0; j < k - 1; j++) if (v > thresholds[j]) idx++;
    out[i] = idx;
    sums[idx] += v;
    counts[idx]++;
  }
}

function gradientSumsJs(grad: Float32Array, assignments: Uint8Array, sums: Float64Array, counts: Int32Array): void {
  sums.fill(0);
  counts.fill(0);
  for (let i = 0; i < grad.length; i++) {
    const j = assignments[i];
    sums[j] += grad[i];
    counts[j]++;
  }
}

function decodeJs(centroids: Float32Array, assignments: Uint8Array, out: Float32Array): void {
  for (let i = 0; i < assignments.length; i++) out[i] = centroids[assignments[i]];
}

export async function benchKmeans(opts: BenchOptions): Promise<BenchEntry[]> {
  const core = kernels();
  const n = opts.quick ? 4 << 20 : 16 << 20;
  const minTime = opts.quick ? 150 : 600;
  const size = `${n >> 20}M f32`;
  const x = core.alloc(Float32Array, n);
  const grad = core.alloc(Float32Array, n);
  const assignments = core.alloc(Uint8Array, n);
  const decoded = core.alloc(Float32Array, n);
  const jsOut = new Uint8Array(n);
  const entries: BenchEntry[] = [];
  const melem = (ms: number): number => perSecond(n, ms) / 1e6;
  try {
    fillWeights(x, 3);
    fillWeights(grad, 4);
    const sample = x.slice(0, 1 << 16).sort();

    for (const k of [16, 256]) {
      const centroids = quantileCentroids(sample, k);
      const thresholds = thresholdsOf(centroids);
      const ours = time(() => runInline(core, assignNearestOp(x, centroids, assignments)), minTime);
      const js = k <= 16
        ? time(() => assignLinearJs(x, thresholds, k, jsOut), minTime)
        : time(() => assignBinaryJs(x, thresholds, k, jsOut), minTime);
      for (let i = 0; i < n; i += 4099) {
        if (jsOut[i] !== assignments[i]) throw new Error(`bench kmeans: assignments differ at ${i}`);
      }
      entries.push(
        entry({
          kernel: `k-means assignment k=${k}`, size, unit: "Melem/s", ours: melem(ours.bestMs),
          baseline: k <= 16 ? "plain JS (count thresholds below x)" : "plain JS (binary search)", baselineValue: melem(js.bestMs),
        }),
      );
    }

    const k = 16;
    const centroids = quantileCentroids(sample, k);
    const thresholds = thresholdsOf(centroids);
    // one Lloyd step, called as kmeans1d does
    const pt = core.malloc(256 * 4);
    const tables = core.malloc(4 * 256 * 12);
    try {
      core.view(Float32Array, pt, 256).set(thresholds);
      const args = [x.byteOffset, n, pt, k, assignments.byteOffset, tables, tables + 4 * 256 * 8];
      const step = time(() => callKernel(core, ["kmeans_step_f32_u8", args]), minTime);
      const sums = new Float64Array(k);
      const counts = new Int32Array(k);
      const stepJs = time(() => lloydStepJs(x, thresholds, k, jsOut, sums, counts), minTime);
      entries.push(
        entry({ kernel: "Lloyd step k=16 (assign + sums)", size, unit: "Melem/s", ours: melem(step.bestMs), baseline: "plain JS", baselineValue: melem(stepJs.bestMs) }),
      );
    } finally {
      core.free(pt);
      core.free(tables);
    }

    runInline(core, assignNearestOp(x, centroids, assignments));
    const sumsOurs = time(() => runInline(core, centroidGradientsOp(grad, assignments, k)), minTime);
    const sums = new Float64Array(k);
    const counts = new Int32Array(k);
    const sumsJs = time(() => gradientSumsJs(grad, assignments, sums, counts), minTime);
    entries.push(
      entry({ kernel: "centroid gradient sums k=16", size, unit: "Melem/s", ours: melem(sumsOurs.bestMs), baseline: "plain JS", baselineValue: melem(sumsJs.bestMs) }),
    );

    const decodeOurs = time(() => runInline(core, decodeCodebookOp(centroids, assignments, decoded)), minTime);
    const jsDecoded = new Float32Array(n);
    const decodeJsTime = time(() => decodeJs(centroids, assignments, jsDecoded), minTime);
    entries.push(
      entry({ kernel: "codebook decode k=16", size, unit: "Melem/s", ours: melem(decodeOurs.bestMs), baseline: "plain JS", baselineValue: melem(decodeJsTime.bestMs) }),
    );
    return entries;
  } finally {
    for (const array of [x, grad, assignments, decoded]) core.free(array);
  }
}
