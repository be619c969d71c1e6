import { afterAll, describe, expect, it } from "vitest";
import { kernels } from "../../src/kernels/core.js";
import { gemmF32, gemmF32Op } from "../../src/kernels/gemm.js";
import { perChannel } from "../../src/kernels/grouping.js";
import type { OperationBuilder } from "../../src/kernels/operation.js";
import { computeQuantParams, quantize, quantizeOp } from "../../src/kernels/quantize.js";
import { SyncKernelPool } from "../../src/kernels/sync-pool.js";
import { randomFloats } from "./random.js";
import { conv2dBackpropFilterOp, conv2dBackpropInputOp, conv2dForwardOp } from "../../src/kernels/conv2d.js";
import { convGeometry } from "../../src/kernels/conv-geometry.js";
import { conv2dBackpropFilterRef } from "../../src/kernels/reference.js";
import { runInline } from "../../src/kernels/operation.js";
import { maxRelativeError } from "../relative-error.js";

const pool = new SyncKernelPool({ threads: 3 });
afterAll(() => pool.close());

describe("SyncKernelPool", () => {
  it("splits a GEMM over threads synchronously with the inline result (m=301 n=45 k=77)", () => {
    const [m, n, k] = [301, 45, 77];
    const a = randomFloats(m * k, 1);
    const b = randomFloats(k * n, 2);
    for (let round = 0; round < 3; round++) {
      expect(Array.from(pool.run(gemmF32Op(a, b, { m, n, k }), { forceSplit: true }))).toEqual(Array.from(gemmF32(a, b, { m, n, k })));
    }
  });

  it("splits convolutions by images on real threads: forward and dX as the inline run, dW within 1e-4 of the reference", () => {
    const g = convGeometry([7, 11, 9, 5], 3, { padding: "same", strides: 2 });
    const x = randomFloats(7 * 11 * 9 * 5, 11);
    const w = randomFloats(g.patchSize * 6, 12);
    const dy = randomFloats(g.rows * 6, 13);
    const bias = randomFloats(6, 14);
    for (const chunking of [{ chunkBytes: 1 }, {}]) {
      const forward = () => conv2dForwardOp(x, w, g, 6, { bias, activation: "relu6" }, undefined, chunking);
      expect(Array.from(pool.run(forward(), { forceSplit: true }))).toEqual(Array.from(runInline(kernels(), forward())));
      const input = () => conv2dBackpropInputOp(dy, w, g, 6, undefined, chunking);
      expect(Array.from(pool.run(input(), { forceSplit: true }))).toEqual(Array.from(runInline(kernels(), input())));
      const filter = pool.run(conv2dBackpropFilterOp(x, dy, g, 6, undefined, chunking), { forceSplit: true });
      expect(maxRelativeError(filter, conv2dBackpropFilterRef(x, dy, g, 6))).toBeLessThanOrEqual(1e-4);
    }
  });

  it("splits quantization per channel the same way", () => {
    const x = randomFloats(16 * 999, 3);
    const params = computeQuantParams(x, { bits: 4 }, perChannel([999, 16]));
    expect(Array.from(pool.run(quantizeOp(x, params), { forceSplit: true }))).toEqual(Array.from(quantize(x, params)));
  });

  it("reports a worker trap and keeps working, leaving no temporaries", () => {
    const before = kernels().bytesInUse;
    const outOfBounds: OperationBuilder<number> = () => ({
      phases: [[["copy_bytes", [0, 0, 16]], ["copy_bytes", [2 ** 31, 0, 16]], ["copy_bytes", [0, 0, 16]]]],
      costNs: 1e9,
      finish: () => 0,
      release: () => {},
    });
    expect(() => pool.run(outOfBounds)).toThrow(/worker failed: .*out of bounds/);
    const unknown: OperationBuilder<number> = () => ({
      phases: [[["copy_bytes", [0, 0, 0]], ["no_such_kernel", []]]],
      costNs: 1e9,
      finish: () => 0,
      release: () => {},
    });
    expect(() => pool.run(unknown)).toThrow(/no kernel named no_such_kernel/);
    const x = randomFloats(4000, 4);
    const params = computeQuantParams(x, { bits: 8 });
    expect(Array.from(pool.run(quantizeOp(x, params), { forceSplit: true }))).toEqual(Array.from(quantize(x, params)));
    expect(kernels().bytesInUse).toBe(before);
  });
});
