// node dist/kernels-bench/kernels-ab.js <a.wasm> <b.wasm> [--reps 11]
// A/B of kernels between two builds of the kernels' .wasm (say, build/ of two checkouts), for
// changes under assembly/: both modules load into this process over their own memory and take
// turns (A B B A ...) on the same operands, so both see the same machine moment. It runs
//  - the GEMMs on the shapes of ResNet-20 and MobileNet-v2 0.5 at batch 32 and a square one:
//    fp32 with A read in place (gemm_f32_rows, the convolutions' path), fp32 packed, int8 packed;
//  - relu and relu6 over 24576 values (in cache) and 1M (not);
//  - the depthwise 3×3 forward on MobileNet-v2 0.5's shapes at batch 32;
// and prints each build's speed, B's speed-up over A, and whether their outputs are
// bit-identical (or how far apart). Writes nothing.
import { readFileSync } from "node:fs";
import { convGeometry } from "../src/kernels/conv-geometry.js";
import { KernelCore } from "../src/kernels/core.js";
import { depthwiseConv2dOp } from "../src/kernels/depthwise.js";
import { UNARY_CODES } from "../src/kernels/elementwise.js";
import { runInline } from "../src/kernels/operation.js";
import { enableRelaxedSimd } from "../src/kernels/wasm-module.js";

type Shape = [m: number, k: number, n: number];
const SHAPES: Shape[] = [
  [8192, 16, 8], [8192, 8, 48], [2048, 48, 16], [2048, 16, 96], [2048, 96, 16], [512, 96, 16],
  [128, 288, 48], [32, 160, 1280], [4096, 64, 64], [25088, 25, 6], [512, 512, 512],
];

function load(file: string): KernelCore {
  const bytes = readFileSync(file);
  if (!WebAssembly.validate(bytes)) throw new Error(`kernels-ab: ${file} does not compile here; pass a .wasm built by npm run asbuild`);
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

/** Median milliseconds of `run` on each build, the two alternating for `rounds` rounds. */
function alternate(rounds: number, run: (build: number) => void): [number, number] {
  const times: number[][] = [[], []];
  for (let r = 0; r < rounds; r++) {
    for (const i of r % 2 === 0 ? [0, 1] : [1, 0]) {
      const t0 = performance.now();
      run(i);
      times[i].push(performance.now() - t0);
    }
  }
  return [median(times[0]), median(times[1])];
}

/** "bit-identical", or the largest absolute difference. */
function agreement(a: ArrayLike<number>, b: ArrayLike<number>): string {
  let worst = 0;
  let identical = true;
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], b[i])) identical = false;
    worst = Math.max(worst, Math.abs(a[i] - b[i]));
  }
  return identical ? "bit-identical" : `max difference ${worst.toExponential(1)}`;
}

function gemms(cores: KernelCore[], rounds: number): void {
  console.log("GEMM, M×K×N: GMAC/s of A / of B, B's speed-up");
  for (const shape of SHAPES) {
    const [m, k, n] = shape;
    const data = cores.map((core) => buffers(core, shape));
    const calls = Math.max(1, Math.round(2e8 / (m * k * n)));
    const cells: string[] = [];
    for (const [name, kernel] of Object.entries(kernelsOf(shape))) {
      const [ta, tb] = alternate(rounds, (i) => {
        for (let c = 0; c < calls; c++) kernel(cores[i], data[i]);
      });
      const same = data[0].c.every((v, i) => Object.is(v, data[1].c[i]));
      const gmacs = (ms: number): string => ((m * k * n * calls) / ms / 1e6).toFixed(1);
      cells.push(`${name} ${gmacs(ta)}/${gmacs(tb)} ${(ta / tb).toFixed(2)}x${same ? "" : " (outputs differ)"}`);
    }
    console.log(`  ${`${m}x${k}x${n}`.padEnd(14)} ${cells.join("   ")}`);
  }
}

function unaries(cores: KernelCore[], rounds: number): void {
  console.log("unary element-wise: µs of A / of B, B's speed-up");
  for (const length of [24576, 1 << 20]) {
    const data = cores.map((core) => ({ x: filled(core, Float32Array, length, (i) => Math.sin(i) * 8), out: core.alloc(Float32Array, length) }));
    const calls = Math.max(1, Math.round(2e7 / length));
    for (const op of ["relu", "relu6"] as const) {
      const [ta, tb] = alternate(rounds, (i) => {
        for (let c = 0; c < calls; c++) call(cores[i], "ew_unary_f32", UNARY_CODES[op], data[i].x.byteOffset, 0, data[i].out.byteOffset, 0, length);
      });
      const us = (ms: number): string => ((ms / calls) * 1000).toFixed(2);
      console.log(`  ${`${op} ${length}`.padEnd(14)} ${us(ta)}/${us(tb)} µs ${(ta / tb).toFixed(2)}x, ${agreement(data[0].out, data[1].out)}`);
    }
  }
}

function depthwise(cores: KernelCore[], rounds: number): void {
  console.log("depthwise 3×3 forward, batch 32: µs of A / of B, B's speed-up");
  for (const [size, channels, strides] of [[16, 16, 1], [16, 48, 2], [8, 96, 1], [4, 96, 1], [2, 192, 1]]) {
    const g = convGeometry([32, size, size, channels], 3, { padding: "same", strides });
    const data = cores.map((core) => ({
      x: filled(core, Float32Array, 32 * size * size * channels, Math.sin),
      filter: filled(core, Float32Array, 9 * channels, Math.cos),
      out: core.alloc(Float32Array, g.rows * channels),
    }));
    const calls = 10;
    const [ta, tb] = alternate(rounds, (i) => {
      for (let c = 0; c < calls; c++) runInline(cores[i], depthwiseConv2dOp(data[i].x, data[i].filter, g, 1, {}, data[i].out));
    });
    const us = (ms: number): string => ((ms / calls) * 1000).toFixed(0);
    console.log(`  ${`${size}x${size}x${channels} s${strides}`.padEnd(14)} ${us(ta)}/${us(tb)} µs ${(ta / tb).toFixed(2)}x, ${agreement(data[0].out, data[1].out)}`);
  }
}

function main(): void {
  const argv = process.argv.slice(2);
  const files = argv.filter((arg, i) => !arg.startsWith("--") && argv[i - 1] !== "--reps");
  if (files.length !== 2) throw new Error("kernels-ab: usage: kernels-ab <a.wasm> <b.wasm> [--reps 11]");
  const repsAt = argv.indexOf("--reps");
  const rounds = repsAt < 0 ? 11 : Number(argv[repsAt + 1]);
  if (!(Number.isInteger(rounds) && rounds > 0)) throw new Error(`kernels-ab: --reps must be a positive integer, but got "${argv[repsAt + 1]}"`);
  const cores = files.map(load);
  gemms(cores, rounds);
  unaries(cores, rounds);
  depthwise(cores, rounds);
}

// Our own program may turn on relaxed SIMD (the library never does), before any kernel loads.
enableRelaxedSimd();
main();
