// Where the backend's kernels run their operations: inline, or split over a SyncKernelPool
// (tfjs kernels are synchronous, so the asynchronous KernelPool cannot serve them).
import { checkInteger } from "../kernels/check.js";
import { kernels } from "../kernels/core.js";
import { runInline, type OperationBuilder } from "../kernels/operation.js";
import { SyncKernelPool } from "../kernels/sync-pool.js";

// One thread by default: in a whole ResNet-20 training step, splitting the convolutions over
// 2 threads measured no gain here (30 vs 33 img/s, noise-level), because the copies in and out,
// the element-wise kernels and tfjs's own work stay serial. setBackendThreads opts in.
let threads = 1;
let pool: SyncKernelPool | undefined;

/** Threads the backend's kernels may use, the caller's included (1 = inline only). */
export function setBackendThreads(count: number): void {
  checkInteger("setBackendThreads", "count", count, 1);
  if (count === threads) return;
  pool?.close();
  pool = undefined;
  threads = count;
}

export const backendThreads = (): number => threads;

/** Runs an operation for a backend kernel; big ones are split over the threads. */
export function runKernelOp<T>(build: OperationBuilder<T>): T {
  if (threads === 1) return runInline(kernels(), build);
  pool ??= new SyncKernelPool({ threads });
  return pool.run(build);
}
