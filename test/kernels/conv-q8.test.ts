// The int8 engine's convolution kernels against plain loops, bit for bit, on both kernel builds:
// the direct convolution (pad_widen_u8_i16 + conv_q8_direct_nhwc), the exact integer Winograd
// F(2×2, 3×3) (winograd_q8_*), and the one-pass residual add (add_q8_requant). Shapes cover more
// than one 64-pixel block and a partial one, 4-row tiles cut by the block's end, filter counts
// off a multiple of 8 (a partial panel), odd channel counts (padded to even) and Winograd's
// scalar channel tail and odd output sizes (partial 2×2 tiles); requantization per channel
// with int32 biases and a fused relu clamp, in both of requantize_i32_q8's right-shift modes.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { accumulatorBound, winogradQ8Filter } from "../../src/deploy/engine-int8-steps.js";
import { addRescaleFactors } from "../../src/kernels/add-q8.js";
import { convGeometry, type ConvGeometry, type Padding } from "../../src/kernels/conv-geometry.js";
import { KernelCore } from "../../src/kernels/core.js";
import { addQ8AccRef } from "../../src/kernels/reference/inference-q8.js";
import { requantizeRef } from "../../src/kernels/reference/requantize.js";
import { quantizeMultipliers, type RequantizeSpec } from "../../src/kernels/requantize.js";
import { chooseKernelsBuild, kernelsBuild } from "../../src/kernels/wasm-module.js";
import { randomInts } from "./random.js";

type Kernel = (...args: number[]) => number;

function builds(): Array<[string, KernelCore]> {
  const relaxed = kernelsBuild().path;
  const saved = process.env.POCKETFLOW_FMA;
  process.env.POCKETFLOW_FMA = "0";
  const plain = chooseKernelsBuild().path;
  if (saved === undefined) delete process.env.POCKETFLOW_FMA;
  else process.env.POCKETFLOW_FMA = saved;
  return [["simd", new KernelCore(new WebAssembly.Module(readFileSync(plain)))], ["relaxed", new KernelCore(new WebAssembly.Module(readFileSync(relaxed)))]];
}

const BUILDS = builds();
const fn = (core: KernelCore, name: string): Kernel => core.exports[name] as Kernel;

interface Case {
  x: Uint8Array;
  zpX: number;
  codes: Int8Array;
  g: ConvGeometry;
  n: number;
  spec: RequantizeSpec;
}

function makeCase(shape: number[], n: number, k: number, stride: number, dilation: number, padding: Padding, seed: number): Case {
  const g = convGeometry(shape, k, { strides: stride, dilations: dilation, padding });
  const x = Uint8Array.from(randomInts(shape.reduce((a, b) => a * b), seed, 0, 255));
  const codes = Int8Array.from(randomInts(k * k * shape[3] * n, seed + 1, -127, 127));
  const reals = Array.from({ length: n }, (_, c) => 0.0004 + 0.0002 * ((c * 7) % 5));
  const spec: RequantizeSpec = {
    ...quantizeMultipliers(reals), bias: Int32Array.from(randomInts(n, seed + 2, -20000, 20000)), zeroPoint: 37, type: "uint8", min: 37, max: 255,
  };
  return { x, zpX: 121, codes, g, n, spec };
}

/** Σ (x - zp)·w over the taps inside the input, then requantizeRef (bias, multipliers, clamp). */
function convRef({ x, zpX, codes, g, n, spec }: Case): Uint8Array {
  const acc = new Int32Array(g.rows * n);
  for (let p = 0; p < g.rows; p++) {
    const image = Math.floor(p / (g.outHeight * g.outWidth));
    const oy = Math.floor(p / g.outWidth) % g.outHeight;
    const ox = p % g.outWidth;
    for (let ky = 0; ky < g.kernelHeight; ky++) {
      const iy = oy * g.strideHeight - g.padTop + ky * g.dilationHeight;
      for (let kx = 0; kx < g.kernelWidth; kx++) {
        const ix = ox * g.strideWidth - g.padLeft + kx * g.dilationWidth;
        if (iy < 0 || iy >= g.inHeight || ix < 0 || ix >= g.inWidth) continue;
        for (let c = 0; c < g.inChannels; c++) {
          const v = x[((image * g.inHeight + iy) * g.inWidth + ix) * g.inChannels + c] - zpX;
          for (let o = 0; o < n; o++) acc[p * n + o] += v * codes[((ky * g.kernelWidth + kx) * g.inChannels + c) * n + o];
        }
      }
    }
  }
  return requantizeRef(acc, g.rows, n, spec) as Uint8Array;
}

