import { describe, expect, it } from "vitest";
import { convGeometry, type ConvOptions, type Padding } from "../../src/kernels/conv-geometry.js";
import { kernels } from "../../src/kernels/core.js";
import {
  depthwiseConv2d, depthwiseConv2dFilterGrad, depthwiseConv2dFilterGradOp, depthwiseConv2dInputGrad,
  depthwiseConv2dInputGradOp, depthwiseConv2dOp, type DepthwiseActivation,
} from "../../src/kernels/depthwise.js";
import { runInline } from "../../src/kernels/operation.js";
import { depthwiseConv2dFilterGradRef, depthwiseConv2dInputGradRef, depthwiseConv2dRef } from "../../src/kernels/reference.js";
import { randomFloats } from "./random.js";
import { maxRelativeError } from "../relative-error.js";

type Shape = [number, number, number, number];

interface Case {
  shape: Shape;
  kernel: number | [number, number];
  multiplier: number;
  options: ConvOptions;
}

const pair = (v: ConvOptions["strides"]): string => (v === undefined ? "1" : typeof v === "number" ? `${v}` : `${v[0]},${v[1]}`);
const padLabel = (p: Padding): string => (typeof p === "string" ? p : `[${p.join(",")}]`);
const label = ({ shape, kernel, multiplier, options }: Case): string => {
  const k = typeof kernel === "number" ? `${kernel}x${kernel}` : `${kernel[0]}x${kernel[1]}`;
  return `x=[${shape.join(",")}] f=${k}x${shape[3]}x${multiplier} s=${pair(options.strides)} d=${pair(options.dilations)} p=${padLabel(options.padding)}`;
};

function randomCases(): Case[] {
  const list: Case[] = [];
  const spatial: Array<[number, number, number]> = [[2, 7, 9], [1, 9, 7], [2, 5, 11], [1, 11, 5]];
  let i = 0;
  for (const channels of [1, 3, 4, 8, 17]) {
    for (const multiplier of [1, 2]) {
      for (const kernel of [3, 5]) {
        for (const stride of [1, 2]) {
          for (const dilation of [1, 2]) {
            for (const padding of ["same", "valid"] as Padding[]) {
              const [n, h, w] = spatial[i++ % spatial.length];
              const effective = (kernel - 1) * dilation + 1;
              if (padding === "valid" && (effective > h || effective > w)) continue;
              list.push({ shape: [n, h, w, channels], kernel, multiplier, options: { strides: stride, dilations: dilation, padding } });
            }
          }
        }
      }
    }
  }
  // wide channel counts (blocks of 16 plus tails), explicit and lopsided padding, a larger
  // multiplier, non-square kernels, stride together with dilation, stride larger than the kernel
  list.push({ shape: [2, 8, 8, 64], kernel: 3, multiplier: 1, options: { padding: "same" } });
  list.push({ shape: [1, 6, 7, 37], kernel: 3, multiplier: 1, options: { strides: 2, padding: "same" } });
  list.push({ shape: [3, 6, 5, 20], kernel: 3, multiplier: 3, options: { padding: [2, 0, 1, 3] } });
  list.push({ shape: [1, 9, 10, 5], kernel: [3, 5], multiplier: 2, options: { strides: [2, 1], dilations: [1, 2], padding: "same" } });
  list.push({ shape: [2, 9, 9, 6], kernel: 3, multiplier: 1, options: { strides: 2, dilations: 2, padding: "same" } });
  list.push({ shape: [1, 10, 11, 4], kernel: 2, multiplier: 4, options: { strides: 3, padding: "valid" } });
  list.push({ shape: [1, 3, 3, 8], kernel: 5, multiplier: 1, options: { padding: "same" } });
  list.push({ shape: [1, 5, 4, 3], kernel: 3, multiplier: 1, options: { padding: [4, 3, 0, 5] } });
  return list;
}

const TOLERANCE = 1e-5;

