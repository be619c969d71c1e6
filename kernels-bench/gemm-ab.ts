// node dist/kernels-bench/gemm-ab.js <a.wasm> <b.wasm> [--reps 11]
// A/B of the GEMM kernels between two builds of the kernels' .wasm (say, build/ of two
// checkouts), for changes to assembly/gemm.ts: both modules load into this process over their
// own memory and take turns (A B B A ...) on the same operands, so both see the same machine
// moment. For each shape, the GEMM shapes of ResNet-20 and MobileNet-v2 0.5 at batch 32 and a
// square one: fp32 with A read in place (gemm_f32_rows, the convolutions' path), fp32 packed,
// and int8 packed; prints GMAC/s of each build, B's speed-up over A, and whether the two
// outputs are bit-identical. Writes nothing.
import { readFileSync } from "node:fs";
import { KernelCore } from "../src/kernels/core.js";
import { acceptsRelaxedSimd } from "../src/kernels/wasm-module.js";

type Shape = [m: number, k: number, n: number];
const SHAPES: Shape[] = [
  [8192, 16, 8], [8192, 8, 48], [2048, 48, 16], [2048, 16, 96], [2048, 96, 16], [512, 96, 16],
  [128, 288, 48], [32, 160, 1280], [4096, 64, 64], [25088, 25, 6], [512, 512, 512],
];

function load(file: string): KernelCore {
  const bytes = readFileSync(file);
  if (!acceptsRelaxedSimd(bytes)) throw new Error(`gemm-ab: ${file} does not compile here; pass a .wasm built by npm run asbuild`);
  return new KernelCore(new WebAssembly.Module(bytes));
}

type Kernel = (core: KernelCore, buffers: Buffers) => void;
interface Buffers {
  a: number;
  packedA: number;
  packedB: number;
  a8: number;
  b8: number;
  c: Float32Array;
}

const call = (core: KernelCore, name: string, ...args: number[]): number =>
  (core.exports[name] as (...a: number[]) => number)(...args);

/** A resident array of `length` filled by `value(i)` (in place: TypedArray.map would copy it out). */
function filled<T extends Float32Array | Int8Array>(core: KernelCore, Type: { new (b: ArrayBufferLike, o: number, l: number): T; BYTES_PER_ELEMENT: number }, length: number, value: (i: number) => number): T {
  const array = core.alloc(Type, length);
  for (let i = 0; i < length; i++) array[i] = value(i);
  return array;
}

function buffers(core: KernelCore, [m, k, n]: Shape): Buffers {
  const a = filled(core, Float32Array, m * k, Math.sin);
  const b = filled(core, Float32Array, k * n, Math.cos);
  const packedA = core.malloc(call(core, "gemm_f32_packed_a_bytes", m, k));
  call(core, "gemm_f32_pack_a", a.byteOffset, k, m, k, 0, packedA, 0, Math.ceil(m / 4));
  const packedB = core.malloc(call(core, "gemm_f32_packed_b_bytes", k, n));
  call(core, "gemm_f32_pack_b", b.byteOffset, n, k, n, 0, packedB, 0, Math.ceil(n / 8));
  const i8a = filled(core, Int8Array, m * k, (i) => ((i * 7) % 255) - 127);
  const i8b = filled(core, Int8Array, k * n, (i) => ((i * 13) % 255) - 127);
  const a8 = core.malloc(call(core, "gemm_q8_packed_a_bytes", m, k));
  call(core, "gemm_q8_pack_a", i8a.byteOffset, k, m, k, 1, 0, a8, 0, Math.ceil(m / 4));
  const b8 = core.malloc(call(core, "gemm_q8_packed_b_bytes", k, n));
  call(core, "gemm_q8_pack_b", i8b.byteOffset, n, k, n, 1, 0, 0, b8, 0, Math.ceil(n / 8));
  return { a: a.byteOffset, packedA, packedB, a8, b8, c: core.alloc(Float32Array, m * n) };
}

const kernelsOf = ([m, k, n]: Shape): Record<string, Kernel> => ({
  rows: (core, x) => call(core, "gemm_f32_rows", x.a, k, x.packedB, x.c.byteOffset, n, m, n, k, 0),
  packed: (core, x) => call(core, "gemm_f32_packed", x.packedA, x.packedB, x.c.byteOffset, n, m, n, k, 0, Math.ceil(m / 4), 0),
  int8: (core, x) => call(core, "gemm_q8_packed", x.a8, x.b8, x.c.byteOffset, n, m, n, k, 0, Math.ceil(m / 4), 0),
});

const median = (xs: number[]): number => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)];

function main(): void {
  const argv = process.argv.slice(2);
  const files = argv.filter((arg, i) => !arg.startsWith("--") && argv[i - 1] !== "--reps");
  if (files.length !== 2) throw new Error("gemm-ab: usage: gemm-ab <a.wasm> <b.wasm> [--reps 11]");
  const repsAt = argv.indexOf("--reps");
  const rounds = repsAt < 0 ? 11 : Number(argv[repsAt + 1]);
  if (!(Number.isInteger(rounds) && rounds > 0)) throw new Error(`gemm-ab: --reps must be a positive integer, but got "${argv[repsAt + 1]}"`);
  const cores = files.map(load);
  for (const shape of SHAPES) {
    const [m, k, n] = shape;
    const data = cores.map((core) => buffers(core, shape));
    const calls = Math.max(1, Math.round(2e8 / (m * k * n)));
    const cells: string[] = [];
    for (const [name, kernel] of Object.entries(kernelsOf(shape))) {
      const times: number[][] = [[], []];
      for (let r = 0; r < rounds; r++) {
        for (const i of r % 2 === 0 ? [0, 1] : [1, 0]) {
          const t0 = performance.now();
          for (let c = 0; c < calls; c++) kernel(cores[i], data[i]);
          times[i].push((performance.now() - t0) / calls);
        }
      }
      const same = data[0].c.every((v, i) => Object.is(v, data[1].c[i]));
      const [ta, tb] = times.map(median);
      const gmacs = (ms: number): string => ((m * k * n) / ms / 1e6).toFixed(1);
      cells.push(`${name} ${gmacs(ta)}/${gmacs(tb)} GMAC/s ${(ta / tb).toFixed(2)}x${same ? "" : " (outputs differ)"}`);
    }
    console.log(`${`${m}x${k}x${n}`.padEnd(14)} ${cells.join("   ")}`);
  }
}

main();
