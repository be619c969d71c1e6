import * as tf from "@tensorflow/tfjs-core";
import { describe, expect, it } from "vitest";
import { innerKernelFunc } from "../../src/backend/register.js";
import { depthwiseConv2dNativeConfig } from "../../src/backend/kernels/DepthwiseConv2dNative.js";
import { depthwiseConv2dNativeBackpropFilterConfig } from "../../src/backend/kernels/DepthwiseConv2dNativeBackpropFilter.js";
import { depthwiseConv2dNativeBackpropInputConfig } from "../../src/backend/kernels/DepthwiseConv2dNativeBackpropInput.js";
import { fusedDepthwiseConv2DConfig } from "../../src/backend/kernels/FusedDepthwiseConv2D.js";
import { errorAgainstCpu, OURS, seededValues } from "./compare.js";

type Pad = "same" | "valid" | number | [[number, number], [number, number], [number, number], [number, number]];

interface Case {
  x: number[];
  /** [kh, kw, C, multiplier] */
  f: number[];
  strides: number | [number, number];
  pad: Pad;
  dilations?: number | [number, number];
  rounding?: "floor" | "round" | "ceil";
}

const size = (shape: number[]): number => shape.reduce((p, d) => p * d, 1);
const padLabel = (p: Pad): string => (Array.isArray(p) ? JSON.stringify(p) : `${p}`);
const label = (c: Case): string =>
  `x=[${c.x}] f=[${c.f}] s=${c.strides} d=${c.dilations ?? 1} p=${padLabel(c.pad)}${c.rounding ? ` ${c.rounding}` : ""}`;

const inputs = (c: Case): [tf.Tensor4D, tf.Tensor4D] => [
  tf.tensor4d(seededValues(size(c.x), 11), c.x as [number, number, number, number]),
  tf.tensor4d(seededValues(size(c.f), 12), c.f as [number, number, number, number]),
];

const TOLERANCE = 1e-4;

const forwardCases: Case[] = [
  { x: [2, 9, 9, 8], f: [3, 3, 8, 1], strides: 1, pad: "same" },
  { x: [2, 9, 9, 8], f: [3, 3, 8, 1], strides: 2, pad: "same" },
  { x: [1, 11, 7, 3], f: [5, 5, 3, 2], strides: 1, pad: "valid" },
  { x: [3, 8, 10, 17], f: [3, 3, 17, 1], strides: 1, pad: "same", dilations: 2 },
  { x: [1, 7, 7, 4], f: [3, 3, 4, 2], strides: [2, 1], pad: [[0, 0], [1, 2], [0, 1], [0, 0]] },
  { x: [1, 9, 9, 5], f: [3, 3, 5, 1], strides: 2, pad: 1, rounding: "ceil" },
  { x: [1, 10, 10, 1], f: [3, 3, 1, 3], strides: 2, pad: 0, rounding: "round" },
];

describe("DepthwiseConv2dNative on the pocketflow backend matches cpu", () => {
  for (const c of forwardCases) {
    it(label(c), async () => {
      const err = await errorAgainstCpu(() => {
        const [x, f] = inputs(c);
        return tf.depthwiseConv2d(x, f, c.strides, c.pad, "NHWC", c.dilations ?? 1, c.rounding);
      });
      expect(err).toBeLessThanOrEqual(TOLERANCE);
    });
  }
  it("x=[6,6,4] (rank 3) f=[3,3,4,1] s=1 p=same", async () => {
    const err = await errorAgainstCpu(() =>
      tf.depthwiseConv2d(tf.tensor3d(seededValues(144, 1), [6, 6, 4]), tf.tensor4d(seededValues(36, 2), [3, 3, 4, 1]), 1, "same"));
    expect(err).toBeLessThanOrEqual(TOLERANCE);
  });
});

// tfjs's depthwise gradient supports dilation 1 only
const gradientCases: Case[] = [
  { x: [2, 9, 9, 8], f: [3, 3, 8, 1], strides: 1, pad: "same" },
  { x: [2, 9, 9, 8], f: [3, 3, 8, 1], strides: 2, pad: "same" },
  { x: [3, 7, 11, 17], f: [3, 3, 17, 1], strides: 2, pad: "valid" },
  { x: [2, 8, 8, 3], f: [5, 5, 3, 2], strides: 1, pad: "same" },
  { x: [1, 9, 7, 4], f: [3, 3, 4, 2], strides: [2, 1], pad: [[0, 0], [2, 0], [1, 1], [0, 0]] },
  { x: [4, 16, 16, 32], f: [3, 3, 32, 1], strides: 1, pad: "same" },
];

describe("depthwise gradients (DepthwiseConv2dNativeBackpropInput and BackpropFilter) match cpu", () => {
  for (const c of gradientCases) {
    it(`dx and df of ${label(c)}`, async () => {
      const err = await errorAgainstCpu(() => {
        const [x, f] = inputs(c);
        const loss = (x: tf.Tensor, f: tf.Tensor): tf.Scalar =>
          tf.sum(tf.mul(tf.depthwiseConv2d(x as tf.Tensor4D, f as tf.Tensor4D, c.strides, c.pad), tf.cos(tf.depthwiseConv2d(x as tf.Tensor4D, f as tf.Tensor4D, c.strides, c.pad))));
        return tf.grads(loss)([x, f]);
      });
      expect(err).toBeLessThanOrEqual(TOLERANCE);
    });
  }
});

