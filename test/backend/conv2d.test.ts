import * as tf from "@tensorflow/tfjs-core";
import { describe, expect, it } from "vitest";
import { innerKernelFunc } from "../../src/backend/register.js";
import { conv2DConfig } from "../../src/backend/kernels/Conv2D.js";
import { DENSE_CONV_KERNELS } from "../../src/backend/kernels/dense-conv-kernels.js";
import { errorAgainstCpu, OURS, runOn, seededValues } from "./compare.js";

type Shape4 = [number, number, number, number];
type Pad = "same" | "valid" | number | [[number, number], [number, number], [number, number], [number, number]];

interface Case {
  x: Shape4;
  w: Shape4;
  strides: number | [number, number];
  pad: Pad;
  dilations?: number;
  dimRoundingMode?: "floor" | "round" | "ceil";
}

const size = (shape: readonly number[]): number => shape.reduce((p, d) => p * d, 1);
const tensor = (shape: number[], seed: number, scale = 1): tf.Tensor =>
  tf.tensor(seededValues(size(shape), seed).map((v) => v * scale), shape);
const padLabel = (pad: Pad): string => (Array.isArray(pad) ? `[${pad.map((p) => p.join(",")).join(";")}]` : `${pad}`);
const label = (c: Case): string =>
  `x=[${c.x}] w=[${c.w}] s=${c.strides} p=${padLabel(c.pad)}${c.dilations ? ` d=${c.dilations}` : ""}${c.dimRoundingMode ? ` round=${c.dimRoundingMode}` : ""}`;

const CASES: Case[] = [
  { x: [2, 9, 9, 3], w: [3, 3, 3, 8], strides: 1, pad: "same" },
  { x: [2, 8, 8, 8], w: [3, 3, 8, 16], strides: 1, pad: "same" },
  { x: [3, 8, 7, 17], w: [3, 3, 17, 5], strides: 2, pad: "same" },
  { x: [2, 11, 9, 8], w: [5, 5, 8, 16], strides: 2, pad: "valid" },
  { x: [2, 6, 6, 16], w: [1, 1, 16, 32], strides: 1, pad: "valid" },
  { x: [2, 7, 7, 8], w: [1, 1, 8, 4], strides: 2, pad: "same" },
  { x: [1, 10, 8, 3], w: [3, 3, 3, 4], strides: [2, 1], pad: [[0, 0], [1, 2], [0, 1], [0, 0]] },
  { x: [2, 9, 9, 4], w: [3, 3, 4, 6], strides: 2, pad: 1, dimRoundingMode: "ceil" },
  { x: [2, 8, 8, 4], w: [3, 3, 4, 6], strides: 3, pad: 1, dimRoundingMode: "round" },
];

describe("the pocketflow backend registers its dense conv kernels", () => {
  it("Conv2D, Conv2DBackpropInput, Conv2DBackpropFilter, FusedConv2D and _FusedMatMul are ours", () => {
    expect(DENSE_CONV_KERNELS.map((k) => k.kernelName).sort()).toEqual(
      ["Conv2D", "Conv2DBackpropFilter", "Conv2DBackpropInput", "FusedConv2D", "_FusedMatMul"],
    );
    for (const config of DENSE_CONV_KERNELS) expect(innerKernelFunc(tf.getKernel(config.kernelName, OURS)?.kernelFunc)).toBe(config.kernelFunc);
    expect(conv2DConfig.backendName).toBe(OURS);
  });
});

describe("Conv2D matches cpu", () => {
  for (const c of [...CASES, { x: [1, 9, 9, 3], w: [3, 3, 3, 4], strides: 1, pad: "same", dilations: 2 } as Case]) {
    it(label(c), async () => {
      const err = await errorAgainstCpu(() =>
        tf.conv2d(tensor(c.x, 1) as tf.Tensor4D, tensor(c.w, 2) as tf.Tensor4D, c.strides, c.pad, "NHWC", c.dilations ?? 1, c.dimRoundingMode));
      expect(err).toBeLessThanOrEqual(1e-4);
    });
  }
});

