import { describe, expect, it } from "vitest";
import { kernels } from "../../src/kernels/core.js";
import { callKernel, runInline } from "../../src/kernels/operation.js";
import { perTensor } from "../../src/kernels/grouping.js";
import { quantParamsFromRange } from "../../src/kernels/quant-params.js";
import {
  INT32_MAX,
  INT32_MIN,
  multiplyByQuantizedMultiplierRef,
  quantizeRef,
  requantizeRef,
  roundingDivideByPOTRef,
  saturatingRoundingDoublingHighMulRef,
} from "../../src/kernels/reference.js";
import {
  activationBounds,
  quantizeMultiplier,
  quantizeMultipliers,
  requantize,
  requantizeOp,
  requantizeSpec,
  type RequantizeSpec,
} from "../../src/kernels/requantize.js";
import { mulberry32, randomInts } from "./random.js";

/** Accumulators as a GEMM makes them (|acc| < 2^20) mixed with extremes that saturate. */
function accumulators(n: number, seed: number): Int32Array {
  const rand = mulberry32(seed);
  const acc = randomInts(n, seed, -(2 ** 20), 2 ** 20);
  for (let i = 0; i < n; i++) {
    const pick = rand();
    if (pick < 0.1) acc[i] = Math.floor(rand() * 2 ** 32) - 2 ** 31;
    else if (pick < 0.13) acc[i] = rand() < 0.5 ? INT32_MIN : INT32_MAX;
    else if (pick < 0.3) acc[i] = Math.floor(rand() * 64) - 32;
  }
  return acc;
}

describe("gemmlowp primitives (reference)", () => {
  it("SaturatingRoundingDoublingHighMul rounds ties up and saturates INT32_MIN * INT32_MIN", () => {
    expect(saturatingRoundingDoublingHighMulRef(INT32_MIN, INT32_MIN)).toBe(INT32_MAX);
    expect(saturatingRoundingDoublingHighMulRef(INT32_MIN, INT32_MAX)).toBe(INT32_MIN + 1);
    expect(saturatingRoundingDoublingHighMulRef(INT32_MAX, INT32_MAX)).toBe(INT32_MAX - 1);
    expect(saturatingRoundingDoublingHighMulRef(2 ** 30, 1)).toBe(1); // 0.5 -> 1
    expect(saturatingRoundingDoublingHighMulRef(-(2 ** 30), 1)).toBe(0); // -0.5 -> 0
    expect(saturatingRoundingDoublingHighMulRef(-(2 ** 30) - 1, 1)).toBe(-1);
    expect(saturatingRoundingDoublingHighMulRef(-3, 2 ** 30)).toBe(-1); // -1.5 -> -1
    expect(saturatingRoundingDoublingHighMulRef(3, 2 ** 30)).toBe(2); // 1.5 -> 2
  });
  it("RoundingDivideByPOT rounds ties away from zero", () => {
    expect([-3, -1, 1, 3, -5, -6, 5, 6].map((x, i) => roundingDivideByPOTRef(x, i < 4 ? 1 : 2))).toEqual([-2, -1, 1, 2, -1, -2, 1, 2]);
    expect(roundingDivideByPOTRef(12345, 0)).toBe(12345);
    expect(roundingDivideByPOTRef(INT32_MIN, 31)).toBe(-1);
    expect(roundingDivideByPOTRef(INT32_MAX, 31)).toBe(1);
    expect(roundingDivideByPOTRef(-(2 ** 30), 31)).toBe(-1); // -0.5 -> -1
    expect(roundingDivideByPOTRef(2 ** 30 - 1, 31)).toBe(0);
  });
  it("MultiplyByQuantizedMultiplier saturates the left shift of multipliers > 1", () => {
    expect(multiplyByQuantizedMultiplierRef(INT32_MAX, 2 ** 30, 30)).toBe(2 ** 30);
    expect(multiplyByQuantizedMultiplierRef(INT32_MIN, 2 ** 30, 30)).toBe(-(2 ** 30));
    expect(multiplyByQuantizedMultiplierRef(100, 1342177280, 2)).toBe(250); // M = 2.5
  });
});

