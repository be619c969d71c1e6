// Runs the same computation on tfjs's cpu backend and on ours, and compares the results.
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { registerPocketflowBackend } from "../../src/backend/register.js";
import { floorOf, maxRelativeError } from "../relative-error.js";

export { floorOf, maxRelativeError };

export const OURS = registerPocketflowBackend();

/** The values `compute` returns on a backend; inputs are made inside, from plain arrays. */
export async function runOn(backend: string, compute: () => tf.Tensor | tf.Tensor[]): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const result = compute();
    return (Array.isArray(result) ? result : [result]).map((t) => t.dataSync() as Float32Array);
  });
}

/** Largest relative error of ours against cpu for every output of `compute`. */
export async function errorAgainstCpu(compute: () => tf.Tensor | tf.Tensor[]): Promise<number> {
  const expected = await runOn("cpu", compute);
  const actual = await runOn(OURS, compute);
  return Math.max(...expected.map((e, i) => maxRelativeError(actual[i], e)));
}

/** Seeded values in [-1, 1). */
export function seededValues(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}
