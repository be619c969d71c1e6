// im2col / col2im and requantization against plain JS on the same data in the same run, and
// im2col against memcpy of its output byte count (its physical limit: it writes every output
// byte once and reads the input from cache). All arrays live in kernel memory, so no copies
// are timed. Plain JS baselines are checked against the kernels before they are timed.
import { convGeometry, inputSize, type ConvGeometry } from "../src/kernels/conv-geometry.js";
import { kernels, type KernelCore } from "../src/kernels/core.js";
import { col2im, im2col, im2colQuantized } from "../src/kernels/im2col.js";
import { quantizeMultipliers, requantize, type RequantizeSpec } from "../src/kernels/requantize.js";
import { entry, perSecond, time, type BenchEntry, type BenchOptions } from "./harness.js";

// ---------------------------------------------------------------- plain JS baselines

/** im2col as a straightforward JS loop (the shape of tfjs-backend-cpu's conv loops). */
function im2colJS(x: Float32Array | Int8Array, g: ConvGeometry, padValue: number, out: Float32Array | Int8Array): void {
  const C = g.inChannels;
  let o = 0;
  for (let n = 0; n < g.batch; n++) {
    for (let oy = 0; oy < g.outHeight; oy++) {
      for (let ox = 0; ox < g.outWidth; ox++) {
        for (let ky = 0; ky < g.kernelHeight; ky++) {
          const iy = oy * g.strideHeight - g.padTop + ky * g.dilationHeight;
          for (let kx = 0; kx < g.kernelWidth; kx++) {
            const ix = ox * g.strideWidth - g.padLeft + kx * g.dilationWidth;
            if (iy < 0 || iy >= g.inHeight || ix < 0 || ix >= g.inWidth) {
              for (let c = 0; c < C; c++) out[o++] = padValue;
            } else {
              const base = ((n * g.inHeight + iy) * g.inWidth + ix) * C;
              for (let c = 0; c < C; c++) out[o++] = x[base + c];
            }
          }
        }
      }
    }
  }
}

function col2imJS(cols: Float32Array, g: ConvGeometry, dx: Float32Array): void {
  dx.fill(0);
  const C = g.inChannels;
  let i = 0;
  for (let n = 0; n < g.batch; n++) {
    for (let oy = 0; oy < g.outHeight; oy++) {
      for (let ox = 0; ox < g.outWidth; ox++) {
        for (let ky = 0; ky < g.kernelHeight; ky++) {
          const iy = oy * g.strideHeight - g.padTop + ky * g.dilationHeight;
          for (let kx = 0; kx < g.kernelWidth; kx++, i += C) {
            const ix = ox * g.strideWidth - g.padLeft + kx * g.dilationWidth;
            if (iy < 0 || iy >= g.inHeight || ix < 0 || ix >= g.inWidth) continue;
            const base = ((n * g.inHeight + iy) * g.inWidth + ix) * C;
            for (let c = 0; c < C; c++) dx[base + c] += cols[i + c];
          }
        }
      }
    }
  }
}

/**
 * Exact gemmlowp requantization in plain JS numbers, per-column constants hoisted: the 62-bit
 * product is split in 16-bit halves so that every partial product is exact in a double.
 */