describe("quantizeMultiplier", () => {
  it("encodes powers of two, multipliers > 1 and 0 as TFLite does", () => {
    expect(quantizeMultiplier(0.5)).toEqual({ multiplier: 2 ** 30, shift: 0 });
    expect(quantizeMultiplier(1)).toEqual({ multiplier: 2 ** 30, shift: 1 });
    expect(quantizeMultiplier(0.25)).toEqual({ multiplier: 2 ** 30, shift: -1 });
    expect(quantizeMultiplier(2.5)).toEqual({ multiplier: 1342177280, shift: 2 });
    expect(quantizeMultiplier(0)).toEqual({ multiplier: 0, shift: 0 });
    expect(quantizeMultiplier(1e-12)).toEqual({ multiplier: 0, shift: 0 });
    expect(quantizeMultiplier(2 ** 40)).toEqual({ multiplier: INT32_MAX, shift: 30 });
  });
  it("renormalises when rounding reaches 2^31", () => {
    expect(quantizeMultiplier(1 - 2 ** -40)).toEqual({ multiplier: 2 ** 30, shift: 1 });
    expect(quantizeMultiplier(2 ** -32 * (1 - 2 ** -40))).toEqual({ multiplier: 2 ** 30, shift: -31 });
  });
  it("M0 * 2^(shift - 31) is within 2^-31 relative of random multipliers in [1e-6, 1e3]", () => {
    const rand = mulberry32(3);
    for (let i = 0; i < 2000; i++) {
      const real = 10 ** (rand() * 9 - 6);
      const { multiplier, shift } = quantizeMultiplier(real);
      expect(multiplier).toBeGreaterThanOrEqual(2 ** 30);
      expect(multiplier).toBeLessThan(2 ** 31);
      expect(Math.abs(multiplier * 2 ** (shift - 31) - real) / real).toBeLessThanOrEqual(2 ** -31);
    }
  });
  it("rejects negative and non-finite multipliers", () => {
    expect(() => quantizeMultiplier(-0.5)).toThrow(/quantizeMultiplier: real must be a finite number >= 0, but got -0.5/);
    expect(() => quantizeMultiplier(NaN)).toThrow(/but got NaN/);
    expect(() => quantizeMultiplier(Infinity)).toThrow(/but got Infinity/);
  });
});

describe("activationBounds", () => {
  it("relu and relu6 clamp at quantize(0) and quantize(6), as our quantize computes them", () => {
    const params = quantParamsFromRange(new Float32Array([-1.3]), new Float32Array([7.1]), { bits: 8 }, perTensor());
    const [scale, zp] = [params.scales[0], params.zeroPoints[0]];
    const q = quantizeRef(new Float32Array([0, 6]), params);
    expect(activationBounds("relu6", scale, zp, 0, 255)).toEqual({ min: q[0], max: q[1] });
    expect(activationBounds("relu", scale, zp, 0, 255)).toEqual({ min: zp, max: 255 });
    expect(activationBounds("none", scale, zp, 0, 255)).toEqual({ min: 0, max: 255 });
    expect(activationBounds("relu1", 1 / 64, -3, -128, 127)).toEqual({ min: -67, max: 61 });
    // bounds stay inside the type's range
    expect(activationBounds("relu6", 6 / 100, -128, -128, 127)).toEqual({ min: -128, max: -28 });
    expect(activationBounds("relu6", 0.01, 0, -128, 127)).toEqual({ min: 0, max: 127 });
  });
  it("rejects bad scales, zero points and kinds", () => {
    expect(() => activationBounds("relu", 0, 0, -128, 127)).toThrow(/activationBounds: scale must be finite and > 0, but got 0/);
    expect(() => activationBounds("relu", 1, 300, 0, 255)).toThrow(/zeroPoint must be an integer in 0..255, but got 300/);
    expect(() => activationBounds("gelu" as "relu", 1, 0, 0, 255)).toThrow(/kind must be 'none', 'relu', 'relu6' or 'relu1', but got 'gelu'/);
  });
});

