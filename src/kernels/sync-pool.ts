// SyncKernelPool: the synchronous twin of KernelPool, for callers that cannot await — tfjs
// kernels run synchronously inside a training step. Workers share the kernels' memory; the
// caller writes each worker's calls into a shared control block, wakes it with Atomics.notify,
// runs its own share, then waits for the others with Atomics.wait (allowed on Node's main
// thread). Calls travel as numbers: an export index and its arguments.
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { kernels, type KernelCore } from "./core.js";
import { callKernel, dealCalls, poolSettings, type KernelCall, type OperationBuilder } from "./operation.js";

/** Float64 slots per worker for calls: [count, (fnIndex, argc, ...args)*]. */
const TASK_SLOTS = 4096;
/** Bytes per worker for an error message. */
const ERROR_BYTES = 1024;
// control words per worker: 0 = task generation, 1 = done generation, 2 = failed flag, 3 = message length
const CONTROL_WORDS = 4;

const WORKER_SOURCE = `
const { workerData } = require("node:worker_threads");
const { module, memory, control, tasks, results, errors, index, names } = workerData;
const instance = new WebAssembly.Instance(module, { env: { memory, abort() { throw new Error("wasm abort"); } } });
const fns = names.map((name) => instance.exports[name]);
const ctrl = new Int32Array(control);
const base = index * ${CONTROL_WORDS};
const task = new Float64Array(tasks, index * ${TASK_SLOTS} * 8, ${TASK_SLOTS});
const out = new Float64Array(results, index * ${TASK_SLOTS} * 8, ${TASK_SLOTS});
const err = new Uint8Array(errors, index * ${ERROR_BYTES}, ${ERROR_BYTES});
let seen = 0;
for (;;) {
  Atomics.wait(ctrl, base, seen);
  seen = Atomics.load(ctrl, base);
  if (seen < 0) break;
  try {
    const count = task[0];
    let p = 1;
    for (let c = 0; c < count; c++) {
      const fn = fns[task[p]];
      const argc = task[p + 1];
      const args = Array.from(task.subarray(p + 2, p + 2 + argc));
      out[c] = fn(...args) ?? 0;
      p += 2 + argc;
    }
    ctrl[base + 2] = 0;
  } catch (e) {
    const bytes = new TextEncoder().encode(String(e && e.message || e)).subarray(0, ${ERROR_BYTES});
    err.set(bytes);
    ctrl[base + 3] = bytes.length;
    ctrl[base + 2] = 1;
  }
  Atomics.store(ctrl, base + 1, seen);
  Atomics.notify(ctrl, base + 1);
}
`;

export interface SyncKernelPoolOptions {
  /** Threads including the caller's (default: available parallelism). */
  threads?: number;
  /** Work estimated below this many nanoseconds runs inline (default 1 ms). */
  minParallelNs?: number;
  core?: KernelCore;
}

export class SyncKernelPool {
  readonly threads: number;
  readonly minParallelNs: number;
  readonly core: KernelCore;
  private readonly workers: Worker[] = [];
  private readonly control: Int32Array;
  private readonly tasks: Float64Array;
  private readonly results: Float64Array;
  private readonly errors: Uint8Array;
  private readonly indexOf = new Map<string, number>();
  private generation = 0;
  private closed = false;

