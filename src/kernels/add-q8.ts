// The residual add of two uint8 tensors on their own scales (assembly/add-q8.ts): int32
// acc = kA·(a - zpA) + kB·(b - zpB) with integer factors kA, kB <= 2^14 in the ratio of the two
// scales; requantize then maps acc to the output's scale with one fixed-point multiplier.
// addRescaleFactors gives the factors and that multiplier's real value. Splits by elements.
import { checkInteger, fail } from "../util/check.js";
import { splitCount } from "../util/ranges.js";
import { kernels } from "./core.js";
import { runInline, type KernelCall, type OperationBuilder } from "./operation.js";

/** Bits of the larger factor: (a - zp)·2^14 stays in int16·int16, and 2·255·2^14 far inside int32. */
export const ADD_FACTOR_BITS = 14;
const NS_PER_ELEMENT = 0.3;
const SPLIT_UNIT = 16;

/**
 * The integer factors of two scales (the larger one 2^14, the other rounded to its ratio) and
 * the real multiplier that takes their sum to outputScale: max(sA, sB) / (2^14 · outputScale).
 */
export function addRescaleFactors(scaleA: number, scaleB: number, outputScale: number): { kA: number; kB: number; realMultiplier: number } {
  if (!(scaleA > 0 && scaleB > 0 && outputScale > 0)) fail("addRescaleFactors", `scales must be > 0, but got ${scaleA}, ${scaleB}, ${outputScale}`);
  const larger = Math.max(scaleA, scaleB);
  const one = 2 ** ADD_FACTOR_BITS;
  return { kA: Math.round((one * scaleA) / larger), kB: Math.round((one * scaleB) / larger), realMultiplier: larger / (one * outputScale) };
}

/** acc[i] = kA·(a[i] - zpA) + kB·(b[i] - zpB), a and b uint8. */
export function addQ8AccOp(a: Uint8Array, zpA: number, kA: number, b: Uint8Array, zpB: number, kB: number, out?: Int32Array): OperationBuilder<Int32Array> {
  const where = "addQ8Acc";
  for (const [name, value, max] of [["zpA", zpA, 255], ["zpB", zpB, 255], ["kA", kA, 2 ** ADD_FACTOR_BITS], ["kB", kB, 2 ** ADD_FACTOR_BITS]] as const) checkInteger(where, name, value, 0, max);
  if (b.length !== a.length) fail(where, `a and b must have the same length, but have ${a.length} and ${b.length}`);
  if (out && out.length !== a.length) fail(where, `out must have ${a.length} elements, but has ${out.length}`);
  const target = out ?? new Int32Array(a.length);
  return (core, parts) => {
    const staging = core.staging();
    const [pa, pb, pout] = [staging.input(a), staging.input(b), staging.output(target)];
    const calls = splitCount(Math.ceil(a.length / SPLIT_UNIT), parts).map(([u0, u1]): KernelCall =>
      ["add_q8_acc", [pa, zpA, kA, pb, zpB, kB, u0 * SPLIT_UNIT, Math.min(a.length, u1 * SPLIT_UNIT), pout]]);
    return {
      phases: a.length === 0 ? [] : [calls],
      costNs: a.length * NS_PER_ELEMENT,
      finish() {
        if (a.length > 0) staging.copyBack(pout, target);
        return target;
      },
      release: () => staging.release(),
    };
  };
}

export const addQ8Acc = (a: Uint8Array, zpA: number, kA: number, b: Uint8Array, zpB: number, kB: number, out?: Int32Array): Int32Array =>
  runInline(kernels(), addQ8AccOp(a, zpA, kA, b, zpB, kB, out));