interface SpecCase {
  label: string;
  spec: (cols: number, rand: () => number) => RequantizeSpec;
}

function randomReal(rand: () => number, allowAboveOne: boolean): number {
  const r = rand();
  if (allowAboveOne && r < 0.2) return 1 + rand() * 6; // multipliers > 1: left shifts
  if (r < 0.3) return 0.5 + rand() * 0.5; // shift 0
  return 10 ** (-1 - rand() * 5);
}

const specCases: SpecCase[] = [
  {
    label: "per-tensor int8 no bias",
    spec: (_cols, rand) => ({ ...quantizeMultipliers([randomReal(rand, false)]), zeroPoint: Math.floor(rand() * 256) - 128 }),
  },
  {
    label: "per-tensor uint8 bias M>1",
    spec: (cols, rand) => ({
      ...quantizeMultipliers([1 + rand() * 3]), zeroPoint: Math.floor(rand() * 256), type: "uint8",
      bias: randomInts(cols, Math.floor(rand() * 1e6), -(2 ** 16), 2 ** 16),
    }),
  },
  {
    label: "per-channel int8 bias relu",
    spec: (cols, rand) => ({
      ...quantizeMultipliers(Array.from({ length: cols }, () => randomReal(rand, true))), zeroPoint: -5, min: -5,
      bias: randomInts(cols, Math.floor(rand() * 1e6), -(2 ** 20), 2 ** 20),
    }),
  },
  {
    label: "per-channel uint8 no bias clamp [10, 200]",
    spec: (cols, rand) => ({
      ...quantizeMultipliers(Array.from({ length: cols }, () => randomReal(rand, true))), zeroPoint: 100, type: "uint8", min: 10, max: 200,
    }),
  },
  {
    label: "per-channel int8 shifts only <= 0",
    spec: (cols, rand) => ({ ...quantizeMultipliers(Array.from({ length: cols }, () => randomReal(rand, false))), zeroPoint: 3 }),
  },
  {
    label: "per-channel extreme shifts -31..30",
    spec: (cols, rand) => {
      const shifts = Int32Array.from({ length: cols }, () => Math.floor(rand() * 62) - 31);
      const multipliers = Int32Array.from({ length: cols }, () => 2 ** 30 + Math.floor(rand() * 2 ** 30));
      return { multipliers, shifts, zeroPoint: Math.floor(rand() * 256) - 128 };
    },
  },
];

describe("requantize kernel matches the reference", () => {
  const shapes: Array<[number, number]> = [[0, 5], [1, 1], [3, 3], [5, 4], [7, 5], [4, 15], [3, 16], [9, 17], [2, 33], [6, 64], [3, 100], [257, 3], [33, 1]];
  for (const { label, spec } of specCases) {
    for (const [rows, cols] of shapes) {
      it(`acc=[${rows},${cols}] ${label}`, () => {
        const seed = rows * 1000 + cols;
        const s = spec(cols, mulberry32(seed));
        const acc = accumulators(rows * cols, seed);
        const expected = Array.from(requantizeRef(acc, rows, cols, s));
        expect(Array.from(requantize(acc, rows, cols, s))).toEqual(expected);
        expect(Array.from(runInline(kernels(), requantizeOp(acc, rows, cols, s), 4))).toEqual(expected);
      });
    }
  }

  it("acc=[1000,37] random specs of every kind, 20 seeds", () => {
    for (let seed = 1; seed <= 20; seed++) {
      const rand = mulberry32(seed);
      const s = specCases[seed % specCases.length].spec(37, rand);
      const acc = accumulators(1000 * 37, seed);
      expect(Array.from(requantize(acc, 1000, 37, s))).toEqual(Array.from(requantizeRef(acc, 1000, 37, s)));
    }
  });
});

