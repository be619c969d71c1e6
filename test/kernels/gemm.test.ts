import { describe, expect, it } from "vitest";
import { gemmF32, gemmQ8 } from "../../src/kernels/gemm.js";
import { gemmF32Ref, gemmQ8Ref } from "../../src/kernels/reference.js";
import { randomFloats, randomInts } from "./random.js";

const SHAPES: Array<[number, number, number]> = [
  [0, 5, 3], [3, 0, 2], [2, 3, 0], [1, 1, 1], [4, 8, 1], [5, 9, 3], [7, 13, 17], [16, 16, 16],
  [33, 31, 29], [64, 72, 300], [9, 130, 700], [130, 9, 7],
];

/** fp32 sums reorder: compare against the f64 reference with a tolerance scaled by sqrt(k). */
function expectClose(actual: Float32Array, expected: Float32Array, k: number): void {
  expect(actual.length).toBe(expected.length);
  const tol = 1e-6 * Math.sqrt(Math.max(k, 1)) * 8;
  for (let i = 0; i < actual.length; i++) {
    const scale = Math.max(1, Math.abs(expected[i]));
    if (Math.abs(actual[i] - expected[i]) > tol * scale) {
      throw new Error(`element ${i}: ${actual[i]} vs ${expected[i]}`);
    }
  }
}

describe("gemmF32 matches the reference", () => {
  for (const [m, n, k] of SHAPES) {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        it(`m=${m} n=${n} k=${k} transA=${transA} transB=${transB}`, () => {
          const a = randomFloats(m * k, m * 7 + k);
          const b = randomFloats(k * n, n * 11 + k);
          const options = { transA, transB };
          expectClose(gemmF32(a, b, { m, n, k }, options), gemmF32Ref(a, b, { m, n, k }, options), k);
        });
      }
    }
  }
  it("accumulates into out when asked", () => {
    const [m, n, k] = [10, 11, 12];
    const a = randomFloats(m * k, 1);
    const b = randomFloats(k * n, 2);
    const c = randomFloats(m * n, 3);
    const expected = gemmF32Ref(a, b, { m, n, k }, { accumulate: true }, c);
    expectClose(gemmF32(a, b, { m, n, k }, { accumulate: true }, c.slice()), expected, k);
  });
  it("spans several K blocks (k > 512)", () => {
    const [m, n, k] = [6, 1000, 1100];
    const a = randomFloats(m * k, 4);
    const b = randomFloats(k * n, 5);
    expectClose(gemmF32(a, b, { m, n, k }), gemmF32Ref(a, b, { m, n, k }), k);
  });
  it("rejects mismatched sizes, naming them", () => {
    expect(() => gemmF32(new Float32Array(4), new Float32Array(5), { m: 2, n: 3, k: 2 })).toThrow(
      /gemmF32: B must have k·n = 2·3 = 6 elements, but has 5/,
    );
    expect(() => gemmF32(new Float32Array(5), new Float32Array(6), { m: 2, n: 3, k: 3 })).toThrow(/A must have m·k = 2·3 = 6 elements, but has 5/);
    expect(() => gemmF32(new Float32Array(4), new Float32Array(4), { m: 2, n: 2, k: 2 }, {}, new Float32Array(3))).toThrow(/out must have/);
    expect(() => gemmF32(new Float32Array(0), new Float32Array(0), { m: -1, n: 0, k: 0 })).toThrow(/m must be an integer >= 0, but got -1/);
  });
});

describe("gemmQ8 is exact", () => {
  for (const [m, n, k] of SHAPES) {
    for (const [signedA, signedB] of [[false, true], [true, true], [false, false]]) {
      for (const transB of [false, true]) {
        it(`m=${m} n=${n} k=${k} A=${signedA ? "i8" : "u8"} B=${signedB ? "i8" : "u8"} transB=${transB}`, () => {
          const a = signedA
            ? { data: Int8Array.from(randomInts(m * k, m + k, -128, 127)), zeroPoint: 3 }
            : { data: Uint8Array.from(randomInts(m * k, m + k, 0, 255)), zeroPoint: 131 };
          const b = signedB
            ? { data: Int8Array.from(randomInts(k * n, n + 2 * k, -128, 127)), zeroPoint: 0 }
            : { data: Uint8Array.from(randomInts(k * n, n + 2 * k, 0, 255)), zeroPoint: 255 };
          const got = gemmQ8(a, b, { m, n, k }, { transB });
          expect(Array.from(got)).toEqual(Array.from(gemmQ8Ref(a, b, { m, n, k }, { transB })));
        });
      }
    }
  }
  it("holds the extreme products without overflow (k = 4096, all -128 · -128)", () => {
    const k = 4096;
    const a = { data: new Int8Array(4 * k).fill(-128), zeroPoint: 0 };
    const b = { data: new Int8Array(k * 8).fill(-128), zeroPoint: 0 };
    expect(Array.from(gemmQ8(a, b, { m: 4, n: 8, k }))).toEqual(new Array(32).fill(128 * 128 * k));
  });
  it("rejects a zero point outside the storage type and too deep sums", () => {
    const a = { data: new Uint8Array(4), zeroPoint: 256 };
    const b = { data: new Int8Array(4), zeroPoint: 0 };
    expect(() => gemmQ8(a, b, { m: 2, n: 2, k: 2 })).toThrow(/A.zeroPoint must be an integer in 0..255, but got 256/);
    expect(() => gemmQ8({ data: new Int8Array(40000), zeroPoint: 0 }, { data: new Int8Array(40000), zeroPoint: 0 }, { m: 1, n: 1, k: 40000 })).toThrow(/k must be at most 32768/);
  });
});
