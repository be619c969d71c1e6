// GEMM against plain JS, against tfjs-wasm (XNNPACK) matMul, and against the SIMD peak,
// all measured in the same run.
import { kernels } from "../src/kernels/core.js";
import { gemmF32Op, gemmQ8Op } from "../src/kernels/gemm.js";
import { runInline } from "../src/kernels/operation.js";
import { entry, time, timeInterleaved, type BenchEntry, type BenchOptions } from "./harness.js";
import { peakCalls, type MachineLimits } from "./limits.js";

function gemmJs(a: Float32Array, b: Float32Array, c: Float32Array, n: number): void {
  // i-k-j order: the fastest plain-JS loop order (row of B streamed)
  c.fill(0);
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < n; p++) {
      const av = a[i * n + p];
      const bRow = p * n;
      const cRow = i * n;
      for (let j = 0; j < n; j++) c[cRow + j] += av * b[bRow + j];
    }
  }
}

// The same loop as gemmJs, kept apart on purpose: one function fed two array types becomes
// polymorphic in V8 and would make the plain-JS baseline slower than a JS programmer's code.
function gemmInt8Js(a: Int8Array, b: Int8Array, c: Int32Array, n: number): void {
  c.fill(0);
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < n; p++) {
      const av = a[i * n + p];
      const bRow = p * n;
      const cRow = i * n;
      for (let j = 0; j < n; j++) c[cRow + j] += av * b[bRow + j];
    }
  }
}

/** A synchronous n×n×n tfjs-wasm matMul call, or a note why tfjs-wasm could not start. */
async function tfjsWasmMatMul(n: number): Promise<{ call: () => void; dispose: () => void } | string> {
  try {
    const tf = await import("@tensorflow/tfjs-core");
    await import("@tensorflow/tfjs-backend-wasm");
    if (!(await tf.setBackend("wasm"))) return "tfjs-wasm backend did not initialise";
    await tf.ready();
    const a = tf.randomNormal([n, n]);
    const b = tf.randomNormal([n, n]);
    return {
      call: () => {
        const c = tf.matMul(a, b);
        c.dataSync();
        c.dispose();
      },
      dispose: () => {
        a.dispose();
        b.dispose();
      },
    };
  } catch (error) {
    return `tfjs-wasm unavailable: ${error instanceof Error ? error.message : String(error)}`;
  }
}

export async function benchGemm(opts: BenchOptions, _limits: MachineLimits): Promise<BenchEntry[]> {
  const core = kernels();
  const n = 512;
  const jsN = opts.quick ? 256 : 512;
  const minTime = opts.quick ? 400 : 2000;
  const size = `${n}x${n}x${n}`;
  const flops = 2 * n ** 3;
  const a = core.alloc(Float32Array, n * n);
  const b = core.alloc(Float32Array, n * n);
  const c = core.alloc(Float32Array, n * n);
  const qa = core.alloc(Int8Array, n * n);
  const qb = core.alloc(Int8Array, n * n);
  const qc = core.alloc(Int32Array, n * n);
  try {
    for (let i = 0; i < n * n; i++) {
      a[i] = Math.sin(i) * 0.5;
      b[i] = Math.cos(i * 0.7) * 0.5;
      qa[i] = ((i * 37) % 255) - 127;
      qb[i] = ((i * 91) % 255) - 127;
    }
    // each GEMM is timed in alternation with the peak probe and tfjs call it is compared to (medians)
    const peaks = peakCalls(core, flops / 20e9);
    const tfjs = await tfjsWasmMatMul(n);
    const f32Call = () => runInline(core, gemmF32Op(a, b, { m: n, n, k: n }, {}, c));
    const q8Call = () => runInline(core, gemmQ8Op({ data: qa, zeroPoint: 0 }, { data: qb, zeroPoint: 0 }, { m: n, n, k: n }, {}, qc));
    const vsPeak = await timeInterleaved({ f32: f32Call, f32Peak: peaks.f32, q8: q8Call, i16Peak: peaks.i16 }, minTime * 2);
    const vsTfjs = typeof tfjs === "string" ? null : await timeInterleaved({ f32: f32Call, tfjs: tfjs.call }, minTime);
    const medians = { ...vsPeak, tfjs: vsTfjs?.tfjs ?? 0 };
    peaks.release();
    const tfjsGflops = typeof tfjs === "string" ? tfjs : flops / (medians.tfjs / 1000) / 1e9;
    if (typeof tfjs !== "string") tfjs.dispose();
    const oursF32 = flops / (medians.f32 / 1000) / 1e9;
    const oursF32VsTfjs = vsTfjs ? flops / (vsTfjs.f32 / 1000) / 1e9 : oursF32;
    const oursQ8 = flops / (medians.q8 / 1000) / 1e9;
    const f32Peak = peaks.f32Ops / (medians.f32Peak / 1000) / 1e9;
    const i16Peak = peaks.i16Ops / (medians.i16Peak / 1000) / 1e9;
    const jsC = new Float32Array(jsN * jsN);
    const jsF32 = time(() => gemmJs(a.subarray(0, jsN * jsN), b.subarray(0, jsN * jsN), jsC, jsN), minTime / 2, 2);
    const jsQ8 = time(() => gemmInt8Js(qa.subarray(0, jsN * jsN), qb.subarray(0, jsN * jsN), new Int32Array(jsN * jsN), jsN), minTime / 2, 2);
    const jsFlops = 2 * jsN ** 3;
    const jsNote = jsN === n ? undefined : `plain JS measured at ${jsN}^3`;
    return [
      entry({ kernel: "fp32 GEMM", size, unit: "GFLOP/s", ours: oursF32, baseline: "f32x4 mul+add peak (timed alternately)", baselineValue: f32Peak, target: ">= 0.8 of the float peak", minRatio: 0.8 }),
      entry({ kernel: "fp32 GEMM", size, unit: "GFLOP/s", ours: oursF32VsTfjs, baseline: "tfjs-wasm matMul, XNNPACK (timed alternately)", baselineValue: typeof tfjsGflops === "number" ? tfjsGflops : null, target: ">= 2x tfjs-wasm", minRatio: 2, ...(typeof tfjsGflops === "string" ? { note: tfjsGflops } : {}) }),
      entry({ kernel: "fp32 GEMM", size, unit: "GFLOP/s", ours: oursF32, baseline: "plain JS", baselineValue: jsFlops / (jsF32.bestMs / 1000) / 1e9, ...(jsNote ? { note: jsNote } : {}) }),
      entry({ kernel: "int8 GEMM", size, unit: "GOP/s", ours: oursQ8, baseline: "i16 dot peak (timed alternately)", baselineValue: i16Peak, target: ">= 0.8 of the integer peak", minRatio: 0.8 }),
      entry({ kernel: "int8 GEMM", size, unit: "GOP/s", ours: oursQ8, baseline: "our fp32 GEMM", baselineValue: oursF32, target: ">= 1.6x our fp32", minRatio: 1.6 }),
      entry({ kernel: "int8 GEMM", size, unit: "GOP/s", ours: oursQ8, baseline: "plain JS", baselineValue: jsFlops / (jsQ8.bestMs / 1000) / 1e9, ...(jsNote ? { note: jsNote } : {}) }),
    ];
  } finally {
    for (const x of [a, b, c, qa, qb, qc]) core.free(x);
  }
}
