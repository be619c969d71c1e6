// The two builds of the kernels: kernels.wasm (SIMD) and kernels-relaxed.wasm (relaxed SIMD:
// the GEMM multiply-adds fuse where the CPU has FMA). Which one a thread runs, and that both
// compute the same products, the relaxed one with one rounding per multiply-add.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { KernelCore, kernels } from "../../src/kernels/core.js";
import { gemmF32Op } from "../../src/kernels/gemm.js";
import { runInline } from "../../src/kernels/operation.js";
import { gemmF32Ref } from "../../src/kernels/reference.js";
import { chooseKernelsBuild, kernelsBuild } from "../../src/kernels/wasm-module.js";
import { maxRelativeError } from "../relative-error.js";
import { randomFloats } from "./random.js";

/** relaxed_madd fuses where the CPU has FMA: every arm64, and x86-64 that lists the fma flag. */
const CPU_FUSES = process.arch !== "x64" || (existsSync("/proc/cpuinfo") && /\bfma\b/.test(readFileSync("/proc/cpuinfo", "utf8")));

const coreOf = (path: string): KernelCore => new KernelCore(new WebAssembly.Module(readFileSync(path)));

describe("kernel builds", () => {
  const relaxed = kernelsBuild();
  it("runs the relaxed-SIMD build in the test runner, which turns relaxed SIMD on as the CLI does", () => {
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
  it("importing and running the package in a fresh Node process leaves the engine's relaxed-SIMD setting as it was", () => {
    const script = `
      const probe = await import("./dist/src/kernels/wasm-module.js");
      const before = probe.engineAcceptsRelaxedSimd();
      const { minMax } = await import("./dist/src/index.js");
      minMax(Float32Array.of(0.5, -1, 2));
      console.log(JSON.stringify({ before, after: probe.engineAcceptsRelaxedSimd(), relaxed: probe.kernelsBuild().relaxed }));`;
    const result = JSON.parse(execFileSync("node", ["--input-type=module", "-e", script], { encoding: "utf8" })) as Record<string, boolean>;
    expect(result.after).toBe(result.before);
    expect(result.relaxed).toBe(result.before);
    if (process.versions.node.startsWith("20.")) expect(result.before).toBe(false); // Node 20: behind a flag nobody set
  });
  it("the CLI turns relaxed SIMD on before its kernels load, and its commands run the relaxed build", () => {
    // An exit hook reads, from the CLI's own module instance, the build its command ran on.
    const script = `
      const probe = await import("./dist/src/kernels/wasm-module.js");
      process.on("exit", () => console.error("BUILD " + JSON.stringify({ ...probe.kernelsBuild(), bytes: undefined })));
      process.argv.splice(1, Infinity, "main.js", "eval", "--model", "models/lenet-mnist", "--backend", "pocketflow", "--json");
      await import("./dist/src/cli/main.js");`;
    const run = spawnSync("node", ["--input-type=module", "-e", script], { encoding: "utf8" });
    expect(run.status, run.stderr).toBe(0);
    const build = JSON.parse(/BUILD (.*)/.exec(run.stderr)?.[1] ?? "null") as { relaxed: boolean; path: string };
    expect(build).toMatchObject({ relaxed: true, path: expect.stringMatching(/kernels-relaxed\.wasm$/) });
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
    const exact = 2 ** -46;
    expect(runInline(plainCore, gemmF32Op(a, b, { m: 1, n: 1, k: 2 }))[0]).toBe(0);
    expect(runInline(relaxedCore, gemmF32Op(a, b, { m: 1, n: 1, k: 2 }))[0]).toBe(CPU_FUSES ? exact : 0);
    // the core the package runs gives what its chosen build must give
    expect(runInline(kernels(), gemmF32Op(a, b, { m: 1, n: 1, k: 2 }))[0]).toBe(relaxed.relaxed && CPU_FUSES ? exact : 0);
  });
});
