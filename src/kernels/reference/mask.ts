// Reference twins of assembly/mask.ts and assembly/select.ts: order statistics by a full sort,
// percentiles as numpy.percentile defines them, masks by direct comparison.

export type ReferenceInterpolation = "linear" | "lower" | "higher" | "nearest" | "midpoint";

/** x (or |x|) sorted ascending as Float32Array.prototype.sort orders it (-0 before +0, NaN last). */
export function sortAscendingRef(x: Float32Array, abs = false): Float32Array {
  const copy = Float32Array.from(x, (v) => (abs ? Math.abs(v) : v));
  return copy.sort();
}

export function orderStatisticRef(x: Float32Array, rank: number, abs = false): number {
  return sortAscendingRef(x, abs)[rank];
}

/** numpy.percentile(x, p, method=interpolation) in f64 over the f32 values. */
export function percentileRef(x: Float32Array, p: number, interpolation: ReferenceInterpolation = "linear", abs = false): number {
  const sorted = sortAscendingRef(x, abs);
  const position = (p / 100) * (sorted.length - 1);
  const i = Math.floor(position);
  const t = position - i;
  const a = sorted[i];
  const b = sorted[Math.min(i + 1, sorted.length - 1)];
  switch (interpolation) {
    case "lower":
      return a;
    case "higher":
      return t > 0 ? b : a;
    case "nearest":
      if (t === 0.5) return i % 2 === 0 ? a : b;
      return t < 0.5 ? a : b;
    case "midpoint":
      return t > 0 ? (a + b) / 2 : a;
    default:
      // at an exact rank, the element itself (keeps -0 as -0)
      if (t === 0) return a;
      return t < 0.5 ? a + (b - a) * t : b - (b - a) * (1 - t);
  }
}

/** The keep-th largest |w| (+Infinity for keep = 0). */
export function magnitudeThresholdRef(w: Float32Array, keep: number): number {
  if (keep === 0) return Number.POSITIVE_INFINITY;
  return sortAscendingRef(w, true)[w.length - keep];
}

/** mask[i] = |w[i]| >= threshold (> when strict), compared in f64. */
export function magnitudeMaskRef(w: Float32Array, threshold: number, strict = false): { mask: Uint8Array; kept: number } {
  const mask = new Uint8Array(w.length);
  let kept = 0;
  for (let i = 0; i < w.length; i++) {
    const a = Math.abs(w[i]);
    const keep = strict ? a > threshold : a >= threshold;
    mask[i] = keep ? 1 : 0;
    if (keep) kept++;
  }
  return { mask, kept };
}

export function applyMaskRef(x: Float32Array, mask: Uint8Array): Float32Array {
  return Float32Array.from(x, (v, i) => (mask[i] !== 0 ? v : 0));
}

export function countZerosRef(x: Float32Array): number {
  let count = 0;
  for (const v of x) if (v === 0) count++;
  return count;
}

export function countKeptRef(mask: Uint8Array): number {
  let count = 0;
  for (const m of mask) if (m !== 0) count++;
  return count;
}
