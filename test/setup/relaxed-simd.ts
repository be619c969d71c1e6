// The test runner is one of our own programs, like the CLI and the benchmarks: it turns on
// relaxed SIMD before any kernel loads, so the suites run the build users of the CLI get.
import { enableRelaxedSimd } from "../../src/kernels/wasm-module.js";

enableRelaxedSimd();