describe("Conv2D gradients (Conv2DBackpropInput, Conv2DBackpropFilter) through tf.grads match cpu", () => {
  for (const c of CASES) {
    it(`dx and dw of ${label(c)}`, async () => {
      const err = await errorAgainstCpu(() => {
        const loss = (x: tf.Tensor, w: tf.Tensor): tf.Scalar =>
          tf.sum(tf.mul(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.strides, c.pad, "NHWC", 1, c.dimRoundingMode), tensor([1, 1, 1, c.w[3]], 3)));
        return tf.grads(loss)([tensor(c.x, 4), tensor(c.w, 5)]);
      });
      expect(err).toBeLessThanOrEqual(1e-4);
    });
  }
  it("conv2dTranspose x=[2,5,5,8] w=[3,3,4,8] s=2 p=same", async () => {
    const err = await errorAgainstCpu(() => tf.conv2dTranspose(tensor([2, 5, 5, 8], 6) as tf.Tensor4D, tensor([3, 3, 4, 8], 7) as tf.Tensor4D, [2, 10, 10, 4], 2, "same"));
    expect(err).toBeLessThanOrEqual(1e-4);
  });
});

describe("FusedConv2D via tf.fused.conv2d matches cpu", () => {
  const x: Shape4 = [2, 9, 7, 5];
  const w: Shape4 = [3, 3, 5, 6];
  const cases: Array<[string, tf.fused.Activation, number[] | undefined, number[] | undefined]> = [
    ["bias=[6] relu", "relu", [6], undefined],
    ["bias=[1] relu6", "relu6", [1], undefined],
    ["no bias elu", "elu", undefined, undefined],
    ["bias=[6] leakyrelu alpha=0.1", "leakyrelu", [6], undefined],
    ["bias=[6] prelu weights=[6]", "prelu", [6], [6]],
    ["bias=[6] sigmoid", "sigmoid", [6], undefined],
    ["bias=[6] linear", "linear", [6], undefined],
    // broadcasts we do not fuse: the conv is ours, the tail runs on the cpu kernels
    ["bias=[9,7,6] relu (not fused)", "relu", [9, 7, 6], undefined],
    ["bias=[6] prelu weights=[9,7,6] (not fused)", "prelu", [6], [9, 7, 6]],
  ];
  for (const [name, activation, biasShape, preluShape] of cases) {
    it(`x=[${x}] w=[${w}] s=1 p=same ${name}`, async () => {
      const err = await errorAgainstCpu(() => tf.fused.conv2d({
        x: tensor(x, 8) as tf.Tensor4D, filter: tensor(w, 9) as tf.Tensor4D, strides: 1, pad: "same",
        bias: biasShape && tensor(biasShape, 10), activation,
        preluActivationWeights: preluShape && tensor(preluShape, 11), leakyreluAlpha: 0.1,
      }));
      expect(err).toBeLessThanOrEqual(1e-4);
    });
  }
  it("gradients of tf.fused.conv2d with bias + relu: dx, dw and dbias", async () => {
    const err = await errorAgainstCpu(() => {
      const f = (xt: tf.Tensor, wt: tf.Tensor, bt: tf.Tensor): tf.Scalar => tf.sum(tf.square(tf.fused.conv2d({
        x: xt as tf.Tensor4D, filter: wt as tf.Tensor4D, strides: 2, pad: "same", bias: bt, activation: "relu",
      })));
      return tf.grads(f)([tensor([2, 8, 8, 3], 12), tensor([3, 3, 3, 8], 13), tensor([8], 14)]);
    });
    expect(err).toBeLessThanOrEqual(1e-4);
  });
  it("gradients of tf.fused.conv2d with bias, linear (the fused kernel under tf.grads)", async () => {
    const err = await errorAgainstCpu(() => {
      const f = (xt: tf.Tensor, wt: tf.Tensor, bt: tf.Tensor): tf.Scalar => tf.sum(tf.square(tf.fused.conv2d({
        x: xt as tf.Tensor4D, filter: wt as tf.Tensor4D, strides: 1, pad: "valid", bias: bt,
      })));
      return tf.grads(f)([tensor([2, 7, 7, 4], 15), tensor([3, 3, 4, 5], 16), tensor([5], 17)]);
    });
    expect(err).toBeLessThanOrEqual(1e-4);
  });
});

