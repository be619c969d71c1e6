// The two builds of the kernels: kernels.wasm (SIMD) and kernels-relaxed.wasm (relaxed SIMD:
// the GEMM multiply-adds fuse where the CPU has FMA). Which one a thread runs, and that both
// compute the same products, the relaxed one with one rounding per multiply-add.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { KernelCore } from "../../src/kernels/core.js";
import { gemmF32Op } from "../../src/kernels/gemm.js";
import { runInline } from "../../src/kernels/operation.js";
import { gemmF32Ref } from "../../src/kernels/reference.js";
import { chooseKernelsBuild, kernelsBuild } from "../../src/kernels/wasm-module.js";
import { maxRelativeError } from "../relative-error.js";
import { randomFloats } from "./random.js";

const coreOf = (path: string): KernelCore => new KernelCore(new WebAssembly.Module(readFileSync(path)));

describe("kernel builds", () => {
  const relaxed = kernelsBuild();
  it("runs the relaxed-SIMD build where the engine takes it (Node 20: behind a V8 flag this package sets)", () => {
    expect(relaxed.relaxed).toBe(true);
    expect(relaxed.path).toMatch(/kernels-relaxed\.wasm$/);
  });
  it("POCKETFLOW_FMA=0 chooses the plain SIMD build; POCKETFLOW_KERNELS_WASM names a file", () => {
    const saved = { fma: process.env.POCKETFLOW_FMA, file: process.env.POCKETFLOW_KERNELS_WASM };
    try {
      process.env.POCKETFLOW_FMA = "0";
      const plain = chooseKernelsBuild();
      expect(plain.relaxed).toBe(false);
      expect(plain.path).toMatch(/kernels\.wasm$/);
      process.env.POCKETFLOW_KERNELS_WASM = relaxed.path;
      expect(chooseKernelsBuild().path).toBe(relaxed.path);
    } finally {
      if (saved.fma === undefined) delete process.env.POCKETFLOW_FMA;
      else process.env.POCKETFLOW_FMA = saved.fma;
      if (saved.file === undefined) delete process.env.POCKETFLOW_KERNELS_WASM;
      else process.env.POCKETFLOW_KERNELS_WASM = saved.file;
    }
  });
  it("a fresh Node process picks the relaxed build too (the flag is set before the module compiles)", () => {
    const script = `import("./dist/src/kernels/wasm-module.js").then((m) => console.log(m.kernelsBuild().relaxed))`;
    expect(execFileSync("node", ["-e", script], { encoding: "utf8" }).trim()).toBe("true");
  });
  it("both builds match the GEMM reference; the relaxed one rounds once per multiply-add where the CPU fuses", () => {
    process.env.POCKETFLOW_FMA = "0";
    const plainPath = chooseKernelsBuild().path;
    delete process.env.POCKETFLOW_FMA;
    const [plainCore, relaxedCore] = [coreOf(plainPath), coreOf(relaxed.path)];
    for (const [m, n, k] of [[7, 9, 13], [33, 17, 300], [4, 8, 1025]]) {
      const a = randomFloats(m * k, m + k);
      const b = randomFloats(k * n, n + k);
      const expected = gemmF32Ref(a, b, { m, n, k });
      for (const core of [plainCore, relaxedCore]) {
        expect(maxRelativeError(runInline(core, gemmF32Op(a, b, { m, n, k })), expected), `${m}x${n}x${k}`).toBeLessThanOrEqual(1e-4);
      }
    }
    // (1+2^-23)² - (1+2^-22) is 2^-46 exactly; with two roundings the square rounds to 1+2^-22 and the sum is 0
    const e = 2 ** -23;
    const a = Float32Array.of(-(1 + 2 * e), 1 + e);
    const b = Float32Array.of(1, 1 + e);
    expect(runInline(plainCore, gemmF32Op(a, b, { m: 1, n: 1, k: 2 }))[0]).toBe(0);
    expect([0, 2 ** -46]).toContain(runInline(relaxedCore, gemmF32Op(a, b, { m: 1, n: 1, k: 2 }))[0]);
  });
});
