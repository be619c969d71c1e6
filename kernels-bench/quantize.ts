// Quantization kernels against plain JS on the same data, and against memory bandwidth.
import { kernels } from "../src/kernels/core.js";
import { perTensor } from "../src/kernels/grouping.js";
import { runInline } from "../src/kernels/operation.js";
import { quantParamsFromRange, type QuantParams } from "../src/kernels/quant-params.js";
import { dequantizeOp, fakeQuantizeOp, minMaxOp, quantizeOp } from "../src/kernels/quantize.js";
import { entry, time, type BenchEntry, type BenchOptions } from "./harness.js";
import type { MachineLimits } from "./limits.js";

// Plain-JS baselines: the loops a careful JS programmer writes (same rounding as ONNX).
function roundHalfEvenJs(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && (r & 1) !== 0 ? r - 1 : r;
}

function quantizeJs(x: Float32Array, scale: number, zp: number, qmin: number, qmax: number, out: Uint8Array): void {
  for (let i = 0; i < x.length; i++) {
    const q = roundHalfEvenJs(Math.fround(x[i] / scale)) + zp;
    out[i] = q < qmin ? qmin : q > qmax ? qmax : q;
  }
}

function dequantizeJs(q: Uint8Array, scale: number, zp: number, out: Float32Array): void {
  for (let i = 0; i < q.length; i++) out[i] = (q[i] - zp) * scale;
}

function fakeQuantizeJs(x: Float32Array, scale: number, zp: number, qmin: number, qmax: number, out: Float32Array): void {
  for (let i = 0; i < x.length; i++) {
    let q = roundHalfEvenJs(Math.fround(x[i] / scale)) + zp;
    q = q < qmin ? qmin : q > qmax ? qmax : q;
    out[i] = (q - zp) * scale;
  }
}

function minMaxJs(x: Float32Array): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

export async function benchQuantize(opts: BenchOptions, limits: MachineLimits): Promise<BenchEntry[]> {
  const core = kernels();
  const n = opts.quick ? 4 << 20 : 16 << 20;
  const size = `${n >> 20}M f32`;
  const minTime = opts.quick ? 300 : 1500;
  const x = core.alloc(Float32Array, n);
  const q = core.alloc(Uint8Array, n);
  const y = core.alloc(Float32Array, n);
  const jsQ = new Uint8Array(n);
  const jsY = new Float32Array(n);
  try {
    let seed = 1;
    for (let i = 0; i < n; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      x[i] = (seed / 2 ** 32) * 4 - 2;
    }
    const params: QuantParams = quantParamsFromRange(new Float32Array([-2]), new Float32Array([2]), { bits: 8 }, perTensor());
    const [scale, zp] = [params.scales[0], params.zeroPoints[0]];
    const cases: Array<{ kernel: string; bytesPerElement: number; ours: () => unknown; js: () => unknown }> = [
      { kernel: "quantize 8-bit per tensor", bytesPerElement: 5, ours: () => runInline(core, quantizeOp(x, params, q)), js: () => quantizeJs(x, scale, zp, 0, 255, jsQ) },
      { kernel: "dequantize 8-bit per tensor", bytesPerElement: 5, ours: () => runInline(core, dequantizeOp(q, params, y)), js: () => dequantizeJs(q, scale, zp, jsY) },
      { kernel: "fake-quantize 8-bit per tensor", bytesPerElement: 8, ours: () => runInline(core, fakeQuantizeOp(x, params, y)), js: () => fakeQuantizeJs(x, scale, zp, 0, 255, jsY) },
      { kernel: "min/max statistics", bytesPerElement: 4, ours: () => runInline(core, minMaxOp(x)), js: () => minMaxJs(x) },
    ];
    const entries: BenchEntry[] = [];
    for (const c of cases) {
      const ours = time(c.ours, minTime);
      const js = time(c.js, minTime);
      const gbps = (ms: number) => (n * c.bytesPerElement) / (ms / 1000) / 1e9;
      entries.push(entry({ kernel: c.kernel, size, unit: "GB/s", ours: gbps(ours.bestMs), baseline: "plain JS", baselineValue: gbps(js.bestMs), target: ">= 15x plain JS", minRatio: 15 }));
      entries.push(entry({ kernel: c.kernel, size, unit: "GB/s", ours: gbps(ours.bestMs), baseline: "memcpy (same run)", baselineValue: limits.memcpyGBps, target: ">= 0.6 of memcpy", minRatio: 0.6 }));
    }
    return entries;
  } finally {
    for (const a of [x, q, y]) core.free(a);
  }
}