describe("_FusedMatMul via tf.fused.matMul matches cpu", () => {
  const cases: Array<[number[], number[], boolean, boolean, number[] | undefined, tf.fused.Activation]> = [
    [[32, 20], [20, 10], false, false, [10], "relu"],
    [[20, 32], [20, 10], true, false, [1], "linear"],
    [[32, 20], [10, 20], false, true, [10], "sigmoid"],
    [[3, 17, 9], [3, 9, 5], false, false, [5], "elu"],
    [[17, 9], [9, 5], false, false, [17, 5], "relu6"], // full-matrix bias: cpu tail
    [[8, 12], [12, 6], false, false, undefined, "leakyrelu"],
  ];
  for (const [aShape, bShape, transposeA, transposeB, biasShape, activation] of cases) {
    it(`a=[${aShape}] b=[${bShape}] transposeA=${transposeA} transposeB=${transposeB} bias=${biasShape ? `[${biasShape}]` : "none"} ${activation}`, async () => {
      const err = await errorAgainstCpu(() => tf.fused.matMul({
        a: tensor(aShape, 18), b: tensor(bShape, 19), transposeA, transposeB, bias: biasShape && tensor(biasShape, 20), activation,
      }));
      expect(err).toBeLessThanOrEqual(1e-4);
    });
  }
  it("gradients of a dense layer with bias (tf.fused.matMul, linear)", async () => {
    const err = await errorAgainstCpu(() => {
      const f = (a: tf.Tensor, b: tf.Tensor, bias: tf.Tensor): tf.Scalar => tf.sum(tf.square(tf.fused.matMul({ a: a as tf.Tensor2D, b: b as tf.Tensor2D, bias })));
      return tf.grads(f)([tensor([16, 24], 21), tensor([24, 7], 22), tensor([7], 23)]);
    });
    expect(err).toBeLessThanOrEqual(1e-4);
  });
});

describe("dense conv kernels reject what they do not compute", () => {
  it("NCHW input names the data format and the fix", async () => {
    await expect(runOn(OURS, () => tf.conv2d(tensor([1, 3, 5, 5], 1) as tf.Tensor4D, tensor([3, 3, 3, 2], 2) as tf.Tensor4D, 1, "same", "NCHW")))
      .rejects.toThrow(/Conv2D: the pocketflow backend computes convolutions in NHWC .* but got dataFormat 'NCHW'/);
  });
  it("int32 tensors (the kernel called directly) ask for a cast", async () => {
    const attrs = { strides: 1, pad: "same", dataFormat: "NHWC", dilations: 1 };
    await expect(runOn(OURS, () => tf.engine().runKernel("Conv2D", { x: tf.zeros([1, 5, 5, 1], "int32"), filter: tf.zeros([3, 3, 1, 1], "int32") }, attrs) as tf.Tensor))
      .rejects.toThrow(/Conv2D: the pocketflow backend computes in float32, but got a int32 tensor/);
  });
  it("a filter whose input channels differ from x's names both shapes", async () => {
    const attrs = { strides: 1, pad: "same", dataFormat: "NHWC", dilations: 1 };
    await expect(runOn(OURS, () => tf.engine().runKernel("Conv2D", { x: tf.zeros([1, 5, 5, 2]), filter: tf.zeros([3, 3, 1, 1]) }, attrs) as tf.Tensor))
      .rejects.toThrow(/Conv2D: the input has 2 channels \(x \[1,5,5,2\]\) but the filter expects 1/);
  });
});
