// Magnitude pruning kernels against plain JS on the same data, and mask application against
// memcpy (the bandwidth limit of a memory-bound kernel), all measured in the same run. The data
// lives in kernel memory (core.alloc), so no copy is timed on our side.
import { kernels } from "../src/kernels/core.js";
import { applyMaskOp, countZerosOp, magnitudeMaskOp, magnitudeThresholdOp } from "../src/kernels/mask.js";
import { runInline } from "../src/kernels/operation.js";
import { entry, perSecond, time, timeAsync, type BenchEntry, type BenchOptions, fillWeights } from "./harness.js";

function applyMaskJs(x: Float32Array, mask: Uint8Array, out: Float32Array): void {
  for (let i = 0; i < x.length; i++) out[i] = mask[i] !== 0 ? x[i] : 0;
}

function magnitudeMaskJs(w: Float32Array, threshold: number, mask: Uint8Array): number {
  let kept = 0;
  for (let i = 0; i < w.length; i++) {
    const keep = Math.abs(w[i]) >= threshold ? 1 : 0;
    mask[i] = keep;
    kept += keep;
  }
  return kept;
}

function countZerosJs(x: Float32Array): number {
  let count = 0;
  for (let i = 0; i < x.length; i++) if (x[i] === 0) count++;
  return count;
}

/** Plain-JS quickselect (Hoare partition, median-of-three pivot) of rank `rank`, in place. */
function quickselectJs(a: Float32Array, rank: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const x = a[lo];
    const y = a[mid];
    const z = a[hi];
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    if (rank <= j) hi = j;
    else if (rank >= i) lo = i;
    else return a[rank];
  }
  return a[rank];
}

/** The keep-th largest |w| the plain-JS way: a copy of |w| (needed, quickselect reorders) then quickselect. */
function magnitudeThresholdJs(w: Float32Array, keep: number, scratch: Float32Array): number {
  for (let i = 0; i < w.length; i++) scratch[i] = Math.abs(w[i]);
  return quickselectJs(scratch, w.length - keep);
}

/** Mask application over the pool's threads, when the pool can start (it needs the built workers). */
async function poolApply(x: Float32Array, mask: Uint8Array, out: Float32Array, minTime: number): Promise<{ ms: number; threads: number } | string> {
  try {
    const { KernelPool } = await import("../src/kernels/pool.js");
    const pool = await KernelPool.create();
    try {
      const t = await timeAsync(() => pool.run(applyMaskOp(x, mask, out), { forceSplit: true }), minTime);
      return { ms: t.bestMs, threads: pool.threads };
    } finally {
      await pool.close();
    }
  } catch (error) {
    return `pool unavailable: ${error instanceof Error ? error.message : String(error)}`;
  }
}