/** requantize_i32_q8's shiftMode (assembly/requantize.ts): the general path, or the bounded one. */
const [SHIFT_RIGHT_ONLY, SHIFT_BOUNDED] = [0, 2];
let mode = SHIFT_RIGHT_ONLY;

/** The requantization table, bias and the trailing arguments the fused kernels take, in `mode`. */
function requantArgs(core: KernelCore, spec: RequantizeSpec, cols: number): number[] {
  const table = core.malloc(fn(core, "requantize_table_bytes")(cols));
  const [m, s] = [core.allocCopy(spec.multipliers), core.allocCopy(spec.shifts)];
  fn(core, "requantize_prepare")(m.byteOffset, s.byteOffset, spec.multipliers.length, cols, table);
  const bias = spec.bias === undefined ? 0 : core.allocCopy(spec.bias).byteOffset;
  return [bias, bias === 0 ? 0 : 1, table, spec.multipliers.length === 1 && bias === 0 ? 1 : 0, mode, spec.zeroPoint, spec.min ?? 0, spec.max ?? 255];
}

function padWiden(core: KernelCore, c: Case, hp: number, wp: number, cp: number): number {
  const { g } = c;
  const padded = core.malloc(g.batch * hp * wp * cp * 2);
  fn(core, "pad_widen_u8_i16")(core.allocCopy(c.x).byteOffset, c.zpX, g.inHeight, g.inWidth, g.inChannels, g.padTop, g.padLeft, hp, wp, cp, 0, g.batch, padded);
  return padded;
}

function convDirect(core: KernelCore, c: Case): Uint8Array {
  const { g, n } = c;
  const cp = g.inChannels + (g.inChannels & 1);
  const taps = g.kernelHeight * g.kernelWidth;
  const codes = new Int8Array(taps * cp * n);
  for (let t = 0; t < taps; t++) codes.set(c.codes.subarray(t * g.inChannels * n, (t + 1) * g.inChannels * n), t * cp * n);
  const packedB = core.malloc(Math.ceil(n / 8) * (taps * cp / 2) * 32);
  fn(core, "gemm_q8_pack_b")(core.allocCopy(codes).byteOffset, n, taps * cp, n, 1, 0, 0, packedB, 0, Math.ceil(n / 8));
  const [hp, wp] = [g.inHeight + g.padTop + g.padBottom, g.inWidth + g.padLeft + g.padRight];
  const padded = padWiden(core, c, hp, wp, cp);
  const out = core.malloc(g.rows * n);
  const scratch = core.malloc(fn(core, "conv_q8_direct_scratch_bytes")(n));
  fn(core, "conv_q8_direct_nhwc")(
    padded, hp, wp, cp, g.kernelHeight, g.kernelWidth, g.strideHeight, g.strideWidth, g.dilationHeight, g.dilationWidth, g.outHeight, g.outWidth,
    packedB, n, 0, g.rows, scratch, ...requantArgs(core, c.spec, n), out,
  );
  return core.view(Uint8Array, out, g.rows * n).slice();
}

function convWinograd(core: KernelCore, c: Case): Uint8Array {
  const { g, n } = c;
  const cp = g.inChannels + (g.inChannels & 1);
  const { packed, xiElements } = winogradQ8Filter(c.codes, g.inChannels, n);
  const [tilesY, tilesX] = [Math.ceil(g.outHeight / 2), Math.ceil(g.outWidth / 2)];
  const hp = Math.max(g.inHeight + g.padTop + g.padBottom, 2 * tilesY + 2);
  const wp = Math.max(g.inWidth + g.padLeft + g.padRight, 2 * tilesX + 2);
  const padded = padWiden(core, c, hp, wp, cp);
  const tiles = g.batch * tilesY * tilesX;
  const [xiStride, mStride] = [tiles * cp * 2 + 64, tiles * n * 4 + 64];
  const [v, m] = [core.malloc(16 * xiStride), core.malloc(16 * mStride)];
  fn(core, "winograd_q8_input_f2")(padded, hp, wp, cp, tilesY, tilesX, g.batch, v, xiStride);
  fn(core, "winograd_q8_gemm_f2")(v, xiStride, tiles, cp, core.allocCopy(packed).byteOffset, xiElements * 2, n, m, mStride);
  const out = core.malloc(g.rows * n);
  const scratch = core.malloc(fn(core, "winograd_q8_output_scratch_bytes")(g.outWidth, n));
  fn(core, "winograd_q8_output_f2")(m, mStride, n, tilesY, tilesX, g.batch, g.outHeight, g.outWidth, scratch, ...requantArgs(core, c.spec, n), out);
  return core.view(Uint8Array, out, g.rows * n).slice();
}

