// Where the backend's kernels run their operations: inline, or split over a SyncKernelPool
// (tfjs kernels are synchronous, so the asynchronous KernelPool cannot serve them).
import { checkInteger } from "../util/check.js";
import { kernels } from "../kernels/core.js";
import { runInline, type OperationBuilder } from "../kernels/operation.js";
import { SyncKernelPool } from "../kernels/sync-pool.js";

// One thread by default, so that the backend takes no core it was not given; setBackendThreads
// opts in (ResNet-20 training on 2 threads: 1.4-1.6x, bench:train's thread entry).
let threads = 1;
/** One pool per thread count asked for, kept so that switching back and forth costs no restart. */
const pools = new Map<number, SyncKernelPool>();

/** Threads the backend's kernels may use, the caller's included (1 = inline only). */
export function setBackendThreads(count: number): void {
  checkInteger("setBackendThreads", "count", count, 1);
  threads = count;
}

export const backendThreads = (): number => threads;

/** Runs an operation for a backend kernel; big ones are split over the threads. */
export function runKernelOp<T>(build: OperationBuilder<T>): T {
  if (threads === 1) return runInline(kernels(), build);
  let pool = pools.get(threads);
  if (pool === undefined) {
    pool = new SyncKernelPool({ threads });
    pools.set(threads, pool);
  }
  return pool.run(build);
}
