// Plain-TypeScript twins of every wasm kernel: the specification the SIMD code is tested
// against. Written for clarity, not speed; f32 arithmetic is emulated with Math.fround, which
// is exact for + - * / of f32 operands.
import { groupOf, type Grouping } from "../grouping.js";
import type { QuantParams } from "../quant-params.js";
import { roundHalfEven } from "../rounding.js";

const f32 = Math.fround;

// ---------------------------------------------------------------- quantization

export function quantizeRef(x: Float32Array, p: QuantParams): Int8Array | Uint8Array {
  const out = p.symmetric ? new Int8Array(x.length) : new Uint8Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const g = groupOf(i, p.grouping);
    const v = roundHalfEven(f32(x[i] / p.scales[g])) + p.zeroPoints[g];
    out[i] = Math.min(p.qmax, Math.max(p.qmin, Number.isNaN(v) ? p.qmin : v));
  }
  return out;
}

export function dequantizeRef(q: Int8Array | Uint8Array, p: QuantParams): Float32Array {
  const out = new Float32Array(q.length);
  for (let i = 0; i < q.length; i++) {
    const g = groupOf(i, p.grouping);
    out[i] = f32((q[i] - p.zeroPoints[g]) * p.scales[g]);
  }
  return out;
}

export function fakeQuantizeRef(x: Float32Array, p: QuantParams): Float32Array {
  return dequantizeRef(quantizeRef(x, p), p);
}

export function minMaxRef(x: Float32Array, grouping: Grouping): { min: Float32Array; max: Float32Array } {
  const min = new Float32Array(grouping.groups).fill(Infinity);
  const max = new Float32Array(grouping.groups).fill(-Infinity);
  for (let i = 0; i < x.length; i++) {
    if (Number.isNaN(x[i])) continue;
    const g = groupOf(i, grouping);
    min[g] = Math.min(min[g], x[i]);
    max[g] = Math.max(max[g], x[i]);
  }
  return { min, max };
}