/** Both shift modes where the bounded one holds (it must, for these cases: checked). */
function modesOf(c: Case): number[] {
  const bound = accumulatorBound(c.codes, c.n, c.zpX, c.spec.bias as Int32Array);
  const rights = Array.from(c.spec.shifts, (s) => -s);
  const maxRight = Math.max(...rights);
  expect(rights.every((r) => r >= 0 && (bound + 1 + 2 ** (r - 1)) * 2 ** (maxRight - r) < 2 ** 31)).toBe(true);
  return [SHIFT_RIGHT_ONLY, SHIFT_BOUNDED];
}

describe("conv_q8_direct_nhwc (after pad_widen_u8_i16) = plain loops + requantizeRef", () => {
  const cases: Array<[string, number[], number, number, number, number, Padding]> = [
    // name, input [N, H, W, C], filters, kernel, stride, dilation, padding
    ["x=[2,9,9,16] w=3×3×16×17 s1 same (3 blocks of 64 pixels, a partial panel)", [2, 9, 9, 16], 17, 3, 1, 1, "same"],
    ["x=[3,7,6,3] w=3×3×3×10 s2 same (odd channels)", [3, 7, 6, 3], 10, 3, 2, 1, "same"],
    ["x=[1,9,8,5] w=3×3×5×8 s1 d2 valid (one tap per segment)", [1, 9, 8, 5], 8, 3, 1, 2, "valid"],
    ["x=[2,6,6,33] w=1×1×33×24 s2 valid (the shortcut)", [2, 6, 6, 33], 24, 1, 2, 1, "valid"],
    ["x=[5,1,1,64] w=1×1×64×10 (a dense layer)", [5, 1, 1, 64], 10, 1, 1, 1, "valid"],
    ["x=[1,6,7,4] w=5×5×4×9 s1 pads [2,1,0,2]", [1, 6, 7, 4], 9, 5, 1, 1, [2, 1, 0, 2]],
  ];
  for (const [name, shape, n, k, s, d, padding] of cases) {
    it(name, () => {
      const c = makeCase(shape, n, k, s, d, padding, shape[3] + n);
      const expected = convRef(c);
      for (const m of modesOf(c)) {
        mode = m;
        for (const [build, core] of BUILDS) expect(convDirect(core, c), `${build}, shiftMode ${m}`).toEqual(expected);
      }
    });
  }
});

describe("winograd_q8 F(2×2, 3×3) = plain loops + requantizeRef", () => {
  const cases: Array<[string, number[], number, Padding]> = [
    ["x=[2,8,8,16] w=3×3×16×16 same", [2, 8, 8, 16], 16, "same"],
    ["x=[3,7,7,9] w=3×3×9×12 same (odd sizes: partial tiles; channels 8 + a scalar tail, padded to 10)", [3, 7, 7, 9], 12, "same"],
    ["x=[1,9,6,24] w=3×3×24×17 valid", [1, 9, 6, 24], 17, "valid"],
    ["x=[2,5,5,64] w=3×3×64×8 same (Winograd's largest sums of ResNet-20)", [2, 5, 5, 64], 8, "same"],
  ];
  for (const [name, shape, n, padding] of cases) {
    it(name, () => {
      const c = makeCase(shape, n, 3, 1, 1, padding, shape[3] * n);
      const expected = convRef(c);
      for (const m of modesOf(c)) {
        mode = m;
        for (const [build, core] of BUILDS) expect(convWinograd(core, c), `${build}, shiftMode ${m}`).toEqual(expected);
      }
    });
  }

  it("the extreme sums: x all 0 or all 255 against ±127 filters, zero points 0 and 255", () => {
    for (const [value, zp] of [[0, 255], [255, 0]]) {
      const c = makeCase([1, 6, 6, 64], 8, 3, 1, 1, "same", 3);
      c.x.fill(value);
      c.zpX = zp;
      c.codes = Int8Array.from(c.codes, (w) => (w >= 0 ? 127 : -127));
      const expected = convRef(c);
      for (const m of modesOf(c)) {
        mode = m;
        for (const [build, core] of BUILDS) expect(convWinograd(core, c), `${build}, shiftMode ${m}`).toEqual(expected);
      }
    }
  });
});

