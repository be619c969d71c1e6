// Finds and compiles the kernels' .wasm once per thread. Compilation is synchronous so that
// `import` + first call works without an await (serverless cold starts, tfjs kernels).
import { readFileSync } from "node:fs";
import { findPackageFile } from "./package-files.js";

export const WASM_FILE = "kernels.wasm";
/** Maximum memory, in 64 KiB pages, that the module declares (4 GiB). */
export const MAX_PAGES = 65536;
/** Pages the shared memory starts with (the module's declared minimum). */
export const INITIAL_PAGES = 32;

/** build/kernels.wasm of this package, or the file named by POCKETFLOW_KERNELS_WASM. */
export function findWasmPath(): string {
  return process.env.POCKETFLOW_KERNELS_WASM || findPackageFile(
    `build/${WASM_FILE}`,
    "run `npm run asbuild` (or reinstall the package), or set POCKETFLOW_KERNELS_WASM to the file",
  );
}

let cachedModule: WebAssembly.Module | undefined;

export function kernelsModule(): WebAssembly.Module {
  cachedModule ??= new WebAssembly.Module(readFileSync(findWasmPath()));
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
