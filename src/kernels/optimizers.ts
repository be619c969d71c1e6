// Optimizer updates on the SIMD kernels (assembly/optimizers.ts): one pass per variable giving
// the new weights and slots, bit for bit what the trainer's tfjs ops give (same f32 operations
// in the same order). Inputs are left as they are; the results are new arrays. Splits over the
// pool by element ranges.
import { fail } from "../util/check.js";
import { kernels } from "./core.js";
import { splitCount } from "../util/ranges.js";
import { runInline, type KernelCall, type OperationBuilder } from "./operation.js";

// Rough single-thread cost per element (memory bound), to decide when splitting pays.
const NS_PER_ELEMENT = 1;
/** Elements per unit of a split: whole SIMD blocks, tails only at the end. */
const SPLIT_UNIT = 16;

export interface SgdMomentumParams {
  momentum: number;
  learningRate: number;
  nesterov: boolean;
}

export interface AdamParams {
  beta1: number;
  beta2: number;
  epsilon: number;
  /** The learning rate times the bias corrections √(1 − β2^t) / (1 − β1^t). */
  correctedRate: number;
}

function checkSameLengths(where: string, arrays: Record<string, Float32Array>): number {
  const [first, ...rest] = Object.entries(arrays);
  for (const [name, a] of rest) {
    if (a.length !== first[1].length) fail(where, `${name} must have as many values as ${first[0]} (${first[1].length}), but has ${a.length}`);
  }
  return first[1].length;
}

function checkNumbers(where: string, params: object): void {
  for (const [name, v] of Object.entries(params)) if (typeof v === "number" && !Number.isFinite(v)) fail(where, `${name} must be finite, but got ${v}`);
}

/**
 * An operation reading `inputs` and writing `outputs` new arrays of the same length, one phase
 * of `call(inputPointers, outputPointers, start, end)` over element ranges.
 */
function update(inputs: Float32Array[], outputCount: number, call: (pin: number[], pout: number[], i0: number, i1: number) => KernelCall): OperationBuilder<Float32Array[]> {
  const n = inputs[0].length;
  const outputs = Array.from({ length: outputCount }, () => new Float32Array(n));
  return (core, parts) => {
    const staging = core.staging();
    const pin = inputs.map((a) => staging.input(a));
    const pout = outputs.map((a) => staging.output(a));
    const ranges = splitCount(Math.ceil(n / SPLIT_UNIT), parts).map(([u0, u1]) => [u0 * SPLIT_UNIT, Math.min(n, u1 * SPLIT_UNIT)]);
    return {
      phases: n === 0 ? [] : [ranges.map(([i0, i1]) => call(pin, pout, i0, i1))],
      costNs: n * NS_PER_ELEMENT,
      finish() {
        if (n > 0) outputs.forEach((a, k) => staging.copyBack(pout[k], a));
        return outputs;
      },
      release: () => staging.release(),
    };
  };
}

/** Momentum SGD: accumulator' = accumulator·m + g; w' = w − lr·(nesterov ? g + m·accumulator' : accumulator'). */
export function sgdMomentumOp(w: Float32Array, accumulator: Float32Array, gradient: Float32Array, params: SgdMomentumParams): OperationBuilder<{ w: Float32Array; accumulator: Float32Array }> {
  const where = "sgdMomentum";
  checkSameLengths(where, { w, accumulator, gradient });
  checkNumbers(where, params);
  const op = update([w, accumulator, gradient], 2, ([pw, pa, pg], [pwOut, paOut], i0, i1) =>
    ["sgd_momentum_f32", [pw, pa, pg, params.momentum, params.learningRate, params.nesterov ? 1 : 0, pwOut, paOut, i0, i1]]);
  return (core, parts) => {
    const inner = op(core, parts);
    return { ...inner, finish: (results) => { const [wOut, aOut] = inner.finish(results); return { w: wOut, accumulator: aOut }; } };
  };
}

/** Adam: m' = β1·m + (1 − β1)·g; v' = β2·v + (1 − β2)·g²; w' = w − correctedRate·m' / (√v' + ε). */
export function adamOp(w: Float32Array, first: Float32Array, second: Float32Array, gradient: Float32Array, params: AdamParams): OperationBuilder<{ w: Float32Array; first: Float32Array; second: Float32Array }> {
  const where = "adam";
  checkSameLengths(where, { w, first, second, gradient });
  checkNumbers(where, params);
  const { beta1, beta2, epsilon, correctedRate } = params;
  const op = update([w, first, second, gradient], 3, ([pw, pm, pv, pg], [pwOut, pmOut, pvOut], i0, i1) =>
    ["adam_f32", [pw, pm, pv, pg, beta1, 1 - beta1, beta2, 1 - beta2, epsilon, correctedRate, pwOut, pmOut, pvOut, i0, i1]]);
  return (core, parts) => {
    const inner = op(core, parts);
    return { ...inner, finish: (results) => { const [wOut, mOut, vOut] = inner.finish(results); return { w: wOut, first: mOut, second: vOut }; } };
  };
}

/** Momentum SGD's update, on this thread. */
export const sgdMomentum = (w: Float32Array, accumulator: Float32Array, gradient: Float32Array, params: SgdMomentumParams): { w: Float32Array; accumulator: Float32Array } =>
  runInline(kernels(), sgdMomentumOp(w, accumulator, gradient, params));

/** Adam's update, on this thread. */
export const adam = (w: Float32Array, first: Float32Array, second: Float32Array, gradient: Float32Array, params: AdamParams): { w: Float32Array; first: Float32Array; second: Float32Array } =>
  runInline(kernels(), adamOp(w, first, second, gradient, params));
