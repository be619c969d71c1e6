// Finds and compiles the kernels' .wasm once per thread. Compilation is synchronous so that
// `import` + first call works without an await (serverless cold starts, tfjs kernels).
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const WASM_FILE = "kernels.wasm";
/** Maximum memory, in 64 KiB pages, that the module declares (4 GiB). */
export const MAX_PAGES = 65536;
/** Pages the shared memory starts with (the module's declared minimum). */
export const INITIAL_PAGES = 32;

/** Directory of this file, walking up until build/kernels.wasm is found (src/ or dist/src/). */
export function findWasmPath(): string {
  const override = process.env.POCKETFLOW_KERNELS_WASM;
  if (override) return override;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 6; depth++) {
    const candidate = join(dir, "build", WASM_FILE);
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new Error(
    `pocketflow kernels: build/${WASM_FILE} not found above ${dirname(fileURLToPath(import.meta.url))}; ` +
      "run `npm run asbuild` (or reinstall the package), or set POCKETFLOW_KERNELS_WASM to its path",
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
