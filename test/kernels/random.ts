// Seeded random data for kernel tests: every failure can be replayed from its seed.

export { seededRandom as mulberry32 } from "../../src/util/random.js";
import { seededRandom as mulberry32 } from "../../src/util/random.js";

export function randomFloats(n: number, seed: number, scale = 1, offset = 0): Float32Array {
  const rand = mulberry32(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (rand() * 2 - 1) * scale + offset;
  return out;
}

export function randomInts(n: number, seed: number, lo: number, hi: number): Int32Array {
  const rand = mulberry32(seed);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + Math.floor(rand() * (hi - lo + 1));
  return out;
}

/** Lengths that cover empty input, lengths below one SIMD vector, exact multiples and tails. */
export const ODD_LENGTHS = [0, 1, 3, 4, 5, 15, 16, 17, 31, 33, 63, 64, 65, 127, 257, 1000, 4099];