describe("add_q8_requant = addQ8AccRef + requantizeRef", () => {
  for (const length of [7, 1024, 2500]) {
    it(`n=${length} (blocks of 1024 and a tail)`, () => {
      const a = Uint8Array.from(randomInts(length, length, 0, 255));
      const b = Uint8Array.from(randomInts(length, length + 1, 0, 255));
      const { kA, kB, realMultiplier } = addRescaleFactors(0.031, 0.017, 0.04);
      const spec: RequantizeSpec = { ...quantizeMultipliers([realMultiplier]), zeroPoint: 40, type: "uint8", min: 40, max: 255 };
      const expected = requantizeRef(addQ8AccRef(a, 130, kA, b, 99, kB), length, 1, spec);
      for (const [build, core] of BUILDS) {
        const [pa, pb, out] = [core.allocCopy(a).byteOffset, core.allocCopy(b).byteOffset, core.malloc(length)];
        const scratch = core.malloc(fn(core, "add_q8_requant_scratch_bytes")());
        mode = SHIFT_RIGHT_ONLY;
        const [, , table, , left, zp, lo, hi] = requantArgs(core, spec, 1);
        fn(core, "add_q8_requant")(pa, 130, kA, pb, 99, kB, 0, length, scratch, table, left, zp, lo, hi, out);
        expect(core.view(Uint8Array, out, length).slice(), build).toEqual(expected);
      }
    });
  }
});

describe("requantize_i32_q8 SHIFT_BOUNDED = requantizeRef", () => {
  it("acc=[40,19] per-channel rights 0..20, |acc + bias| up to the largest bound the mode allows", () => {
    const cols = 19;
    const rights = Int32Array.from({ length: cols }, (_, c) => (c * 7) % 21);
    const maxRight = 20;
    // the largest bound for which every (bound + 1 + 2^(r-1)) · 2^(maxRight - r) < 2^31
    const bound = Math.min(...Array.from(rights, (r) => Math.floor((2 ** 31 - 1) / 2 ** (maxRight - r)) - 1 - (r > 0 ? 2 ** (r - 1) : 0)));
    const values = randomInts(40 * cols, 5, -bound, bound);
    values.set([bound, -bound, bound - 1, -bound + 1], 0);
    const acc = Int32Array.from(values);
    const multipliers = Int32Array.from(randomInts(cols, 6, 2 ** 30, 2 ** 31 - 1));
    const spec: RequantizeSpec = { multipliers, shifts: Int32Array.from(rights, (r) => -r), zeroPoint: 3, type: "int8", min: -128, max: 127 };
    const expected = requantizeRef(acc, 40, cols, spec);
    for (const [build, core] of BUILDS) {
      mode = SHIFT_BOUNDED;
      const [, , table, , shift] = requantArgs(core, spec, cols);
      const [pa, out] = [core.allocCopy(acc).byteOffset, core.malloc(acc.length)];
      fn(core, "requantize_i32_q8")(pa, 40, cols, 0, 0, table, 0, shift, 3, -128, 127, out);
      expect(core.view(Int8Array, out, acc.length).slice(), build).toEqual(expected);
    }
  });

  it("acc=[24,19] exact ties of the rounding divide, both signs (M0 = 2^30 halves acc exactly)", () => {
    const [rows, cols] = [24, 19];
    const rights = Int32Array.from({ length: cols }, (_, c) => 1 + (c % 9));
    // acc = ±2^r·(2j + 1): half of it, 2^(r-1)·(2j + 1), lies exactly halfway between multiples of 2^r
    const acc = Int32Array.from({ length: rows * cols }, (_, i) => (i % 2 === 0 ? 1 : -1) * 2 ** rights[i % cols] * (2 * Math.floor(i / cols) + 1));
    const spec: RequantizeSpec = { multipliers: new Int32Array(cols).fill(2 ** 30), shifts: Int32Array.from(rights, (r) => -r), zeroPoint: 0, type: "int8", min: -128, max: 127 };
    const expected = requantizeRef(acc, rows, cols, spec);
    for (const [build, core] of BUILDS) {
      mode = SHIFT_BOUNDED;
      const [, , table, , shift] = requantArgs(core, spec, cols);
      const [pa, out] = [core.allocCopy(acc).byteOffset, core.malloc(acc.length)];
      fn(core, "requantize_i32_q8")(pa, rows, cols, 0, 0, table, 0, shift, 0, -128, 127, out);
      expect(core.view(Int8Array, out, acc.length).slice(), build).toEqual(expected);
    }
  });
});