export async function benchMask(opts: BenchOptions): Promise<BenchEntry[]> {
  const core = kernels();
  const n = opts.quick ? 4 << 20 : 16 << 20;
  const minTime = opts.quick ? 150 : 600;
  const size = `${n >> 20}M f32`;
  const keep = Math.round(n / 10); // 90% sparsity
  const w = core.alloc(Float32Array, n);
  const out = core.alloc(Float32Array, n);
  const copyDst = core.alloc(Float32Array, n);
  const mask = core.alloc(Uint8Array, n);
  const scratch = new Float32Array(n);
  const entries: BenchEntry[] = [];
  try {
    fillWeights(w, 7);
    const threshold = runInline(core, magnitudeThresholdOp(w, keep));
    const jsThreshold = magnitudeThresholdJs(w, keep, scratch);
    if (jsThreshold !== threshold) throw new Error(`bench mask: thresholds differ (${threshold} vs ${jsThreshold})`);
    runInline(core, magnitudeMaskOp(w, threshold, { out: mask }));

    const memcpy = time(() => core.exports.copy_bytes(copyDst.byteOffset, w.byteOffset, n * 4), minTime);
    const apply = time(() => runInline(core, applyMaskOp(w, mask, out)), minTime);
    const applyJs = time(() => applyMaskJs(w, mask, out), minTime);
    // bytes moved: memcpy reads and writes 4n; mask application reads 4n + n and writes 4n
    const memcpyGBs = perSecond(8 * n, memcpy.bestMs) / 1e9;
    const applyGBs = perSecond(9 * n, apply.bestMs) / 1e9;
    entries.push(
      entry({
        kernel: "mask apply", size, unit: "GB/s", ours: applyGBs, baseline: "memcpy (copy_bytes, same run)", baselineValue: memcpyGBs,
        target: ">= 0.6 of memcpy", minRatio: 0.6, note: "bytes read + written: 9 per element for the mask, 8 for memcpy",
      }),
      entry({
        kernel: "mask apply", size, unit: "Melem/s", ours: perSecond(n, apply.bestMs) / 1e6, baseline: "plain JS",
        baselineValue: perSecond(n, applyJs.bestMs) / 1e6, target: ">= 15x plain JS", minRatio: 15,
      }),
    );

    const pooled = await poolApply(w, mask, out, minTime);
    if (typeof pooled === "string") {
      entries.push(entry({ kernel: "mask apply, KernelPool", size, unit: "GB/s", ours: applyGBs, baseline: "memcpy", baselineValue: null, note: pooled }));
    } else {
      entries.push(
        entry({
          kernel: `mask apply, KernelPool ${pooled.threads} threads`, size, unit: "GB/s", ours: perSecond(9 * n, pooled.ms) / 1e9,
          baseline: "memcpy (1 thread)", baselineValue: memcpyGBs, target: ">= 0.6 of memcpy", minRatio: 0.6,
        }),
      );
    }

    const build = time(() => runInline(core, magnitudeMaskOp(w, threshold, { out: mask })), minTime);
    const buildJs = time(() => magnitudeMaskJs(w, threshold, mask), minTime);
    entries.push(
      entry({
        kernel: "mask build |w| >= t", size, unit: "Melem/s", ours: perSecond(n, build.bestMs) / 1e6, baseline: "plain JS",
        baselineValue: perSecond(n, buildJs.bestMs) / 1e6,
      }),
    );

    const select = time(() => runInline(core, magnitudeThresholdOp(w, keep)), minTime);
    const selectJs = time(() => magnitudeThresholdJs(w, keep, scratch), minTime, 2);
    entries.push(
      entry({
        kernel: "magnitude threshold (radix select)", size, unit: "Melem/s", ours: perSecond(n, select.bestMs) / 1e6,
        baseline: "plain JS quickselect (copy of |w|, Hoare partition, median of 3)", baselineValue: perSecond(n, selectJs.bestMs) / 1e6,
      }),
    );
    if (!opts.quick) {
      const sortJs = time(() => {
        for (let i = 0; i < n; i++) scratch[i] = Math.abs(w[i]);
        return scratch.sort()[n - keep];
      }, minTime, 1);
      entries.push(
        entry({
          kernel: "magnitude threshold (radix select)", size, unit: "Melem/s", ours: perSecond(n, select.bestMs) / 1e6,
          baseline: "plain JS Float32Array sort", baselineValue: perSecond(n, sortJs.bestMs) / 1e6,
        }),
      );
    }

    const zeros = time(() => runInline(core, countZerosOp(out)), minTime);
    const zerosJs = time(() => countZerosJs(out), minTime);
    entries.push(
      entry({
        kernel: "count zeros (sparsity)", size, unit: "Melem/s", ours: perSecond(n, zeros.bestMs) / 1e6, baseline: "plain JS",
        baselineValue: perSecond(n, zerosJs.bestMs) / 1e6,
      }),
    );
    return entries;
  } finally {
    for (const array of [w, out, copyDst, mask]) core.free(array);
  }
}
