// Reference twins of assembly/requantize.ts kernels: gemmlowp's fixed-point primitives written
// as gemmlowp writes them (fixedpoint.h), with BigInt for the 64-bit product, and TFLite's
// MultiplyByQuantizedMultiplier on top. Where C++ would overflow int32 (the left shift of
// multipliers > 1, adding the zero point) this twin saturates/clamps, as the kernels do.
import type { RequantizeSpec } from "../requantize.js";

export const INT32_MIN = -(2 ** 31);
export const INT32_MAX = 2 ** 31 - 1;

/** gemmlowp SaturatingRoundingDoublingHighMul: round(a * b / 2^31), the one overflow saturated. */
export function saturatingRoundingDoublingHighMulRef(a: number, b: number): number {
  if (a === INT32_MIN && b === INT32_MIN) return INT32_MAX;
  const ab = BigInt(a) * BigInt(b);
  const nudge = ab >= 0n ? 1n << 30n : 1n - (1n << 30n);
  // BigInt division truncates toward zero, as C++ integer division does
  return Number((ab + nudge) / (1n << 31n));
}

/** gemmlowp RoundingDivideByPOT: x / 2^exponent rounded half away from zero, exponent in 0..31. */
export function roundingDivideByPOTRef(x: number, exponent: number): number {
  const mask = 2 ** exponent - 1;
  const remainder = x & mask;
  const threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/** x * 2^left, saturated to int32 (C++ TFLite multiplies and overflows here). */
export function saturatingLeftShiftRef(x: number, left: number): number {
  return Math.max(INT32_MIN, Math.min(INT32_MAX, x * 2 ** left));
}

/** TFLite MultiplyByQuantizedMultiplier: x * M0 * 2^(shift - 31) with gemmlowp rounding. */
export function multiplyByQuantizedMultiplierRef(x: number, multiplier: number, shift: number): number {
  const left = Math.max(shift, 0);
  const right = Math.max(-shift, 0);
  return roundingDivideByPOTRef(saturatingRoundingDoublingHighMulRef(saturatingLeftShiftRef(x, left), multiplier), right);
}

export function requantizeRef(acc: Int32Array, rows: number, cols: number, spec: RequantizeSpec): Int8Array | Uint8Array {
  const unsigned = spec.type === "uint8";
  const out = unsigned ? new Uint8Array(rows * cols) : new Int8Array(rows * cols);
  const lo = spec.min ?? (unsigned ? 0 : -128);
  const hi = spec.max ?? (unsigned ? 255 : 127);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const k = spec.multipliers.length === 1 ? 0 : c;
      const x = (acc[r * cols + c] + (spec.bias ? spec.bias[c] : 0)) | 0; // int32 wrap
      const v = spec.zeroPoint + multiplyByQuantizedMultiplierRef(x, spec.multipliers[k], spec.shifts[k]);
      out[r * cols + c] = Math.min(hi, Math.max(lo, v));
    }
  }
  return out;
}
