// KernelPool: runs kernel operations split over worker threads that share the kernels'
// WebAssembly.Memory, so only pointers travel. The calling thread takes one share of every
// phase itself; work below `minParallelNs` (a round trip costs ~30-100 µs) stays inline.
import { Packr } from "msgpackr";
import { availableParallelism } from "node:os";
import { Piscina } from "piscina";
import { kernels, type KernelCore } from "./core.js";
import { gemmF32Op, gemmQ8Op } from "./gemm.js";
import { callKernel, dealCalls, poolSettings, type KernelCall, type KernelOperation, type OperationBuilder } from "./operation.js";
import { findPackageFile } from "../util/package-files.js";
import { fakeQuantizeOp, quantizeOp } from "./quantize.js";
import { perTensor } from "./grouping.js";
import { quantParamsFromRange } from "./quant-params.js";

export interface KernelPoolOptions {
  /** Threads including the caller's (default: the machine's available parallelism). */
  threads?: number;
  /** Work estimated below this many nanoseconds runs inline (default 1 ms, see kernels-bench). */
  minParallelNs?: number;
  /** The kernels whose memory the workers share (default: this thread's). */
  core?: KernelCore;
}

const packr = new Packr({ useRecords: false });

export class KernelPool {
  readonly threads: number;
  readonly minParallelNs: number;
  readonly core: KernelCore;
  private readonly piscina: Piscina | undefined;
  private closed = false;

  private constructor(options: KernelPoolOptions) {
    const { threads, minParallelNs } = poolSettings("KernelPool", options.threads ?? availableParallelism(), options.minParallelNs);
    this.threads = threads;
    this.minParallelNs = minParallelNs;
    this.core = options.core ?? kernels();
    this.piscina = threads > 1
      ? new Piscina({
          filename: findPackageFile("dist/src/kernels/pool-worker.js", "run `npm run build` first"),
          minThreads: threads - 1,
          maxThreads: threads - 1,
          idleTimeout: Number.POSITIVE_INFINITY,
          workerData: { module: this.core.module, memory: this.core.memory },
        })
      : undefined;
  }

  /** Starts the workers and warms every thread up (the first calls of a wasm function run unoptimised). */
  static async create(options: KernelPoolOptions = {}): Promise<KernelPool> {
    const pool = new KernelPool(options);
    await pool.warmUp();
    return pool;
  }

  /** Runs an operation, split over the threads when its estimated cost is worth it. */
  async run<T>(build: OperationBuilder<T>, { forceSplit = false } = {}): Promise<T> {
    if (this.closed) throw new Error("KernelPool: the pool is closed; create a new one");
    const op = build(this.core, this.threads);
    const split = this.piscina !== undefined && (forceSplit || op.costNs >= this.minParallelNs);
    const results: number[][] = [];
    try {
      for (const phase of op.phases) {
        results.push(split ? await this.runPhase(phase) : phase.map((call) => callKernel(this.core, call)));
      }
      return op.finish(results);
    } finally {
      op.release();
    }
  }

  /** Deals the calls of one phase round-robin into one batch per thread; batch 0 runs here. */
  private async runPhase(calls: readonly KernelCall[]): Promise<number[]> {
    const batches = dealCalls(calls.length, this.threads);
    const remote = batches.slice(1).map((indices) =>
      (this.piscina as Piscina).run(packr.pack(indices.map((i) => calls[i]))).then((reply: Uint8Array) => {
        return { indices, values: packr.unpack(reply) as number[] };
      }),
    );
    const results = new Array<number>(calls.length);
    let localError: unknown;
    try {
      for (const i of batches[0] ?? []) results[i] = callKernel(this.core, calls[i]);
    } catch (error) {
      localError = error;
    }
    // wait for every worker before returning: their memory is freed right after this phase
    const settled = await Promise.allSettled(remote);
    if (localError !== undefined) throw localError;
    for (const outcome of settled) {
      if (outcome.status === "rejected") {
        const reason = outcome.reason instanceof Error ? outcome.reason.message : String(outcome.reason);
        throw new Error(`KernelPool: a worker failed: ${reason}`);
      }
      outcome.value.indices.forEach((index, j) => (results[index] = outcome.value.values[j]));
    }
    return results;
  }

  private async warmUp(): Promise<void> {
    const core = this.core;
    const n = 96;
    const a = core.alloc(Float32Array, n * n);
    const q = core.alloc(Int8Array, n * n);
    const out = core.alloc(Float32Array, n * n);
    const out32 = core.alloc(Int32Array, n * n);
    const outQ = core.alloc(Uint8Array, n * n);
    try {
      for (let i = 0; i < a.length; i++) a[i] = ((i * 7919) % 97) / 97 - 0.5;
      const params = quantParamsFromRange(new Float32Array([-0.5]), new Float32Array([0.5]), { bits: 8 }, perTensor());
      const ops: OperationBuilder<unknown>[] = [
        gemmF32Op(a, a, { m: n, n, k: n }, {}, out),
        gemmQ8Op({ data: q, zeroPoint: 0 }, { data: q, zeroPoint: 0 }, { m: n, n, k: n }, {}, out32),
        quantizeOp(a, params, outQ),
        fakeQuantizeOp(a, params, out),
      ];
      for (let round = 0; round < 3; round++) {
        for (const op of ops) await this.run(op, { forceSplit: true });
      }
    } finally {
      for (const array of [a, q, out, out32, outQ]) core.free(array);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.piscina?.destroy();
  }
}

export type { KernelOperation };