describe("depthwise kernels match the reference", () => {
  for (const c of randomCases()) {
    it(label(c), () => {
      const g = convGeometry(c.shape, c.kernel, c.options);
      const C = c.shape[3];
      const channels = C * c.multiplier;
      const seed = c.shape.reduce((a, b) => a * b, 1) * 31 + channels * 7 + g.kernelHeight;
      const x = randomFloats(c.shape.reduce((a, b) => a * b, 1), seed);
      const f = randomFloats(g.kernelHeight * g.kernelWidth * channels, seed + 1);
      const dy = randomFloats(g.rows * channels, seed + 2);

      const y = depthwiseConv2dRef(x, f, g, c.multiplier);
      expect(maxRelativeError(depthwiseConv2d(x, f, g, c.multiplier), y)).toBeLessThanOrEqual(TOLERANCE);
      expect(maxRelativeError(runInline(kernels(), depthwiseConv2dOp(x, f, g, c.multiplier), 3), y)).toBeLessThanOrEqual(TOLERANCE);

      const dx = depthwiseConv2dInputGradRef(dy, f, g, c.multiplier);
      expect(maxRelativeError(depthwiseConv2dInputGrad(dy, f, g, c.multiplier), dx)).toBeLessThanOrEqual(TOLERANCE);
      expect(maxRelativeError(runInline(kernels(), depthwiseConv2dInputGradOp(dy, f, g, c.multiplier), 4), dx)).toBeLessThanOrEqual(TOLERANCE);

      const df = depthwiseConv2dFilterGradRef(x, dy, g, c.multiplier);
      expect(maxRelativeError(depthwiseConv2dFilterGrad(x, dy, g, c.multiplier), df)).toBeLessThanOrEqual(TOLERANCE);
      // 2 parts split channels when there are many, 5 parts split images (and sum the partials)
      for (const parts of [2, 5]) {
        expect(maxRelativeError(runInline(kernels(), depthwiseConv2dFilterGradOp(x, dy, g, c.multiplier), parts), df)).toBeLessThanOrEqual(TOLERANCE);
      }
    });
  }
});

describe("depthwise gradients are the adjoints of the forward pass", () => {
  it("x=[2,7,6,5] f=3x3x5x2 s=2 p=same: <conv(x), dy> == <x, dx(dy)> == <f, df(x, dy)>", () => {
    const g = convGeometry([2, 7, 6, 5], 3, { strides: 2, padding: "same" });
    const x = randomFloats(2 * 7 * 6 * 5, 1);
    const f = randomFloats(3 * 3 * 10, 2);
    const dy = randomFloats(g.rows * 10, 3);
    const dot = (a: Float32Array, b: Float32Array): number => a.reduce((s, v, i) => s + v * b[i], 0);
    const forward = dot(depthwiseConv2d(x, f, g, 2), dy);
    expect(dot(x, depthwiseConv2dInputGrad(dy, f, g, 2))).toBeCloseTo(forward, 4);
    expect(dot(f, depthwiseConv2dFilterGrad(x, dy, g, 2))).toBeCloseTo(forward, 4);
  });
});

describe("depthwise forward with fused bias and activation", () => {
  const activations: DepthwiseActivation[] = ["linear", "relu", "relu6"];
  for (const [shape, multiplier] of [[[2, 7, 9, 17], 1], [[1, 6, 5, 3], 2]] as Array<[Shape, number]>) {
    for (const activation of activations) {
      it(`x=[${shape}] f=3x3x${shape[3]}x${multiplier} p=same bias ${activation}`, () => {
        const g = convGeometry(shape, 3, { padding: "same" });
        const channels = shape[3] * multiplier;
        // scaled so that relu6 clips at both ends
        const x = randomFloats(shape.reduce((a, b) => a * b, 1), 5, 4);
        const f = randomFloats(9 * channels, 6);
        const bias = randomFloats(channels, 7, 3);
        const expected = depthwiseConv2dRef(x, f, g, multiplier, bias, activation);
        expect(maxRelativeError(depthwiseConv2d(x, f, g, multiplier, { bias, activation }), expected)).toBeLessThanOrEqual(TOLERANCE);
        expect(maxRelativeError(runInline(kernels(), depthwiseConv2dOp(x, f, g, multiplier, { bias, activation }), 3), expected)).toBeLessThanOrEqual(TOLERANCE);
        if (activation === "relu6") {
          const y = depthwiseConv2d(x, f, g, multiplier, { bias, activation });
          expect(Math.min(...y)).toBe(0);
          expect(Math.max(...y)).toBe(6);
        }
      });
    }
  }
});

