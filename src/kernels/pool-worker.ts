// A KernelPool worker: one wasm instance over the pool's shared memory. Tasks are
// msgpackr-encoded batches of kernel calls on pointers; results go back the same way.
import { Packr } from "msgpackr";
import { workerData } from "node:worker_threads";
import { callKernel, type KernelCall } from "./operation.js";
import { instantiateKernels } from "./wasm-module.js";

interface PoolWorkerData {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
}

const { module, memory } = workerData as PoolWorkerData;
const instance = { exports: instantiateKernels(module, memory) as unknown as Record<string, unknown> };
const packr = new Packr({ useRecords: false });

export default function runBatch(task: Uint8Array): Uint8Array {
  const calls = packr.unpack(task) as KernelCall[];
  return packr.pack(calls.map((call) => callKernel(instance, call)));
}
