import { describe, expect, it } from "vitest";
import { convGeometry, type ConvGeometry, type Padding } from "../../src/kernels/conv-geometry.js";
import { kernels } from "../../src/kernels/core.js";
import { runInline } from "../../src/kernels/operation.js";
import {
  avgPool2d, avgPool2dGrad, avgPool2dGradOp, avgPool2dOp, maxPool2d, maxPool2dGrad,
  maxPool2dGradOp, maxPool2dOp,
} from "../../src/kernels/pooling.js";
import { avgPool2dGradRef, avgPool2dRef, maxPool2dGradRef, maxPool2dRef } from "../../src/kernels/reference.js";
import { randomFloats } from "./random.js";

type Shape = [number, number, number, number];

interface Case {
  shape: Shape;
  window: number;
  stride: number;
  padding: Padding;
}

const label = (c: Case): string =>
  `x=[${c.shape.join(",")}] ${c.window}x${c.window} s=${c.stride} p=${typeof c.padding === "string" ? c.padding : `[${c.padding.join(",")}]`}`;

/** Largest |a - b| / max(1, |b|); NaN against non-NaN counts as infinitely wrong. */
function relativeError(actual: Float32Array, expected: Float32Array): number {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) {
    if (Object.is(actual[i], expected[i]) || (Number.isNaN(actual[i]) && Number.isNaN(expected[i]))) continue;
    const err = Math.abs(actual[i] - expected[i]) / Math.max(1, Math.abs(expected[i]));
    if (!(err <= worst)) worst = Number.isNaN(err) ? Infinity : err;
  }
  return worst;
}

/** Values on a coarse grid, so that windows often hold ties. */
const coarse = (n: number, seed: number): Float32Array => randomFloats(n, seed).map((v) => Math.round(v * 3) / 3);

function cases(): Case[] {
  const list: Case[] = [];
  const spatial: Array<[number, number, number]> = [[2, 7, 9], [1, 9, 7], [3, 5, 6], [1, 8, 11]];
  let i = 0;
  for (const channels of [1, 3, 4, 6, 8, 17]) {
    for (const window of [2, 3]) {
      for (const stride of [1, 2]) {
        for (const padding of ["same", "valid"] as Padding[]) {
          const [n, h, w] = spatial[i++ % spatial.length];
          list.push({ shape: [n, h, w, channels], window, stride, padding });
        }
      }
    }
  }
  // wide channels, explicit and lopsided padding (windows partly and wholly outside), stride > window
  list.push({ shape: [2, 6, 6, 37], window: 3, stride: 2, padding: "same" });
  list.push({ shape: [1, 5, 7, 5], window: 3, stride: 1, padding: [2, 1, 0, 2] });
  list.push({ shape: [2, 4, 4, 7], window: 2, stride: 2, padding: [3, 0, 0, 3] });
  list.push({ shape: [1, 9, 9, 16], window: 2, stride: 3, padding: "valid" });
  return list;
}

const TOLERANCE = 1e-5;

describe("pooling kernels match the reference", () => {
  for (const c of cases()) {
    it(label(c), () => {
      const g = convGeometry(c.shape, c.window, { strides: c.stride, padding: c.padding });
      const seed = c.shape.reduce((a, b) => a * b, 1) * 7 + c.window * 3 + c.stride;
      const x = coarse(g.batch * g.inHeight * g.inWidth * g.inChannels, seed);
      const dy = randomFloats(g.rows * g.inChannels, seed + 1);
      // max pooling picks values and routes dy exactly as the reference does, ties included
      expect(relativeError(maxPool2d(x, g), maxPool2dRef(x, g))).toBe(0);
      expect(relativeError(maxPool2dGrad(x, dy, g), maxPool2dGradRef(x, dy, g))).toBeLessThanOrEqual(TOLERANCE);
      expect(relativeError(avgPool2d(x, g), avgPool2dRef(x, g))).toBeLessThanOrEqual(TOLERANCE);
      expect(relativeError(avgPool2dGrad(dy, g), avgPool2dGradRef(dy, g))).toBeLessThanOrEqual(TOLERANCE);
      // split over 3 parts as the pool would split them: the same results
      const core = kernels();
      expect(runInline(core, maxPool2dOp(x, g), 3)).toEqual(maxPool2d(x, g));
      expect(runInline(core, avgPool2dOp(x, g), 3)).toEqual(avgPool2d(x, g));
      expect(runInline(core, maxPool2dGradOp(x, dy, g), 3)).toEqual(maxPool2dGrad(x, dy, g));
      expect(runInline(core, avgPool2dGradOp(dy, g), 3)).toEqual(avgPool2dGrad(dy, g));
    });
  }

  it("max pooling skips NaN, keeps -Infinity and passes no gradient from a window without a maximum", () => {
    const g: ConvGeometry = convGeometry([1, 2, 4, 5], 2, { strides: 2, padding: "valid" });
    const x = new Float32Array(40).fill(-Infinity);
    // window 0: NaN first, then 2 and a tie at 2; window 1: all -Infinity except a NaN
    for (let c = 0; c < 5; c++) {
      x[0 * 5 + c] = NaN;
      x[1 * 5 + c] = 2;
      x[4 * 5 + c] = 2;
      x[6 * 5 + c] = NaN;
    }
    const dy = Float32Array.from({ length: 10 }, (_, i) => i + 1);
    const y = maxPool2d(x, g);
    expect(Array.from(y)).toEqual([2, 2, 2, 2, 2, -Infinity, -Infinity, -Infinity, -Infinity, -Infinity]);
    expect(y).toEqual(maxPool2dRef(x, g));
    const dx = maxPool2dGrad(x, dy, g);
    expect(dx).toEqual(maxPool2dGradRef(x, dy, g));
    expect(Array.from(dx.subarray(5, 10))).toEqual([1, 2, 3, 4, 5]); // the first 2 wins the tie
    expect(dx.reduce((a, b) => a + b, 0)).toBe(15);
  });

  it("average pooling and its gradient honour the padding rules", () => {
    // 'same' 3x3 on 3x3: the corner window holds 4 positions, the centre 9
    const g = convGeometry([1, 3, 3, 4], 3, { strides: 1, padding: "same" });
    const x = new Float32Array(36).fill(1);
    expect(Array.from(avgPool2d(x, g))).toEqual(new Array(36).fill(1));
    // the gradient scales by 1/9 everywhere, as tfjs's cpu backend does; a custom scale is honoured
    const dy = new Float32Array(36).fill(9);
    expect(avgPool2dGrad(dy, g)[0]).toBeCloseTo(4, 5);
    expect(avgPool2dGrad(dy, g, 0.5)[0]).toBeCloseTo(18, 5);
  });

  it("rejects dilated pools and wrong sizes", () => {
    const g = convGeometry([1, 5, 5, 2], 2, { strides: 1, dilations: 2, padding: "valid" });
    expect(() => maxPool2d(new Float32Array(50), g)).toThrow(/dilation 1/);
    const h = convGeometry([1, 5, 5, 2], 2, { strides: 1, padding: "valid" });
    expect(() => avgPool2d(new Float32Array(49), h)).toThrow(/x must hold/);
  });
});
