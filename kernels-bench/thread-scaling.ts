// node dist/kernels-bench/thread-scaling.js [--reps 10] [--batch 128]
// How the synchronous kernel pool scales from 1 to 2 threads on the operations of a ResNet-20
// training step: a square GEMM (pure compute), the forward convolution and both of its
// gradients at ResNet-20's widest layer (batch 128, 28x28x16, 3x3), a relu over that
// layer's activations, and plain memory copies of that size and of 64 MB (memory traffic only:
// what the two cores' shared bandwidth allows), every array in kernel memory as in the backend. Each operation alternates
// between a 1-thread and a 2-thread pool (A B B A) so that both see the same machine moment;
// prints the best time of each and their ratio. Writes nothing.
import { gemmF32Op } from "../src/kernels/gemm.js";
import { conv2dBackpropFilterOp, conv2dBackpropInputOp, conv2dForwardOp } from "../src/kernels/conv2d.js";
import { convGeometry } from "../src/kernels/conv-geometry.js";
import { unaryOp } from "../src/kernels/elementwise.js";
import type { KernelCall, OperationBuilder } from "../src/kernels/operation.js";
import { splitCount } from "../src/util/ranges.js";
import { SyncKernelPool } from "../src/kernels/sync-pool.js";
import { enableRelaxedSimd } from "../src/kernels/wasm-module.js";

/** A positive integer flag, or its default. */
function flag(name: string, fallback: number): number {
  const at = process.argv.indexOf(name);
  const value = at < 0 ? fallback : Number(process.argv[at + 1]);
  if (!(Number.isInteger(value) && value > 0)) throw new Error(`thread-scaling: ${name} must be a positive integer, but got "${process.argv[at + 1]}"`);
  return value;
}
const reps = flag("--reps", 10);
const batch = flag("--batch", 128);

const random = (n: number): Float32Array => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898) * 0.5);

function compare(name: string, make: () => OperationBuilder<unknown>, pools: [SyncKernelPool, SyncKernelPool]): void {
  const best = [Infinity, Infinity];
  for (const pool of pools) pool.run(make(), { forceSplit: true });
  for (let r = 0; r < reps; r++) {
    for (const which of r % 2 === 0 ? [0, 1] : [1, 0]) {
      const t0 = performance.now();
      pools[which].run(make(), { forceSplit: true });
      best[which] = Math.min(best[which], performance.now() - t0);
    }
  }
  console.log(`${name.padEnd(44)} 1 thread ${best[0].toFixed(1).padStart(7)} ms   2 threads ${best[1].toFixed(1).padStart(7)} ms   speed-up ${(best[0] / best[1]).toFixed(2)}x`);
}

// Our own program may turn on relaxed SIMD (the library never does), before any kernel loads.
enableRelaxedSimd();
const pools: [SyncKernelPool, SyncKernelPool] = [new SyncKernelPool({ threads: 1 }), new SyncKernelPool({ threads: 2 })];
const n = 512;
const [a, b] = [random(n * n), random(n * n)];
compare(`GEMM ${n}^3`, () => gemmF32Op(a, b, { m: n, n, k: n }), pools);

// every array lives in kernel memory, as the backend keeps activations, weights and outputs:
// both pools share this thread's kernel memory, so either reads them in place
const core = pools[0].core;
const resident = (values: Float32Array): Float32Array => core.allocCopy(values);
const g = convGeometry([batch, 28, 28, 16], 3, { padding: "same" });
const x = resident(random(batch * 28 * 28 * 16));
const w = resident(random(3 * 3 * 16 * 16));
const dy = resident(random(batch * 28 * 28 * 16));
const [y, dx, dw] = [core.alloc(Float32Array, dy.length), core.alloc(Float32Array, x.length), core.alloc(Float32Array, w.length)];
compare(`conv 3x3 16->16, ${batch}x28x28: forward`, () => conv2dForwardOp(x, w, g, 16, {}, y), pools);
compare(`conv 3x3 16->16, ${batch}x28x28: input gradient`, () => conv2dBackpropInputOp(dy, w, g, 16, dx), pools);
compare(`conv 3x3 16->16, ${batch}x28x28: filter gradient`, () => conv2dBackpropFilterOp(x, dy, g, 16, dw), pools);
compare(`relu, ${batch}x28x28x16 in kernel memory`, () => unaryOp("relu", x, 0, y), pools);

/** memory.copy of `bytes` from src to dst, one contiguous share per thread. */
const copyOp = (src: number, dst: number, bytes: number): OperationBuilder<void> => (_core, parts) => ({
  phases: [splitCount(bytes / 64, parts).map(([l0, l1]): KernelCall => ["copy_bytes", [dst + l0 * 64, src + l0 * 64, (l1 - l0) * 64]])],
  costNs: bytes,
  finish: () => undefined,
  release: () => undefined,
});
for (const bytes of [x.byteLength, 64 * 2 ** 20]) {
  const [src, dst] = [core.malloc(bytes), core.malloc(bytes)];
  core.exports.fill_bytes(src, 1, bytes);
  compare(`memory copy, ${(bytes / 2 ** 20).toFixed(1)} MiB`, () => copyOp(src, dst, bytes), pools);
  core.free(src);
  core.free(dst);
}
for (const pool of pools) pool.close();
