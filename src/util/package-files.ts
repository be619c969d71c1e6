// Locates files of this package (the .wasm, the compiled pool worker) from wherever this module
// runs: src/ under a test runner, dist/src/ once built, or node_modules/pocketflow-js/dist/src/.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

/** The package root: the nearest directory above this file that holds `relativePath`. */
export function findPackageFile(relativePath: string, hint: string): string {
  let dir = here;
  for (let depth = 0; depth < 6; depth++) {
    const candidate = join(dir, relativePath);
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new Error(`pocketflow: ${relativePath} not found in any directory above ${here}; ${hint}`);
}