describe("requantize semantics", () => {
  const one = (real: number) => quantizeMultipliers([real]);

  it("acc=[1,8] M=0.25: negative and positive .5 ties round away from zero", () => {
    const acc = Int32Array.from([-6, -2, 2, 6, -10, 10, -3, 3]);
    expect(Array.from(requantize(acc, 1, 8, { ...one(0.25), zeroPoint: 0 }))).toEqual([-2, -1, 1, 2, -3, 3, -1, 1]);
  });

  it("acc=[1,6] M=0.5 (shift 0): SRDHM ties round up, RDBPOT does nothing", () => {
    expect(one(0.5).shifts[0]).toBe(0);
    const acc = Int32Array.from([-3, -1, 1, 3, 5, -5]);
    expect(Array.from(requantize(acc, 1, 6, { ...one(0.5), zeroPoint: 0 }))).toEqual([-1, 0, 1, 2, 3, -2]);
  });

  it("acc=[1,6] M=2.5 (left shift 2) and saturation at both ends", () => {
    const acc = Int32Array.from([10, -10, 51, -52, INT32_MAX, INT32_MIN]);
    expect(Array.from(requantize(acc, 1, 6, { ...one(2.5), zeroPoint: 0 }))).toEqual([25, -25, 127, -128, 127, -128]);
    const big = { multipliers: Int32Array.from([INT32_MAX]), shifts: Int32Array.from([30]), zeroPoint: 255, type: "uint8" as const };
    expect(Array.from(requantize(acc, 1, 6, big))).toEqual([255, 0, 255, 0, 255, 0]);
    const tiny = { multipliers: Int32Array.from([2 ** 30]), shifts: Int32Array.from([-31]), zeroPoint: -128 };
    // M = 2^-32: only |acc| >= 2^31 - 1 reaches half a step, and that tie rounds away from zero
    expect(Array.from(requantize(acc, 1, 6, tiny))).toEqual([-128, -128, -128, -128, -127, -128]);
  });

  it("acc=[1,19] raw kernel: INT32_MIN * INT32_MIN saturates in the SIMD lanes and the scalar tail", () => {
    // the façade only takes multipliers >= 0, so this reaches the kernel directly
    const core = kernels();
    const call = (fn: string, ...args: number[]): number => callKernel(core, [fn, args]);
    for (const [perTensor, entries] of [[1, 1], [0, 19]]) {
      const acc = core.allocCopy(new Int32Array(19).fill(INT32_MIN));
      const params = core.allocCopy(Int32Array.from([INT32_MIN, 0]));
      const table = core.malloc(call("requantize_table_bytes", entries));
      const out = core.alloc(Int8Array, 19);
      call("requantize_prepare", params.byteOffset, params.byteOffset + 4, 1, entries, table);
      call("requantize_i32_q8", acc.byteOffset, 1, 19, 0, 0, table, perTensor, 0, -100, -128, 127, out.byteOffset);
      expect(Array.from(out)).toEqual(new Array(19).fill(127));
      expect(saturatingRoundingDoublingHighMulRef(INT32_MIN, INT32_MIN) - 100).toBeGreaterThan(127);
      for (const p of [acc, params, out]) core.free(p);
      core.free(table);
    }
  });

  it("acc=[1,4] zero point added without int32 wrap: INT32_MAX with zp 127 stays at max", () => {
    const acc = Int32Array.from([INT32_MAX, INT32_MIN, 0, 1]);
    const s = { multipliers: Int32Array.from([INT32_MAX]), shifts: Int32Array.from([0]), zeroPoint: 127 };
    expect(Array.from(requantize(acc, 1, 4, s))).toEqual([127, -128, 127, 127]);
  });

  it("acc=[4,20] per-channel with equal multipliers equals per-tensor; the bias wraps as int32", () => {
    const acc = accumulators(80, 9);
    const per = quantizeMultipliers(new Array(20).fill(0.0173));
    const bias = randomInts(20, 4, -1000, 1000);
    bias[3] = INT32_MAX;
    const a = requantize(acc, 4, 20, { ...per, bias, zeroPoint: 7 });
    const b = requantize(acc, 4, 20, { ...one(0.0173), bias, zeroPoint: 7 });
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).toEqual(Array.from(requantizeRef(acc, 4, 20, { ...per, bias, zeroPoint: 7 })));
  });

  it("requantizeSpec: per-channel multipliers from scales, ReLU6 bounds, uint8", () => {
    const spec = requantizeSpec({ inputScale: 0.02, weightScales: [0.001, 0.5], outputScale: 6 / 255, outputZeroPoint: 3, type: "uint8", activation: "relu6" });
    expect(Array.from(spec.multipliers)).toEqual(Array.from(quantizeMultipliers([(0.02 * 0.001) / (6 / 255), (0.02 * 0.5) / (6 / 255)]).multipliers));
    expect([spec.min, spec.max, spec.zeroPoint, spec.type]).toEqual([3, 255, 3, "uint8"]);
  });

  it("acc=[64,48] works on resident arrays without copies", () => {
    const core = kernels();
    const acc = core.allocCopy(accumulators(64 * 48, 2));
    const out = core.alloc(Uint8Array, 64 * 48);
    const s: RequantizeSpec = { ...one(0.003), zeroPoint: 128, type: "uint8" };
    expect(requantize(acc, 64, 48, s, out)).toBe(out);
    expect(Array.from(out)).toEqual(Array.from(requantizeRef(acc, 64, 48, s)));
    core.free(acc);
    core.free(out);
  });
});