  constructor(options: SyncKernelPoolOptions = {}) {
    const { threads, minParallelNs } = poolSettings("SyncKernelPool", options.threads ?? availableParallelism(), options.minParallelNs);
    this.threads = threads;
    this.minParallelNs = minParallelNs;
    this.core = options.core ?? kernels();
    const workers = threads - 1;
    const control = new SharedArrayBuffer(Math.max(1, workers) * CONTROL_WORDS * 4);
    const tasks = new SharedArrayBuffer(Math.max(1, workers) * TASK_SLOTS * 8);
    const results = new SharedArrayBuffer(Math.max(1, workers) * TASK_SLOTS * 8);
    const errors = new SharedArrayBuffer(Math.max(1, workers) * ERROR_BYTES);
    this.control = new Int32Array(control);
    this.tasks = new Float64Array(tasks);
    this.results = new Float64Array(results);
    this.errors = new Uint8Array(errors);
    const names = WebAssembly.Module.exports(this.core.module).filter((e) => e.kind === "function").map((e) => e.name);
    names.forEach((name, i) => this.indexOf.set(name, i));
    for (let index = 0; index < workers; index++) {
      const worker = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { module: this.core.module, memory: this.core.memory, control, tasks, results, errors, index, names },
      });
      worker.unref(); // an idle pool never keeps the process alive
      this.workers.push(worker);
    }
  }

  /** Runs an operation, split over the threads when its estimated cost is worth it. */
  run<T>(build: OperationBuilder<T>, { forceSplit = false } = {}): T {
    if (this.closed) throw new Error("SyncKernelPool: the pool is closed; create a new one");
    const op = build(this.core, this.threads);
    try {
      const split = this.workers.length > 0 && (forceSplit || op.costNs >= this.minParallelNs);
      const results = op.phases.map((phase) => (split ? this.runPhase(phase) : phase.map((call) => callKernel(this.core, call))));
      return op.finish(results);
    } finally {
      op.release();
    }
  }

  private runPhase(calls: readonly KernelCall[]): number[] {
    const batches = dealCalls(calls.length, this.threads);
    const generation = ++this.generation;
    const busy = batches.length - 1;
    // encode every batch before waking anyone, so a bad call cannot leave a worker running
    const encoded = batches.slice(1).map((batch) => this.encode(batch.map((i) => calls[i])));
    encoded.forEach((task, w) => this.post(w, task, generation));
    const results = new Array<number>(calls.length);
    let localError: unknown;
    try {
      for (const i of batches[0] ?? []) results[i] = callKernel(this.core, calls[i]);
    } catch (error) {
      localError = error;
    }
    let workerError: string | undefined;
    for (let w = 0; w < busy; w++) {
      const base = w * CONTROL_WORDS;
      for (;;) {
        const done = Atomics.load(this.control, base + 1);
        if (done === generation) break;
        Atomics.wait(this.control, base + 1, done);
      }
      if (this.control[base + 2] === 1) {
        const length = this.control[base + 3];
        workerError ??= new TextDecoder().decode(this.errors.slice(w * ERROR_BYTES, w * ERROR_BYTES + length));
        continue;
      }
      batches[w + 1].forEach((index, j) => (results[index] = this.results[w * TASK_SLOTS + j]));
    }
    if (localError !== undefined) throw localError;
    if (workerError !== undefined) throw new Error(`SyncKernelPool: a worker failed: ${workerError}`);
    return results;
  }

  private encode(calls: KernelCall[]): Float64Array {
    const task = new Float64Array(1 + calls.reduce((n, [, args]) => n + 2 + args.length, 0));
    if (task.length > TASK_SLOTS) throw new Error(`SyncKernelPool: a batch of ${calls.length} calls does not fit one task`);
    task[0] = calls.length;
    let p = 1;
    for (const [fn, args] of calls) {
      const index = this.indexOf.get(fn);
      if (index === undefined) throw new Error(`pocketflow kernels: no kernel named ${fn}`);
      task[p] = index;
      task[p + 1] = args.length;
      task.set(args, p + 2);
      p += 2 + args.length;
    }
    return task;
  }

  private post(worker: number, task: Float64Array, generation: number): void {
    this.tasks.set(task, worker * TASK_SLOTS);
    const base = worker * CONTROL_WORDS;
    Atomics.store(this.control, base, generation);
    Atomics.notify(this.control, base);
  }

  /** Stops the workers. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (let w = 0; w < this.workers.length; w++) {
      Atomics.store(this.control, w * CONTROL_WORDS, -1);
      Atomics.notify(this.control, w * CONTROL_WORDS);
    }
    for (const worker of this.workers) void worker.terminate();
  }
}
