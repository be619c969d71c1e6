// Timing and reporting shared by every kernels-bench family. Each family measures our kernel
// and its baseline on the same data in the same run, so a result is a ratio, not a noisy
// absolute time.

export interface BenchOptions {
  /** --quick: fewer sizes and repetitions, the whole run under 60 s. */
  quick: boolean;
}

export interface BenchEntry {
  /** Kernel name, e.g. "quantize 8-bit per tensor". */
  kernel: string;
  /** Problem size in words, e.g. "16M f32" or "512x512x512". */
  size: string;
  /** Unit of the throughput numbers, e.g. "GB/s", "GFLOP/s", "Melem/s". */
  unit: string;
  /** Our throughput (higher is better). */
  ours: number;
  /** What we compare against, e.g. "plain JS", "tfjs-wasm matMul", "memcpy", "sklearn Lasso". */
  baseline: string;
  /** The baseline's throughput in the same unit, or null when it could not run (see note). */
  baselineValue: number | null;
  /** ours / baselineValue. */
  ratio: number | null;
  /** A target from the issue, e.g. ">= 0.6 of memcpy". */
  target?: string;
  /** Whether the target was met in this run. */
  met?: boolean;
  note?: string;
}

export interface Timing {
  /** Best time of one call, in milliseconds. */
  bestMs: number;
  medianMs: number;
  runs: number;
}

/** Runs fn repeatedly for about minTimeMs after a warm-up and returns the best and median times. */
export function time(fn: () => unknown, minTimeMs: number, minRuns = 3): Timing {
  for (let i = 0; i < 2; i++) fn(); // warm-up: lets V8 tier the wasm and JS up
  const samples: number[] = [];
  const start = performance.now();
  while (samples.length < minRuns || performance.now() - start < minTimeMs) {
    const t0 = performance.now();
    fn();
    samples.push(performance.now() - t0);
    if (samples.length > 10_000) break;
  }
  samples.sort((a, b) => a - b);
  return { bestMs: samples[0], medianMs: samples[Math.floor(samples.length / 2)], runs: samples.length };
}

/** Same as time() for async functions (pool runs). */
export async function timeAsync(fn: () => Promise<unknown>, minTimeMs: number, minRuns = 3): Promise<Timing> {
  for (let i = 0; i < 2; i++) await fn();
  const samples: number[] = [];
  const start = performance.now();
  while (samples.length < minRuns || performance.now() - start < minTimeMs) {
    const t0 = performance.now();
    await fn();
    samples.push(performance.now() - t0);
    if (samples.length > 10_000) break;
  }
  samples.sort((a, b) => a - b);
  return { bestMs: samples[0], medianMs: samples[Math.floor(samples.length / 2)], runs: samples.length };
}

/** Builds an entry from throughputs, computing the ratio and the target check. */
export function entry(
  fields: Omit<BenchEntry, "ratio" | "met"> & { minRatio?: number },
): BenchEntry {
  const ratio = fields.baselineValue ? fields.ours / fields.baselineValue : null;
  const { minRatio, ...rest } = fields;
  const met = minRatio === undefined || ratio === null ? undefined : ratio >= minRatio;
  return { ...rest, ratio, ...(met === undefined ? {} : { met }) };
}

/** Throughput in units per second from a count of units per call and a time in ms. */
export const perSecond = (unitsPerCall: number, ms: number): number => unitsPerCall / (ms / 1000);

/**
 * Times several functions (sync or async) in alternation (a, b, c, a, b, c, ...) and returns each one's median,
 * in milliseconds. On a machine whose clock or neighbours change from second to second, a
 * kernel and its baseline timed side by side see the same conditions, and medians ignore the
 * short bursts that "best of" times pick up.
 */
export async function timeInterleaved<K extends string>(
  fns: Record<K, () => unknown>, minTimeMs: number, minRounds = 5,
): Promise<Record<K, number>> {
  const names = Object.keys(fns) as K[];
  const samples = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<K, number[]>;
  for (const name of names) await fns[name](); // warm-up
  const start = performance.now();
  let rounds = 0;
  while (rounds < minRounds || performance.now() - start < minTimeMs) {
    for (const name of names) {
      const t0 = performance.now();
      await fns[name]();
      samples[name].push(performance.now() - t0);
    }
    if (++rounds > 10_000) break;
  }
  const median = (xs: number[]): number => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return Object.fromEntries(names.map((n) => [n, median(samples[n])])) as Record<K, number>;
}

/** Pseudo-normal weights (sum of three uniforms) from a fixed seed, for the benches. */
export function fillWeights(w: Float32Array, seed: number): void {
  let s = seed >>> 0;
  const next = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
  for (let i = 0; i < w.length; i++) w[i] = (next() + next() + next() - 1.5) * 0.05;
}

/** Milliseconds and calls per kernel name, summed over tf.profile runs. */
export type KernelTimes = Map<string, { ms: number; calls: number }>;

/** Adds one tf.profile run's kernels into `times` (a kernel without a timing counts 0 ms). */
export function addKernelTimes(times: KernelTimes, kernels: ReadonlyArray<{ name: string; kernelTimeMs: unknown }>): KernelTimes {
  for (const k of kernels) {
    const sum = times.get(k.name) ?? { ms: 0, calls: 0 };
    times.set(k.name, { ms: sum.ms + (typeof k.kernelTimeMs === "number" ? k.kernelTimeMs : 0), calls: sum.calls + 1 });
  }
  return times;
}
