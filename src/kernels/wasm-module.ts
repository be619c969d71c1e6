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

/** Whether this engine compiles relaxed SIMD (Node 22+ does by default; Node 20 behind a V8 flag). */
export function acceptsRelaxedSimd(bytes: Uint8Array): boolean {
  if (WebAssembly.validate(bytes)) return true;
  // Node 20's V8 has relaxed SIMD behind a flag; set before any relaxed module is compiled,
  // it applies to this process's workers too.
  v8.setFlagsFromString("--experimental-wasm-relaxed-simd");
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
 * relaxed-SIMD build where the engine takes it, unless POCKETFLOW_FMA=0; else build/kernels.wasm.
 */
export function chooseKernelsBuild(): KernelsBuild {
  const named = process.env.POCKETFLOW_KERNELS_WASM;
  if (named) return { path: named, relaxed: false, bytes: readFileSync(named) };
  const path = findPackageFile(`build/${WASM_FILE}`, HOW_TO_BUILD);
  const relaxedPath = join(dirname(path), RELAXED_WASM_FILE);
  if (process.env.POCKETFLOW_FMA !== "0" && existsSync(relaxedPath)) {
    const bytes = readFileSync(relaxedPath);
    if (acceptsRelaxedSimd(bytes)) return { path: relaxedPath, relaxed: true, bytes };
  }
  return { path, relaxed: false, bytes: readFileSync(path) };
}

let cachedBuild: KernelsBuild | undefined;
let cachedModule: WebAssembly.Module | undefined;

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
