import { describe, expect, it } from "vitest";
import { kernels } from "../../src/kernels/core.js";
import { perBucket, perChannel, perTensor, type Grouping } from "../../src/kernels/grouping.js";
import { quantParamsFromRange, type QuantParams } from "../../src/kernels/quant-params.js";
import { computeQuantParams, dequantize, fakeQuantize, minMax, quantize } from "../../src/kernels/quantize.js";
import { dequantizeRef, fakeQuantizeRef, minMaxRef, quantizeRef } from "../../src/kernels/reference.js";
import { roundHalfEven } from "../../src/kernels/rounding.js";
import { ODD_LENGTHS, randomFloats } from "./random.js";

function groupingsFor(n: number): Array<[string, Grouping]> {
  const list: Array<[string, Grouping]> = [["tensor", perTensor()]];
  for (const channels of [3, 4, 7, 16]) {
    if (n > 0 && n % channels === 0) {
      list.push([`channel-last c=${channels}`, perChannel([n / channels, channels])]);
      list.push([`channel-first c=${channels}`, perChannel([channels, n / channels], 0)]);
    }
  }
  if (n > 0) for (const size of [5, 16, 256]) list.push([`bucket ${size}`, perBucket(n, size)]);
  return list;
}

describe("quantization kernels match the reference", () => {
  for (const n of ODD_LENGTHS) {
    for (const [label, grouping] of groupingsFor(n)) {
      for (const bits of [2, 4, 8]) {
        for (const symmetric of [false, true]) {
          it(`n=${n} ${label} bits=${bits} ${symmetric ? "sym" : "asym"}`, () => {
            const x = randomFloats(n, n * 31 + bits, 3, symmetric ? 0 : 0.7);
            const params = computeQuantParams(x, { bits, symmetric }, grouping);
            const q = quantize(x, params);
            expect(Array.from(q)).toEqual(Array.from(quantizeRef(x, params)));
            expect(Array.from(dequantize(q, params))).toEqual(Array.from(dequantizeRef(q, params)));
            expect(Array.from(fakeQuantize(x, params))).toEqual(Array.from(fakeQuantizeRef(x, params)));
            const mm = minMax(x, grouping);
            const ref = minMaxRef(x, grouping);
            expect(Array.from(mm.min)).toEqual(Array.from(ref.min));
            expect(Array.from(mm.max)).toEqual(Array.from(ref.max));
          });
        }
      }
    }
  }
});

describe("quantization semantics", () => {
  const manual = (scale: number, zeroPoint: number, bits: number, symmetric: boolean): QuantParams => {
    const params = quantParamsFromRange(new Float32Array([0]), new Float32Array([1]), { bits, symmetric }, perTensor());
    params.scales[0] = scale;
    params.zeroPoints[0] = zeroPoint;
    return params;
  };

  it("rounds half to even like ONNX QuantizeLinear (not half up like Math.round)", () => {
    const x = new Float32Array([0.5, 1.5, 2.5, 3.5, -0.5, -1.5, -2.5, 4.4999, 4.5001]);
    const q = quantize(x, manual(1, 0, 8, true));
    expect(Array.from(q)).toEqual([0, 2, 2, 4, 0, -2, -2, 4, 5]);
    expect(roundHalfEven(2.5)).toBe(2);
    expect(roundHalfEven(-3.5)).toBe(-4);
  });

  it("saturates to the k-bit range, including infinities", () => {
    const x = new Float32Array([1e9, -1e9, Infinity, -Infinity, 300, -300]);
    expect(Array.from(quantize(x, manual(1, 128, 8, false)))).toEqual([255, 0, 255, 0, 255, 0]);
    expect(Array.from(quantize(x, manual(1, 0, 4, true)))).toEqual([7, -7, 7, -7, 7, -7]);
  });

  it("a 4-bit tensor takes at most 16 distinct values, and 0 stays exact", () => {
    const x = randomFloats(10007, 5, 2, 0.3);
    x[17] = 0;
    const params = computeQuantParams(x, { bits: 4 });
    const fq = fakeQuantize(x, params);
    expect(new Set(fq).size).toBeLessThanOrEqual(16);
    expect(fq[17]).toBe(0);
    // the quantization error is at most half a step
    for (let i = 0; i < x.length; i++) expect(Math.abs(fq[i] - x[i])).toBeLessThanOrEqual(params.scales[0] / 2 + 1e-6);
  });

  it("keeps every per-channel group within its own range", () => {
    const shape = [3, 3, 5, 8];
    const n = shape.reduce((a, b) => a * b);
    const x = randomFloats(n, 9);
    for (let i = 0; i < n; i++) x[i] *= (i % 8) + 1; // channel c has range ~ c + 1
    const params = computeQuantParams(x, { bits: 8, symmetric: true }, perChannel(shape));
    for (let c = 0; c < 8; c++) expect(params.scales[c]).toBeGreaterThan((c + 0.5) / 127);
    for (let c = 0; c < 7; c++) expect(params.scales[c]).toBeLessThan(params.scales[c + 1]);
  });

  it("works on arrays that live in kernel memory without copying them", () => {
    const core = kernels();
    const x = core.allocCopy(randomFloats(1000, 3));
    const out = core.alloc(Uint8Array, 1000);
    const params = computeQuantParams(x, { bits: 6 });
    const result = quantize(x, params, out);
    expect(result).toBe(out);
    expect(Array.from(out)).toEqual(Array.from(quantizeRef(x, params)));
    core.free(x);
    core.free(out);
  });
});

describe("quantization argument errors", () => {
  const x = randomFloats(64, 1);
  it("rejects bits out of range", () => {
    expect(() => computeQuantParams(x, { bits: 9 })).toThrow(/bits must be an integer in 2..8, but got 9/);
    expect(() => computeQuantParams(x, { bits: 1.5 })).toThrow(/bits/);
  });
  it("rejects NaN input, naming the count", () => {
    const bad = x.slice();
    bad[3] = NaN;
    bad[40] = NaN;
    const params = computeQuantParams(x, { bits: 8 });
    expect(() => quantize(bad, params)).toThrow(/quantize: input contains 2 NaN values/);
    expect(() => fakeQuantize(bad, params)).toThrow(/NaN/);
    expect(() => minMax(bad)).toThrow(/minMax: input contains 2 NaN/);
  });
  it("rejects mismatched lengths and groupings", () => {
    const params = computeQuantParams(x, { bits: 8 }, perChannel([16, 4]));
    expect(() => quantize(x.subarray(0, 62), params)).toThrow(/do not split into 4 groups/);
    expect(() => quantize(x, params, new Uint8Array(10))).toThrow(/out must have 64 elements/);
    expect(() => quantize(x, params, new Int8Array(64))).toThrow(/Uint8Array for asymmetric/);
    expect(() => dequantize(new Int8Array(64), params)).toThrow(/Uint8Array for asymmetric/);
  });
  it("leaves no temporaries behind after an error", () => {
    const core = kernels();
    const before = core.bytesInUse;
    const bad = x.slice();
    bad[0] = NaN;
    expect(() => quantize(bad, computeQuantParams(x, { bits: 8 }))).toThrow();
    expect(core.bytesInUse).toBe(before);
  });
});