function requantizeJS(acc: Int32Array, rows: number, cols: number, spec: RequantizeSpec, out: Int8Array): void {
  const pick = (a: Int32Array, c: number): number => a[a.length === 1 ? 0 : c];
  const mHigh = Float64Array.from({ length: cols }, (_, c) => pick(spec.multipliers, c) >>> 16);
  const mLow = Float64Array.from({ length: cols }, (_, c) => pick(spec.multipliers, c) & 0xffff);
  const leftMul = Float64Array.from({ length: cols }, (_, c) => 2 ** Math.max(pick(spec.shifts, c), 0));
  const right = Int32Array.from({ length: cols }, (_, c) => Math.max(-pick(spec.shifts, c), 0));
  const mask = Int32Array.from(right, (e) => 2 ** e - 1);
  const bias = spec.bias ?? new Int32Array(cols);
  const lo = (spec.min ?? -128) - spec.zeroPoint;
  const hi = (spec.max ?? 127) - spec.zeroPoint;
  const zp = spec.zeroPoint;
  for (let r = 0, i = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++, i++) {
      let v = (acc[i] + bias[c]) | 0;
      if (leftMul[c] !== 1) v = Math.max(-2147483648, Math.min(2147483647, v * leftMul[c]));
      const p1 = v * mHigh[c];
      const high = Math.floor(p1 / 32768);
      v = high + Math.floor(((p1 - high * 32768) * 65536 + v * mLow[c] + 1073741824) / 2147483648);
      const e = right[c];
      if (e > 0) v = (v >> e) + ((v & mask[c]) > (mask[c] >> 1) + (v < 0 ? 1 : 0) ? 1 : 0);
      out[i] = (v < lo ? lo : v > hi ? hi : v) + zp;
    }
  }
}

// ---------------------------------------------------------------- helpers

function fillRandom(a: Float32Array | Int32Array | Int8Array, lo: number, hi: number, seed: number): void {
  let s = seed >>> 0;
  for (let i = 0; i < a.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const v = lo + (s / 4294967296) * (hi - lo);
    a[i] = a instanceof Float32Array ? v : Math.floor(v);
  }
}

function checkSame(what: string, a: ArrayLike<number>, b: ArrayLike<number>): void {
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) throw new Error(`bench ${what}: plain JS and kernel differ at ${i}: ${b[i]} vs ${a[i]}`);
  }
}

const gb = (bytes: number, ms: number): number => perSecond(bytes, ms) / 1e9;
const melem = (n: number, ms: number): number => perSecond(n, ms) / 1e6;

function benchIm2colLayer(core: KernelCore, shape: [number, number, number, number], k: number, stride: number, minTimeMs: number): BenchEntry[] {
  const g = convGeometry(shape, k, { strides: stride, padding: "same" });
  const size = `x=[${shape}] k=${k}x${k} s=${stride} same -> [${g.rows}, ${g.patchSize}]`;
  const x = core.alloc(Float32Array, inputSize(g));
  fillRandom(x, -1, 1, 1);
  const out = core.alloc(Float32Array, g.rows * g.patchSize);
  const outJS = new Float32Array(out.length);
  const copySource = core.alloc(Uint8Array, out.byteLength);
  const xq = core.alloc(Int8Array, x.length);
  fillRandom(xq, -128, 128, 2);
  const outQ = core.alloc(Int8Array, out.length);
  const outQJS = new Int8Array(out.length);
  try {
    im2col(x, g, out);
    im2colJS(x, g, 0, outJS);
    checkSame("im2col f32", out, outJS);
    im2colQuantized(xq, g, -3, outQ);
    im2colJS(xq, g, -3, outQJS);
    checkSame("im2col int8", outQ, outQJS);

    const bytes = out.byteLength;
    const ours = time(() => im2col(x, g, out), minTimeMs);
    const js = time(() => im2colJS(x, g, 0, outJS), minTimeMs);
    const copy = time(() => core.exports.copy_bytes(out.byteOffset, copySource.byteOffset, bytes), minTimeMs);
    const oursQ = time(() => im2colQuantized(xq, g, -3, outQ), minTimeMs);
    const jsQ = time(() => im2colJS(xq, g, -3, outQJS), minTimeMs);
    return [
      entry({ kernel: "im2col f32 NHWC", size, unit: "GB/s out", ours: gb(bytes, ours.bestMs), baseline: "plain JS", baselineValue: gb(bytes, js.bestMs) }),
      entry({ kernel: "im2col f32 NHWC", size, unit: "GB/s out", ours: gb(bytes, ours.bestMs), baseline: "memcpy", baselineValue: gb(bytes, copy.bestMs),
        note: "memcpy of the output byte count (wasm memory.copy)" }),
      entry({ kernel: "im2col int8 NHWC", size, unit: "GB/s out", ours: gb(outQ.byteLength, oursQ.bestMs), baseline: "plain JS", baselineValue: gb(outQ.byteLength, jsQ.bestMs) }),
    ];
  } finally {
    for (const a of [x, out, copySource, xq, outQ]) core.free(a);
  }
}

