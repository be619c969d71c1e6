// Reference twins of assembly/gemm.ts: textbook triple loops.
import type { GemmF32Options, GemmQ8Options, GemmShape, QuantizedMatrix } from "../gemm.js";

/** fp32 product accumulated in f64 then rounded: the "true" value the SIMD result approximates. */
export function gemmF32Ref(a: Float32Array, b: Float32Array, shape: GemmShape, options: GemmF32Options = {}, out?: Float32Array): Float32Array {
  const { m, n, k } = shape;
  const c = out ? out.slice() : new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let sum = 0;
      for (let p = 0; p < k; p++) {
        const av = options.transA ? a[p * m + i] : a[i * k + p];
        const bv = options.transB ? b[j * k + p] : b[p * n + j];
        sum += av * bv;
      }
      c[i * n + j] = options.accumulate ? c[i * n + j] + sum : sum;
    }
  }
  return c;
}

/** Exact int32 product of zero-point-shifted 8-bit matrices. */
export function gemmQ8Ref(a: QuantizedMatrix, b: QuantizedMatrix, shape: GemmShape, options: GemmQ8Options = {}, out?: Int32Array): Int32Array {
  const { m, n, k } = shape;
  const c = out ? out.slice() : new Int32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let sum = 0;
      for (let p = 0; p < k; p++) {
        const bv = options.transB ? b.data[j * k + p] : b.data[p * n + j];
        sum += (a.data[i * k + p] - a.zeroPoint) * (bv - b.zeroPoint);
      }
      c[i * n + j] = options.accumulate ? c[i * n + j] + sum : sum;
    }
  }
  return c;
}