describe("FusedDepthwiseConv2D on the pocketflow backend matches cpu", () => {
  const c: Case = { x: [2, 9, 9, 8], f: [3, 3, 8, 2], strides: 1, pad: "same" };
  // values scaled so that relu6 clips at both ends
  const fused = (activation: tf.fused.Activation, biasShape: number[] = [16]) => (): tf.Tensor => {
    const [x, f] = inputs(c);
    return tf.fused.depthwiseConv2d({
      x: tf.mul(x, 4) as tf.Tensor4D, filter: f, strides: 1, pad: "same", bias: tf.tensor(seededValues(size(biasShape), 13), biasShape), activation,
      preluActivationWeights: activation === "prelu" ? tf.tensor1d(seededValues(16, 14)) : undefined, leakyreluAlpha: 0.1,
    });
  };
  for (const activation of ["linear", "relu", "relu6", "elu", "prelu", "leakyrelu", "sigmoid"] as tf.fused.Activation[]) {
    it(`${label(c)} bias=[16] ${activation}`, async () => {
      expect(await errorAgainstCpu(fused(activation))).toBeLessThanOrEqual(TOLERANCE);
    });
  }
  it(`${label(c)} bias=[1] (scalar, added after the kernel) relu6`, async () => {
    expect(await errorAgainstCpu(fused("relu6", [1]))).toBeLessThanOrEqual(TOLERANCE);
  });
  it(`${label(c)} bias=[1,1,16] relu6`, async () => {
    expect(await errorAgainstCpu(fused("relu6", [1, 1, 16]))).toBeLessThanOrEqual(TOLERANCE);
  });
  it("relu6 really clips on ours", async () => {
    await tf.setBackend(OURS);
    const y = tf.tidy(() => fused("relu6")().dataSync());
    expect(Math.min(...y)).toBe(0);
    expect(Math.max(...y)).toBe(6);
  });
  for (const activation of ["linear", "relu", "relu6"] as tf.fused.Activation[]) {
    it(`gradients of tf.fused.depthwiseConv2d ${label(c)} with bias and ${activation} (dx, df, dbias)`, async () => {
      const err = await errorAgainstCpu(() => {
        const [x, f] = inputs(c);
        const b = tf.tensor1d(seededValues(16, 13));
        const loss = (x: tf.Tensor, f: tf.Tensor, b: tf.Tensor): tf.Scalar =>
          tf.sum(tf.square(tf.fused.depthwiseConv2d({ x: x as tf.Tensor4D, filter: f as tf.Tensor4D, strides: 1, pad: "same", bias: b, activation })));
        return tf.grads(loss)([tf.mul(x, 4), f, b]);
      });
      expect(err).toBeLessThanOrEqual(TOLERANCE);
    });
  }
});

describe("depthwise kernels refuse what they cannot do", () => {
  it("all four depthwise kernels are ours, not cpu's copies", () => {
    for (const [name, config] of [
      ["DepthwiseConv2dNative", depthwiseConv2dNativeConfig], ["DepthwiseConv2dNativeBackpropInput", depthwiseConv2dNativeBackpropInputConfig],
      ["DepthwiseConv2dNativeBackpropFilter", depthwiseConv2dNativeBackpropFilterConfig], ["FusedDepthwiseConv2D", fusedDepthwiseConv2DConfig],
    ] as const) {
      expect(config.kernelName).toBe(name);
      expect(innerKernelFunc(tf.getKernel(name, OURS)?.kernelFunc)).toBe(config.kernelFunc);
    }
  });
  it("NCHW is a clear error", async () => {
    await tf.setBackend(OURS);
    const x = tf.zeros([1, 4, 6, 6]) as tf.Tensor4D;
    const f = tf.zeros([3, 3, 4, 1]) as tf.Tensor4D;
    expect(() => tf.depthwiseConv2d(x, f, 1, "same", "NCHW")).toThrow(/DepthwiseConv2dNative: the pocketflow backend supports dataFormat 'NHWC' only, but got 'NCHW'/);
    tf.dispose([x, f]);
  });
  it("an int32 input asks for a cast", async () => {
    await tf.setBackend(OURS);
    const x = tf.zeros([1, 4, 4, 2], "int32");
    const f = tf.zeros([3, 3, 2, 1]);
    expect(() => tf.engine().runKernel("DepthwiseConv2dNative", { x, filter: f }, { strides: 1, pad: "same", dataFormat: "NHWC", dilations: 1 }))
      .toThrow(/DepthwiseConv2dNative: the pocketflow backend computes in float32, but got a int32 tensor/);
    tf.dispose([x, f]);
  });
});
