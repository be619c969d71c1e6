// A kernel operation is data: phases of wasm calls over pointers into the shared memory.
// Calls inside one phase touch disjoint outputs and may run on different threads; a phase
// starts when the previous one has finished. The same operation runs inline (runInline)
// or split over the KernelPool, so the façades describe the work once.
import { checkInteger } from "../util/check.js";
import type { KernelCore } from "./core.js";

/** One wasm export call: its name and numeric arguments. Returns the export's number result. */
export type KernelCall = readonly [fn: string, args: readonly number[]];

export interface KernelOperation<T> {
  /** Phases of calls; the calls inside a phase are independent. */
  readonly phases: readonly (readonly KernelCall[])[];
  /** Estimated single-thread time, in nanoseconds, used to decide whether to split. */
  readonly costNs: number;
  /** Builds the result from each phase's call results; runs after all phases. */
  finish(results: number[][]): T;
  /** Frees temporaries. Always called, also on failure. */
  release(): void;
}

/** A builder of an operation split into at most `parts` independent pieces per phase. */
export type OperationBuilder<T> = (core: KernelCore, parts: number) => KernelOperation<T>;

export function callKernel(core: KernelCore | { exports: Record<string, unknown> }, call: KernelCall): number {
  const fn = core.exports[call[0]] as ((...a: number[]) => number | undefined) | undefined;
  if (typeof fn !== "function") throw new Error(`pocketflow kernels: no kernel named ${call[0]}`);
  return fn(...call[1]) ?? 0;
}

/**
 * Runs an operation on the calling thread. With parts > 1 the operation is split as the pool
 * would split it and every piece runs here in turn (tests use this to check the split).
 */
export function runInline<T>(core: KernelCore, build: OperationBuilder<T>, parts = 1): T {
  const op = build(core, parts);
  try {
    const results = op.phases.map((phase) => phase.map((call) => callKernel(core, call)));
    return op.finish(results);
  } finally {
    op.release();
  }
}

/** A sub-range of a grouped tensor: [start, start + length), whose first element uses `firstGroup`. */
export interface GroupedRange {
  start: number;
  length: number;
  firstGroup: number;
}

/**
 * Splits n elements grouped as (inner, groups) into at most `parts` ranges that start on a
 * group boundary (a row when inner == 1) and on a multiple of 16 elements where possible,
 * so that each range is a valid kernel call on its own.
 */
export function splitGrouped(n: number, inner: number, groups: number, parts: number): GroupedRange[] {
  const unit = groups === 1 ? 16 : inner === 1 ? groups : inner;
  const units = Math.ceil(n / unit);
  const count = Math.max(1, Math.min(parts, units));
  const ranges: GroupedRange[] = [];
  let unitStart = 0;
  for (let p = 0; p < count; p++) {
    const unitEnd = Math.round(((p + 1) * units) / count);
    const start = unitStart * unit;
    const end = Math.min(n, unitEnd * unit);
    if (end > start) {
      const firstGroup = groups > 1 && inner > 1 ? unitStart % groups : 0;
      ranges.push({ start, length: end - start, firstGroup });
    }
    unitStart = unitEnd;
  }
  if (ranges.length === 0) ranges.push({ start: 0, length: n, firstGroup: 0 });
  return ranges;
}

/** Thread count and cut-over shared by both pools, checked where a pool is created. */
export function poolSettings(where: string, threads: number, minParallelNs: number | undefined): { threads: number; minParallelNs: number } {
  checkInteger(where, "threads", threads, 1);
  return { threads, minParallelNs: minParallelNs ?? 1_000_000 };
}

/** Deals the indices of a phase's calls round-robin into one batch per thread (batch 0: the caller's). */
export function dealCalls(callCount: number, threads: number): number[][] {
  const batches: number[][] = Array.from({ length: Math.min(threads, callCount) }, () => []);
  for (let i = 0; i < callCount; i++) batches[i % batches.length].push(i);
  return batches;
}
