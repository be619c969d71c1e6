// The machine's limits, measured through the same wasm path in the same run:
// memory bandwidth (memory.copy) and the 128-bit SIMD float and integer peaks.
import type { KernelCore } from "../src/kernels/core.js";
import { time, type BenchOptions } from "./harness.js";

export interface MachineLimits {
  /** memory.copy bandwidth, counting bytes read + bytes written, GB/s. */
  memcpyGBps: number;
  /** f32x4 mul + add throughput, GFLOP/s (one thread). */
  f32PeakGflops: number;
  /** i32x4.dot_i16x8_s + add throughput, GOP/s (one thread, 2 ops per multiply-add). */
  i16DotPeakGops: number;
}

type PeakExports = {
  peak_f32_mul_add(iters: number, seed: number): number;
  peak_i16_dot(iters: number, ptr: number): number;
  copy_bytes(dst: number, src: number, n: number): void;
};

/** memory.copy of `bytes` bytes between two resident buffers, as GB/s of traffic (read + write). */
export function measureMemcpy(core: KernelCore, bytes: number, minTimeMs: number): number {
  const src = core.malloc(bytes);
  const dst = core.malloc(bytes);
  try {
    const e = core.exports as unknown as PeakExports;
    core.exports.fill_bytes(src, 1, bytes);
    const t = time(() => e.copy_bytes(dst, src, bytes), minTimeMs);
    return (2 * bytes) / (t.bestMs / 1000) / 1e9;
  } finally {
    core.free(src);
    core.free(dst);
  }
}

export function measureLimits(core: KernelCore, opts: BenchOptions, memcpyBytes: number): MachineLimits {
  const e = core.exports as unknown as PeakExports;
  const minTime = opts.quick ? 150 : 600;
  const iters = 2_000_000;
  const f32 = time(() => e.peak_f32_mul_add(iters, 1), minTime);
  const scratch = core.malloc(256);
  let dot;
  try {
    dot = time(() => e.peak_i16_dot(iters, scratch), minTime);
  } finally {
    core.free(scratch);
  }
  return {
    memcpyGBps: measureMemcpy(core, memcpyBytes, minTime),
    f32PeakGflops: (iters * 12 * 4) / (f32.bestMs / 1000) / 1e9,
    i16DotPeakGops: (iters * 8 * 16) / (dot.bestMs / 1000) / 1e9,
  };
}

/**
 * Peak probes sized to run about `seconds` each, to be timed in alternation with a kernel.
 * f32Ops / i16Ops are the operations one call performs.
 */
export function peakCalls(core: KernelCore, seconds: number): { f32: () => void; i16: () => void; f32Ops: number; i16Ops: number; release: () => void } {
  const e = core.exports as unknown as PeakExports;
  const f32Iters = Math.max(1000, Math.round((seconds * 20e9) / 48));
  const i16Iters = Math.max(1000, Math.round((seconds * 45e9) / 128));
  const scratch = core.malloc(256);
  core.exports.fill_bytes(scratch, 1, 256);
  return {
    f32: () => e.peak_f32_mul_add(f32Iters, 1),
    i16: () => e.peak_i16_dot(i16Iters, scratch),
    f32Ops: f32Iters * 48,
    i16Ops: i16Iters * 128,
    release: () => core.free(scratch),
  };
}
