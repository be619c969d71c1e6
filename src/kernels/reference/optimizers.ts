// Reference twins of assembly/optimizers.ts: each step one f32 operation (Math.fround of the
// f64 result), in the order the trainer's tfjs ops apply them.
import type { AdamParams, SgdMomentumParams } from "../optimizers.js";

const f = Math.fround;

export function sgdMomentumRef(w: Float32Array, accumulator: Float32Array, gradient: Float32Array, params: SgdMomentumParams): { w: Float32Array; accumulator: Float32Array } {
  const [m, lr] = [f(params.momentum), f(params.learningRate)];
  const next = accumulator.map((a, i) => f(f(a * m) + gradient[i]));
  const step = params.nesterov ? next.map((a, i) => f(gradient[i] + f(a * m))) : next;
  return { w: w.map((x, i) => f(x - f(step[i] * lr))), accumulator: next };
}

export function adamRef(w: Float32Array, first: Float32Array, second: Float32Array, gradient: Float32Array, params: AdamParams): { w: Float32Array; first: Float32Array; second: Float32Array } {
  const [b1, c1, b2, c2] = [f(params.beta1), f(1 - params.beta1), f(params.beta2), f(1 - params.beta2)];
  const [eps, rate] = [f(params.epsilon), f(params.correctedRate)];
  const m = first.map((x, i) => f(f(x * b1) + f(gradient[i] * c1)));
  const v = second.map((x, i) => f(f(x * b2) + f(f(gradient[i] * gradient[i]) * c2)));
  const out = w.map((x, i) => f(x - f(f(m[i] / f(f(Math.sqrt(v[i])) + eps)) * rate)));
  return { w: out, first: m, second: v };
}
