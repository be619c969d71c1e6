import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kernels } from "../../src/kernels/core.js";
import { gemmF32, gemmF32Op } from "../../src/kernels/gemm.js";
import { perBucket, perChannel } from "../../src/kernels/grouping.js";
import type { OperationBuilder } from "../../src/kernels/operation.js";
import { KernelPool } from "../../src/kernels/pool.js";
import { computeQuantParams, minMax, minMaxOp, quantize, quantizeOp } from "../../src/kernels/quantize.js";
import { randomFloats } from "./random.js";

let pool: KernelPool;
beforeAll(async () => {
  pool = await KernelPool.create({ threads: 2 });
});
afterAll(async () => {
  await pool.close();
});

describe("KernelPool", () => {
  it("gives the same GEMM result split over threads as inline (m=203 n=77 k=130)", async () => {
    const [m, n, k] = [203, 77, 130];
    const a = randomFloats(m * k, 1);
    const b = randomFloats(k * n, 2);
    const split = await pool.run(gemmF32Op(a, b, { m, n, k }), { forceSplit: true });
    expect(Array.from(split)).toEqual(Array.from(gemmF32(a, b, { m, n, k })));
  });

  it("gives the same quantization and statistics split over threads, for every grouping", async () => {
    const x = randomFloats(12 * 1000 + 36, 3, 2);
    for (const grouping of [undefined, perBucket(x.length, 256), perChannel([x.length / 12, 12])]) {
      const params = computeQuantParams(x, { bits: 5 }, grouping);
      const split = await pool.run(quantizeOp(x, params), { forceSplit: true });
      expect(Array.from(split)).toEqual(Array.from(quantize(x, params)));
      const stats = await pool.run(minMaxOp(x, grouping), { forceSplit: true });
      expect(stats).toEqual(minMax(x, grouping));
    }
  });

  it("reports a worker failure as an error and keeps working afterwards", async () => {
    const core = kernels();
    const before = core.bytesInUse;
    const broken: OperationBuilder<number> = () => ({
      phases: [[["no_such_kernel", []], ["no_such_kernel", []]]],
      costNs: 1e9,
      finish: () => 0,
      release: () => {},
    });
    await expect(pool.run(broken)).rejects.toThrow(/no kernel named no_such_kernel/);
    const outOfBounds: OperationBuilder<number> = () => ({
      // a pointer past the end of memory traps inside the worker
      phases: [[["copy_bytes", [0, 0, 16]], ["copy_bytes", [2 ** 31, 0, 16]]]],
      costNs: 1e9,
      finish: () => 0,
      release: () => {},
    });
    await expect(pool.run(outOfBounds)).rejects.toThrow(/worker failed: .*out of bounds/);
    const x = randomFloats(5000, 4);
    const params = computeQuantParams(x, { bits: 8 });
    expect(Array.from(await pool.run(quantizeOp(x, params), { forceSplit: true }))).toEqual(Array.from(quantize(x, params)));
    expect(core.bytesInUse).toBe(before);
  });

  it("rejects bad arguments before any work is sent", async () => {
    const x = randomFloats(10, 5);
    x[2] = NaN;
    const params = computeQuantParams(randomFloats(10, 6), { bits: 8 });
    await expect(pool.run(quantizeOp(x, params), { forceSplit: true })).rejects.toThrow(/quantize: input contains 1 NaN value/);
    expect(() => quantizeOp(x, { ...params, bits: 12 })).toThrow(/bits must be an integer in 2..8, but got 12/);
  });
});
