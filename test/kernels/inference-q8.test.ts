// The int8 engine's kernels against their reference twins, bit for bit: depthwise int32 sums,
// uint8 max pooling, the rounded int32 average, the rescaling add. Channel counts cover two SIMD
// iterations and a tail (19 = 8+8+3 for the i16x8 kernels, 35 = 16+16+3 for the u8x16 max).
import { describe, expect, it } from "vitest";
import { addQ8Acc, addRescaleFactors, ADD_FACTOR_BITS } from "../../src/kernels/add-q8.js";
import { convGeometry, type Padding } from "../../src/kernels/conv-geometry.js";
import { depthwiseConv2dQ8Acc } from "../../src/kernels/depthwise-q8.js";
import { avgPool2dQ8Acc, maxPool2dU8 } from "../../src/kernels/pooling-q8.js";
import { addQ8AccRef, avgPool2dQ8AccRef, depthwiseConv2dQ8AccRef, maxPool2dU8Ref, roundedDivideRef } from "../../src/kernels/reference/inference-q8.js";
import { ODD_LENGTHS, randomInts } from "./random.js";

const bytes = (n: number, seed: number): Uint8Array => Uint8Array.from(randomInts(n, seed, 0, 255));
const weights = (n: number, seed: number): Int16Array => Int16Array.from(randomInts(n, seed, -127, 127));

describe("depthwise_conv_q8_acc_nhwc = reference", () => {
  const cases: Array<[string, number[], number, number, number, Padding, number]> = [
    // name, input [N, H, W, C], kernel, stride, dilation, padding, multiplier
    ["x=[2,7,6,19] 3×3 s1 same", [2, 7, 6, 19], 3, 1, 1, "same", 1],
    ["x=[1,9,9,16] 3×3 s2 same", [1, 9, 9, 16], 3, 2, 1, "same", 1],
    ["x=[2,8,8,19] 3×3 s1 d2 valid", [2, 8, 8, 19], 3, 1, 2, "valid", 1],
    ["x=[1,6,5,5] 3×3 s1 same ×2 (multiplier: scalar path)", [1, 6, 5, 5], 3, 1, 1, "same", 2],
    ["x=[1,5,5,19] 5×5 s1 pads [2,1,0,2]", [1, 5, 5, 19], 5, 1, 1, [2, 1, 0, 2], 1],
  ];
  for (const [name, shape, k, s, d, padding, m] of cases) {
    it(name, () => {
      const g = convGeometry(shape, k, { strides: s, dilations: d, padding });
      const x = bytes(shape.reduce((a, b) => a * b), 1);
      const filter = weights(k * k * shape[3] * m, 2);
      for (const zp of [0, 131, 255]) expect(depthwiseConv2dQ8Acc(x, zp, filter, g, m)).toEqual(depthwiseConv2dQ8AccRef(x, zp, filter, g, m));
    });
  }
});

describe("uint8 pooling = reference", () => {
  const cases: Array<[string, number[], number, number, Padding]> = [
    ["x=[2,8,8,35] 2×2 s2 valid", [2, 8, 8, 35], 2, 2, "valid"],
    ["x=[1,7,7,19] 3×3 s2 same", [1, 7, 7, 19], 3, 2, "same"],
    ["x=[2,5,6,19] 3×3 s1 same", [2, 5, 6, 19], 3, 1, "same"],
    ["x=[3,4,4,35] global 4×4", [3, 4, 4, 35], 4, 1, "valid"],
  ];
  for (const [name, shape, k, s, padding] of cases) {
    it(`max ${name}`, () => {
      const g = convGeometry(shape, k, { strides: s, padding });
      const x = bytes(shape.reduce((a, b) => a * b), 3);
      expect(maxPool2dU8(x, g)).toEqual(maxPool2dU8Ref(x, g));
    });
    it(`avg ${name}`, () => {
      const g = convGeometry(shape, k, { strides: s, padding });
      const x = bytes(shape.reduce((a, b) => a * b), 4);
      for (const zp of [0, 100, 255]) expect(avgPool2dQ8Acc(x, zp, g)).toEqual(avgPool2dQ8AccRef(x, zp, g));
    });
  }

  it("the average rounds half away from zero: ±5/2 -> ±3, ±7/4 -> ±2, 3/4 -> 1", () => {
    expect([5, -5, 7, -7, 3].map((v, i) => roundedDivideRef(v, [2, 2, 4, 4, 4][i]))).toEqual([3, -3, 2, -2, 1]);
  });
});

describe("add_q8_acc = reference", () => {
  it(`lengths ${ODD_LENGTHS.join(", ")}, extreme factors and zero points`, () => {
    for (const n of ODD_LENGTHS) {
      const [a, b] = [bytes(n, n + 1), bytes(n, n + 2)];
      for (const [zpA, kA, zpB, kB] of [[0, 2 ** ADD_FACTOR_BITS, 255, 1], [128, 9000, 3, 2 ** ADD_FACTOR_BITS], [255, 0, 0, 77]]) {
        expect(addQ8Acc(a, zpA, kA, b, zpB, kB)).toEqual(addQ8AccRef(a, zpA, kA, b, zpB, kB));
      }
    }
  });

  it("addRescaleFactors: the larger scale gets 2^14, the other its ratio, and the multiplier takes the sum to the output scale", () => {
    const { kA, kB, realMultiplier } = addRescaleFactors(0.02, 0.05, 0.1);
    expect([kA, kB]).toEqual([Math.round(16384 * 0.4), 16384]);
    expect(realMultiplier * kB * 0.1).toBeCloseTo(0.05, 12);
  });
});
