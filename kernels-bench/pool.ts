// Scaling over the KernelPool: one thread against two on GEMM 1024^3 and quantize 16M, and
// the size below which splitting a job costs more than it saves (the inline cut-over).
import { kernels } from "../src/kernels/core.js";
import { gemmF32Op } from "../src/kernels/gemm.js";
import { perTensor } from "../src/kernels/grouping.js";
import { runInline, type OperationBuilder } from "../src/kernels/operation.js";
import { KernelPool } from "../src/kernels/pool.js";
import { quantParamsFromRange } from "../src/kernels/quant-params.js";
import { quantizeOp } from "../src/kernels/quantize.js";
import { entry, time, timeAsync, timeInterleaved, type BenchEntry, type BenchOptions } from "./harness.js";

export async function benchPool(opts: BenchOptions): Promise<BenchEntry[]> {
  const core = kernels();
  const pool = await KernelPool.create({ threads: 2 });
  const minTime = opts.quick ? 400 : 2000;
  const entries: BenchEntry[] = [];
  try {
    // the ceiling: how far pure register arithmetic (no memory traffic) scales on this machine
    const iters = 2_000_000;
    const probe: OperationBuilder<number> = (_core, parts) => ({
      phases: [Array.from({ length: parts }, () => ["peak_f32_mul_add", [Math.round((iters * 2) / parts), 1]] as const)],
      costNs: 1e9,
      finish: () => 0,
      release: () => {},
    });
    const pk = await timeInterleaved({ one: () => runInline(core, probe), two: () => pool.run(probe, { forceSplit: true }) }, minTime);
    const peakOps = (ms: number) => (iters * 2 * 48) / (ms / 1000) / 1e9;
    entries.push(entry({ kernel: "f32 peak probe, 2 threads (machine ceiling)", size: "registers only", unit: "GFLOP/s", ours: peakOps(pk.two), baseline: "1 thread (timed alternately)", baselineValue: peakOps(pk.one), note: "what 2 threads can gain here at best" }));

    const n = opts.quick ? 768 : 1024;
    const a = core.alloc(Float32Array, n * n);
    const c = core.alloc(Float32Array, n * n);
    for (let i = 0; i < a.length; i++) a[i] = Math.sin(i);
    const gemm = gemmF32Op(a, a, { m: n, n, k: n }, {}, c);
    // one and two threads timed alternately (medians): both see the same clock and neighbours
    const g = await timeInterleaved({ one: () => runInline(core, gemm), two: () => pool.run(gemm, { forceSplit: true }) }, minTime * 2);
    const gflops = (ms: number) => (2 * n ** 3) / (ms / 1000) / 1e9;
    entries.push(entry({ kernel: "fp32 GEMM, 2 threads", size: `${n}^3`, unit: "GFLOP/s", ours: gflops(g.two), baseline: "1 thread (timed alternately)", baselineValue: gflops(g.one), target: ">= 1.8x on 2 threads", minRatio: 1.8 }));
    core.free(a);
    core.free(c);

    const count = opts.quick ? 4 << 20 : 16 << 20;
    const x = core.alloc(Float32Array, count);
    const q = core.alloc(Uint8Array, count);
    for (let i = 0; i < count; i++) x[i] = Math.sin(i);
    const params = quantParamsFromRange(new Float32Array([-1]), new Float32Array([1]), { bits: 8 }, perTensor());
    const quant = quantizeOp(x, params, q);
    const qt = await timeInterleaved({ one: () => runInline(core, quant), two: () => pool.run(quant, { forceSplit: true }) }, minTime * 2);
    const melem = (ms: number) => count / (ms / 1000) / 1e6;
    entries.push(entry({ kernel: "quantize 8-bit, 2 threads", size: `${count >> 20}M f32`, unit: "Melem/s", ours: melem(qt.two), baseline: "1 thread (timed alternately)", baselineValue: melem(qt.one), target: ">= 1.8x on 2 threads", minRatio: 1.8 }));

    // cut-over: the smallest size at which the split run beats the inline run
    let cutOver: number | null = null;
    for (let size = 4096; size <= count; size *= 2) {
      const view = x.subarray(0, size);
      const out = q.subarray(0, size);
      const op = quantizeOp(view, params, out);
      const inline = time(() => runInline(core, op), opts.quick ? 40 : 150);
      const split = await timeAsync(() => pool.run(op, { forceSplit: true }), opts.quick ? 40 : 150);
      if (split.medianMs < inline.medianMs) {
        cutOver = size;
        entries.push(entry({ kernel: "pool cut-over (quantize)", size: `${size} f32`, unit: "µs inline", ours: inline.medianMs * 1000, baseline: "µs split over 2 threads", baselineValue: split.medianMs * 1000, note: `splitting starts to pay at ~${size} elements (~${(inline.medianMs * 1000).toFixed(0)} µs of work)` }));
        break;
      }
    }
    if (cutOver === null) entries.push(entry({ kernel: "pool cut-over (quantize)", size: "-", unit: "-", ours: 0, baseline: "-", baselineValue: null, note: "splitting never paid in this run" }));
    core.free(x);
    core.free(q);
  } finally {
    await pool.close();
  }
  return entries;
}