function benchCol2im(core: KernelCore, shape: [number, number, number, number], k: number, minTimeMs: number): BenchEntry {
  const g = convGeometry(shape, k, { padding: "same" });
  const cols = core.alloc(Float32Array, g.rows * g.patchSize);
  fillRandom(cols, -1, 1, 3);
  const dx = core.alloc(Float32Array, inputSize(g));
  const dxJS = new Float32Array(dx.length);
  try {
    col2im(cols, g, dx);
    col2imJS(cols, g, dxJS);
    checkSame("col2im", dx, dxJS);
    const ours = time(() => col2im(cols, g, dx), minTimeMs);
    const js = time(() => col2imJS(cols, g, dxJS), minTimeMs);
    return entry({
      kernel: "col2im f32 NHWC", size: `x=[${shape}] k=${k}x${k} s=1 same`, unit: "Melem/s in",
      ours: melem(cols.length, ours.bestMs), baseline: "plain JS", baselineValue: melem(cols.length, js.bestMs),
    });
  } finally {
    core.free(cols);
    core.free(dx);
  }
}

function benchRequantize(core: KernelCore, rows: number, cols: number, perChannel: boolean, minTimeMs: number): BenchEntry {
  const acc = core.alloc(Int32Array, rows * cols);
  fillRandom(acc, -(2 ** 18), 2 ** 18, 4);
  const reals = Array.from({ length: perChannel ? cols : 1 }, (_, i) => 0.0004 + 0.00001 * (i % 97));
  const bias = core.alloc(Int32Array, cols);
  fillRandom(bias, -5000, 5000, 5);
  const spec: RequantizeSpec = { ...quantizeMultipliers(reals), bias: perChannel ? bias : undefined, zeroPoint: -7, min: -7 };
  const out = core.alloc(Int8Array, rows * cols);
  const outJS = new Int8Array(rows * cols);
  try {
    requantize(acc, rows, cols, spec, out);
    requantizeJS(acc, rows, cols, spec, outJS);
    checkSame("requantize", out, outJS);
    const ours = time(() => requantize(acc, rows, cols, spec, out), minTimeMs);
    const js = time(() => requantizeJS(acc, rows, cols, spec, outJS), minTimeMs);
    const label = perChannel ? "per-channel + bias + relu" : "per-tensor, no bias";
    return entry({
      kernel: `requantize int32->int8 ${label}`, size: `[${rows}, ${cols}]`, unit: "Melem/s",
      ours: melem(rows * cols, ours.bestMs), baseline: "plain JS", baselineValue: melem(rows * cols, js.bestMs),
    });
  } finally {
    for (const a of [acc, bias, out]) core.free(a);
  }
}

export async function benchIm2col(opts: BenchOptions): Promise<BenchEntry[]> {
  const core = kernels();
  const minTimeMs = opts.quick ? 120 : 1000;
  const entries: BenchEntry[] = [];
  // ResNet-20/CIFAR stage 1 layer at batch 32
  entries.push(...benchIm2colLayer(core, [32, 32, 32, 16], 3, 1, minTimeMs));
  if (!opts.quick) {
    entries.push(...benchIm2colLayer(core, [32, 16, 16, 32], 3, 2, minTimeMs));
    entries.push(...benchIm2colLayer(core, [8, 32, 32, 3], 5, 1, minTimeMs));
  }
  entries.push(benchCol2im(core, opts.quick ? [8, 32, 32, 16] : [32, 32, 32, 16], 3, minTimeMs));
  entries.push(benchRequantize(core, 1024, 1024, true, minTimeMs));
  entries.push(benchRequantize(core, 1024, 1024, false, minTimeMs));
  if (!opts.quick) entries.push(benchRequantize(core, 16384, 64, true, minTimeMs));
  return entries;
}
