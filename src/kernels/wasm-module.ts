// Finds and compiles the kernels' .wasm once per thread. Compilation is synchronous so that
// `import` + first call works without an await (serverless cold starts, tfjs kernels).
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import v8 from "node:v8";
import { findPackageFile } from "../util/package-files.js";

export const WASM_FILE = "kernels.wasm";
/**
 * The same kernels built with relaxed SIMD: the GEMM's multiply-adds become relaxed_madd, which
 * V8 compiles to fused multiply-adds where the CPU has FMA. Results differ from kernels.wasm in
 * the last bits (one rounding per multiply-add instead of two).
 */
export const RELAXED_WASM_FILE = "kernels-relaxed.wasm";
/** Maximum memory, in 64 KiB pages, that the module declares (4 GiB). */
export const MAX_PAGES = 65536;
/** Pages the shared memory starts with (the module's declared minimum). */
export const INITIAL_PAGES = 32;

const HOW_TO_BUILD = "run `npm run asbuild` (or reinstall the package), or set POCKETFLOW_KERNELS_WASM to the file";

/**
 * f32x4.relaxed_madd in a one-function module, `(v128, v128, v128) -> v128`: it validates
 * exactly where the engine compiles relaxed SIMD.
 */
const RELAXED_SIMD_PROBE = Uint8Array.of(
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x08, 0x01, 0x60, 0x03, 0x7b, 0x7b, 0x7b, 0x01, 0x7b, // type section
  0x03, 0x02, 0x01, 0x00, // function section
  0x0a, 0x0d, 0x01, 0x0b, 0x00, 0x20, 0x00, 0x20, 0x01, 0x20, 0x02, 0xfd, 0x85, 0x02, 0x0b, // code section
);

/** Whether this engine compiles relaxed SIMD now (Node 22+ by default; Node 20 only behind a V8 flag). */
export function engineAcceptsRelaxedSimd(): boolean {
  return WebAssembly.validate(RELAXED_SIMD_PROBE);
}

/** Whether this engine compiles the given module as it is; never changes an engine setting. */
export function acceptsRelaxedSimd(bytes: Uint8Array): boolean {
  return WebAssembly.validate(bytes);
}

export interface KernelsBuild {
  path: string;
  /** Whether it is the relaxed-SIMD (fused multiply-add) build. */
  relaxed: boolean;
  bytes: Uint8Array;
}

/**
 * The kernels' .wasm this thread runs: the file named by POCKETFLOW_KERNELS_WASM; else the
 * relaxed-SIMD build where the engine already takes it (see enableRelaxedSimd), unless
 * POCKETFLOW_FMA=0; else build/kernels.wasm.
 */
export function chooseKernelsBuild(): KernelsBuild {
  const named = process.env.POCKETFLOW_KERNELS_WASM;
  if (named) return { path: named, relaxed: false, bytes: readFileSync(named) };
  const path = findPackageFile(`build/${WASM_FILE}`, HOW_TO_BUILD);
  const relaxedPath = join(dirname(path), RELAXED_WASM_FILE);
  if (process.env.POCKETFLOW_FMA !== "0" && engineAcceptsRelaxedSimd() && existsSync(relaxedPath)) {
    return { path: relaxedPath, relaxed: true, bytes: readFileSync(relaxedPath) };
  }
  return { path, relaxed: false, bytes: readFileSync(path) };
}

let cachedBuild: KernelsBuild | undefined;
let cachedModule: WebAssembly.Module | undefined;

/**
 * For programs (the CLI, the benchmarks, the test runner), never for a library: a library must not
 * change process-wide engine flags. Turns on Node 20's relaxed SIMD for the whole process, its
 * worker threads included, so that the kernels run the relaxed (fused multiply-add) build. Call
 * it first, before any kernel runs: the build is chosen once per thread.
 */
export function enableRelaxedSimd(): void {
  if (engineAcceptsRelaxedSimd()) return;
  if (cachedBuild !== undefined) {
    throw new Error("enableRelaxedSimd: the kernels' build was already chosen in this thread; call it first in the program, before any kernel runs");
  }
  v8.setFlagsFromString("--experimental-wasm-relaxed-simd");
}

/** The build chosen for this thread (chosen once). */
export function kernelsBuild(): KernelsBuild {
  cachedBuild ??= chooseKernelsBuild();
  return cachedBuild;
}

export function kernelsModule(): WebAssembly.Module {
  cachedModule ??= new WebAssembly.Module(kernelsBuild().bytes);
  return cachedModule;
}

export function createSharedMemory(): WebAssembly.Memory {
  return new WebAssembly.Memory({ initial: INITIAL_PAGES, maximum: MAX_PAGES, shared: true });
}

/** The raw exports of assembly/index.ts. Pointers and lengths are plain numbers. */
export interface KernelExports {
  heap_base(): number;
  copy_bytes(dst: number, src: number, n: number): void;
  fill_bytes(dst: number, value: number, n: number): void;
  [name: string]: unknown;
}

export function instantiateKernels(module: WebAssembly.Module, memory: WebAssembly.Memory): KernelExports {
  const instance = new WebAssembly.Instance(module, {
    env: {
      memory,
      abort(_msg: number, _file: number, line: number, column: number): never {
        throw new Error(`pocketflow kernels: wasm abort at ${line}:${column}`);
      },
    },
  });
  return instance.exports as unknown as KernelExports;
}
