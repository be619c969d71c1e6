// Scale and zero point of k-bit uniform quantization from a real range (Jacob et al. 2018,
// as TFLite and ONNX use them): the range is widened to contain 0 so that 0 is exact.
//   asymmetric: q in [0, 2^k - 1],  scale = (max - min) / (2^k - 1), zp = round(-min / scale)
//   symmetric:  q in [-(2^(k-1) - 1), 2^(k-1) - 1] (narrow range), scale = max|x| / qmax, zp = 0
import { checkInteger, fail } from "../util/check.js";
import { checkGrouping, type Grouping } from "./grouping.js";
import { roundHalfEven } from "./rounding.js";

export interface QuantSpec {
  /** Bits per value, 2..8. */
  bits: number;
  /** Symmetric (int8, zero point 0) or asymmetric (uint8). Default false. */
  symmetric?: boolean;
}

export interface QuantParams {
  readonly bits: number;
  readonly symmetric: boolean;
  readonly qmin: number;
  readonly qmax: number;
  readonly scales: Float32Array;
  readonly zeroPoints: Int32Array;
  readonly grouping: Grouping;
}

export function quantRange(bits: number, symmetric: boolean): { qmin: number; qmax: number } {
  checkInteger("quantize", "bits", bits, 2, 8);
  if (symmetric) {
    const qmax = 2 ** (bits - 1) - 1;
    return { qmin: -qmax, qmax };
  }
  return { qmin: 0, qmax: 2 ** bits - 1 };
}

/** Parameters for each group from its observed min and max. */
export function quantParamsFromRange(
  mins: Float32Array,
  maxs: Float32Array,
  spec: QuantSpec,
  grouping: Grouping,
): QuantParams {
  const symmetric = spec.symmetric ?? false;
  const { qmin, qmax } = quantRange(spec.bits, symmetric);
  if (mins.length !== grouping.groups || maxs.length !== grouping.groups) {
    fail("quantParamsFromRange", `mins and maxs must have one entry per group (${grouping.groups}), but have ${mins.length} and ${maxs.length}`);
  }
  const scales = new Float32Array(grouping.groups);
  const zeroPoints = new Int32Array(grouping.groups);
  for (let g = 0; g < grouping.groups; g++) {
    const lo = Math.min(mins[g], 0);
    const hi = Math.max(maxs[g], 0);
    if (!Number.isFinite(lo) || !Number.isFinite(hi)) {
      fail("quantParamsFromRange", `group ${g} has a non-finite range [${mins[g]}, ${maxs[g]}]; clip infinities first`);
    }
    if (symmetric) {
      const amax = Math.max(-lo, hi);
      scales[g] = amax > 0 ? amax / qmax : 1;
    } else {
      const scale = hi > lo ? (hi - lo) / (qmax - qmin) : 1;
      scales[g] = scale;
      const zp = roundHalfEven(qmin - lo / Math.fround(scale));
      zeroPoints[g] = Math.min(qmax, Math.max(qmin, zp));
    }
    if (!(scales[g] > 0)) scales[g] = 1; // a range too small for f32 quantizes everything to the zero point
  }
  return { bits: spec.bits, symmetric, qmin, qmax, scales, zeroPoints, grouping };
}

export function checkQuantParams(where: string, n: number, params: QuantParams): void {
  const { grouping, scales, zeroPoints, qmin, qmax } = params;
  const range = quantRange(params.bits, params.symmetric);
  if (range.qmin !== qmin || range.qmax !== qmax) {
    fail(where, `qmin/qmax [${qmin}, ${qmax}] do not match ${params.bits}-bit ${params.symmetric ? "symmetric" : "asymmetric"} [${range.qmin}, ${range.qmax}]`);
  }
  checkGrouping(where, n, grouping);
  if (scales.length !== grouping.groups || zeroPoints.length !== grouping.groups) {
    fail(where, `params need ${grouping.groups} scales and zero points, but have ${scales.length} and ${zeroPoints.length}`);
  }
  for (let g = 0; g < grouping.groups; g++) {
    if (!(scales[g] > 0) || !Number.isFinite(scales[g])) fail(where, `scale ${g} must be finite and > 0, but got ${scales[g]}`);
    if (zeroPoints[g] < qmin || zeroPoints[g] > qmax) fail(where, `zero point ${g} must be in ${qmin}..${qmax}, but got ${zeroPoints[g]}`);
  }
}