describe("depthwise edge cases", () => {
  it("x=[0,5,5,4] f=3x3x4x2 p=same: an empty batch gives an empty output and a zero filter gradient", () => {
    const g = convGeometry([0, 5, 5, 4], 3, { padding: "same" });
    expect(depthwiseConv2d(new Float32Array(0), randomFloats(72, 1), g, 2).length).toBe(0);
    expect(depthwiseConv2dInputGrad(new Float32Array(0), randomFloats(72, 1), g, 2).length).toBe(0);
    const df = runInline(kernels(), depthwiseConv2dFilterGradOp(new Float32Array(0), new Float32Array(0), g, 2), 4);
    expect(Array.from(df)).toEqual(new Array(72).fill(0));
  });
  it("x=[1,1,1,5] f=3x3x5x1 p=same: only the centre tap lies inside the input", () => {
    const g = convGeometry([1, 1, 1, 5], 3, { padding: "same" });
    const x = Float32Array.from([1, 2, 3, 4, 5]);
    const f = Float32Array.from({ length: 45 }, (_, i) => i);
    expect(Array.from(depthwiseConv2d(x, f, g, 1))).toEqual([20, 42, 66, 92, 120]);
  });
  it("x=[2,9,11,16] f=3x3x16x1 p=same works on arrays resident in kernel memory", () => {
    const core = kernels();
    const g = convGeometry([2, 9, 11, 16], 3, { padding: "same" });
    const x = core.allocCopy(randomFloats(2 * 9 * 11 * 16, 5));
    const f = core.allocCopy(randomFloats(9 * 16, 6));
    const out = core.alloc(Float32Array, g.rows * 16);
    expect(depthwiseConv2d(x, f, g, 1, {}, out)).toBe(out);
    expect(maxRelativeError(out, depthwiseConv2dRef(x, f, g, 1))).toBeLessThanOrEqual(TOLERANCE);
    const dx = core.alloc(Float32Array, x.length);
    expect(depthwiseConv2dInputGrad(out, f, g, 1, dx)).toBe(dx);
    expect(maxRelativeError(dx, depthwiseConv2dInputGradRef(out, f, g, 1))).toBeLessThanOrEqual(TOLERANCE);
    for (const array of [x, f, out, dx]) core.free(array);
  });
  it("leaves no temporaries behind", () => {
    const core = kernels();
    const before = core.bytesInUse;
    const g = convGeometry([3, 6, 6, 5], 3, { padding: "same" });
    const x = randomFloats(3 * 36 * 5, 1);
    const dy = randomFloats(g.rows * 10, 2);
    runInline(core, depthwiseConv2dOp(x, randomFloats(90, 3), g, 2, { bias: randomFloats(10, 4) }), 3);
    runInline(core, depthwiseConv2dInputGradOp(dy, randomFloats(90, 3), g, 2), 3);
    runInline(core, depthwiseConv2dFilterGradOp(x, dy, g, 2), 3);
    expect(core.bytesInUse).toBe(before);
  });
});

describe("depthwise argument errors", () => {
  const g = convGeometry([1, 5, 5, 2], 3, { padding: "same" });
  const x = new Float32Array(50);
  it("names the array, the shape it must hold and what it got", () => {
    expect(() => depthwiseConv2d(new Float32Array(49), new Float32Array(36), g, 2)).toThrow(
      /depthwiseConv2d: x must hold \[1, 5, 5, 2\] \(50 elements\), but has 49/,
    );
    expect(() => depthwiseConv2d(x, new Float32Array(18), g, 2)).toThrow(/depthwiseConv2d: filter must hold \[3, 3, 2, 2\] \(36 elements\), but has 18/);
    expect(() => depthwiseConv2d(x, new Float32Array(36), g, 2, { bias: new Float32Array(2) })).toThrow(/bias must hold \[4\] \(4 elements\), but has 2/);
    expect(() => depthwiseConv2d(x, new Float32Array(36), g, 2, {}, new Float32Array(50))).toThrow(/out must hold \[1, 5, 5, 4\] \(100 elements\), but has 50/);
    expect(() => depthwiseConv2dInputGrad(new Float32Array(50), new Float32Array(36), g, 2)).toThrow(
      /depthwiseConv2dInputGrad: dy must hold \[1, 5, 5, 4\] \(100 elements\), but has 50/,
    );
    expect(() => depthwiseConv2dFilterGrad(x, new Float32Array(100), g, 2, new Float32Array(3))).toThrow(
      /depthwiseConv2dFilterGrad: out must hold \[3, 3, 2, 2\] \(36 elements\), but has 3/,
    );
  });
  it("rejects a bad multiplier, activation or geometry", () => {
    expect(() => depthwiseConv2d(x, new Float32Array(36), g, 0)).toThrow(/depthwiseConv2d: multiplier must be an integer in 1\.\..*but got 0/);
    expect(() => depthwiseConv2dFilterGrad(x, new Float32Array(50), g, 1.5)).toThrow(/multiplier must be an integer .* but got 1.5/);
    expect(() => depthwiseConv2d(x, new Float32Array(18), g, 1, { activation: "elu" as DepthwiseActivation })).toThrow(
      /activation must be 'linear', 'relu' or 'relu6', but got 'elu'/,
    );
    expect(() => depthwiseConv2d(x, new Float32Array(18), { ...g, rows: 3 }, 1)).toThrow(/geometry.rows \(3\) and patchSize \(18\) do not match/);
  });
});