describe("requantize argument errors", () => {
  const acc = new Int32Array(12);
  const base: RequantizeSpec = { ...quantizeMultipliers([0.1]), zeroPoint: 0 };
  it("names the rule and the value", () => {
    expect(() => requantize(acc, 3, 5, base)).toThrow(/requantize: acc must have rows \* cols = 3 \* 5 elements, but has 12/);
    expect(() => requantize(acc, 3, 4, { ...base, multipliers: new Int32Array(2), shifts: new Int32Array(2) })).toThrow(
      /multipliers must have 1 entry \(per tensor\) or cols = 4 \(per output channel\), but has 2/,
    );
    expect(() => requantize(acc, 3, 4, { ...base, shifts: new Int32Array(4) })).toThrow(/shifts must have one entry per multiplier \(1\), but has 4/);
    expect(() => requantize(acc, 3, 4, { ...base, shifts: Int32Array.from([31]) })).toThrow(/shifts\[0\] must be an integer in -31..30, but got 31/);
    expect(() => requantize(acc, 3, 4, { ...base, multipliers: Int32Array.from([-1]) })).toThrow(/multipliers\[0\] must be an integer in 0..2147483647, but got -1/);
    expect(() => requantize(acc, 3, 4, { ...base, bias: new Int32Array(3) })).toThrow(/bias must be an Int32Array of cols = 4 entries, but has 3/);
    expect(() => requantize(acc, 3, 4, { ...base, zeroPoint: 128 })).toThrow(/zeroPoint must be an integer in -128..127, but got 128/);
    expect(() => requantize(acc, 3, 4, { ...base, type: "uint8", zeroPoint: -1 })).toThrow(/zeroPoint must be an integer in 0..255, but got -1/);
    expect(() => requantize(acc, 3, 4, { ...base, min: 10, max: 5 })).toThrow(/max must be an integer in 10..127, but got 5/);
    expect(() => requantize(acc, 3, 4, { ...base, type: "uint8" }, new Int8Array(12))).toThrow(/out must be a Uint8Array for uint8 output/);
    expect(() => requantize(acc, 3, 4, base, new Int8Array(5))).toThrow(/out must have 12 elements, but has 5/);
    expect(() => requantize(acc, 3.5, 4, base)).toThrow(/rows must be an integer >= 0, but got 3.5/);
  });
  it("leaves no temporaries behind", () => {
    const core = kernels();
    const before = core.bytesInUse;
    requantize(accumulators(300, 1), 20, 15, { ...quantizeMultipliers(new Array(15).fill(0.01)), bias: new Int32Array(15), zeroPoint: 0 });
    expect(core.bytesInUse).toBe(before);
  });
});
