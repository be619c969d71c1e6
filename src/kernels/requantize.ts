// Requantization façade: int32 GEMM accumulators to int8/uint8 with integer-only arithmetic
// (Jacob et al. 2018, section 2.2), bit-exact with TFLite's reference kernels where those are
// defined (see assembly/requantize.ts for the two places where TFLite overflows int32 and we
// saturate or clamp instead). The real multiplier M = inputScale * weightScale / outputScale
// is carried as an int32 M0 in [2^30, 2^31) and a power-of-two exponent: M = M0 * 2^(shift - 31).
import { checkInteger, fail } from "../util/check.js";
import { kernels } from "./core.js";
import { callKernel, runInline, type KernelCall, type KernelOperation, type OperationBuilder } from "./operation.js";
import type { QuantizedArray } from "./quantize.js";
import { roundHalfEven } from "./rounding.js";

// Rough single-thread cost, measured by kernels-bench, that decides when to split work.
const NS_PER_ELEMENT_REQUANTIZE = 1.0;

const INT32_MAX = 2 ** 31 - 1;
/** Shifts the kernels accept: right shifts up to 31, left shifts up to 30. */
const MIN_SHIFT = -31;
const MAX_SHIFT = 30;

export type OutputType = "int8" | "uint8";

/** Fused activations as TFLite defines them; relu1 is TFLite's RELU_N1_TO_1 (clip to [-1, 1]). */
export type Activation = "none" | "relu" | "relu6" | "relu1";

export interface QuantizedMultiplier {
  /** M0: 0, or an integer in [2^30, 2^31). */
  multiplier: number;
  /** Exponent: M = M0 * 2^(shift - 31); > 0 for multipliers >= 1. In -31..30. */
  shift: number;
}

export interface RequantizeSpec {
  /** M0 per tensor (1 entry) or per output channel (one per column), each in 0..2^31-1. */
  readonly multipliers: Int32Array;
  /** One exponent per multiplier, in -31..30: M = M0 * 2^(shift - 31). */
  readonly shifts: Int32Array;
  /** int32 bias added to each column before the multiplier (wrapping, as TFLite). */
  readonly bias?: Int32Array;
  /** Output zero point, in the output type's range. */
  readonly zeroPoint: number;
  /** Output encoding; default int8 (or the type of `out`). */
  readonly type?: OutputType;
  /** Clamp bounds of the output (fused activation, see activationBounds); default the type's range. */
  readonly min?: number;
  readonly max?: number;
}

export const outputRange = (type: OutputType): { qmin: number; qmax: number } =>
  type === "uint8" ? { qmin: 0, qmax: 255 } : { qmin: -128, qmax: 127 };

/** frexp for finite x > 0: x = q * 2^e with q in [0.5, 1). Scaling by powers of two is exact. */
function frexp(x: number): [number, number] {
  let e = Math.floor(Math.log2(x)) + 1;
  let q = x / 2 ** e;
  while (q >= 1) {
    q /= 2;
    e++;
  }
  while (q < 0.5) {
    q *= 2;
    e--;
  }
  return [q, e];
}

/**
 * Encodes a real multiplier >= 0 as TFLite's QuantizeMultiplier does: M0 = round(q * 2^31) for
 * x = q * 2^shift, q in [0.5, 1) (ties away from zero), renormalised when the rounding reaches
 * 2^31; multipliers below 2^-32 become 0, those of 2^31 and above saturate to (2^31 - 1, 30).
 */
export function quantizeMultiplier(real: number): QuantizedMultiplier {
  if (typeof real !== "number" || !Number.isFinite(real) || real < 0) {
    fail("quantizeMultiplier", `real must be a finite number >= 0, but got ${real}`);
  }
  if (real < 2 ** -33) return { multiplier: 0, shift: 0 }; // exponent < -31 even after rounding
  let [q, shift] = frexp(real);
  let fixed = Math.round(q * 2 ** 31); // positive: half up is half away from zero
  if (fixed === 2 ** 31) {
    fixed /= 2;
    shift++;
  }
  if (shift < MIN_SHIFT) return { multiplier: 0, shift: 0 };
  if (shift > MAX_SHIFT) return { multiplier: INT32_MAX, shift: MAX_SHIFT };
  return { multiplier: fixed, shift };
}

/** quantizeMultiplier of each real, as the arrays a RequantizeSpec takes. */
export function quantizeMultipliers(reals: ArrayLike<number>): { multipliers: Int32Array; shifts: Int32Array } {
  const multipliers = new Int32Array(reals.length);
  const shifts = new Int32Array(reals.length);
  for (let i = 0; i < reals.length; i++) {
    const q = quantizeMultiplier(reals[i]);
    multipliers[i] = q.multiplier;
    shifts[i] = q.shift;
  }
  return { multipliers, shifts };
}

/**
 * Output clamp bounds of a fused activation, as TFLite's CalculateActivationRangeQuantized
 * computes them, except that the real bounds 0, 6, ±1 are quantized as our quantize() does
 * (round half to even of the f32 quotient), so the bounds are exactly quantize(0) and quantize(6).
 */
export function activationBounds(kind: Activation, scale: number, zeroPoint: number, qmin: number, qmax: number): { min: number; max: number } {
  const where = "activationBounds";
  if (!(scale > 0) || !Number.isFinite(scale)) fail(where, `scale must be finite and > 0, but got ${scale}`);
  checkInteger(where, "qmin", qmin, -(2 ** 31));
  checkInteger(where, "qmax", qmax, qmin + 1);
  checkInteger(where, "zeroPoint", zeroPoint, qmin, qmax);
  const quantizeReal = (real: number): number => zeroPoint + roundHalfEven(Math.fround(real / Math.fround(scale)));
  switch (kind) {
    case "none":
      return { min: qmin, max: qmax };
    case "relu":
      return { min: Math.max(qmin, quantizeReal(0)), max: qmax };
    case "relu6":
      return { min: Math.max(qmin, quantizeReal(0)), max: Math.min(qmax, quantizeReal(6)) };
    case "relu1":
      return { min: Math.max(qmin, quantizeReal(-1)), max: Math.min(qmax, quantizeReal(1)) };
    default:
      return fail(where, `kind must be 'none', 'relu', 'relu6' or 'relu1', but got '${kind as string}'`);
  }
}

export interface RequantizeScales {
  inputScale: number;
  /** One weight scale (per tensor) or one per output channel. */
  weightScales: number | ArrayLike<number>;
  outputScale: number;
  outputZeroPoint: number;
  type?: OutputType;
  activation?: Activation;
  bias?: Int32Array;
}

/** The spec of a quantized conv/dense output: M = inputScale * weightScale / outputScale (in f64, as TFLite). */
export function requantizeSpec(s: RequantizeScales): RequantizeSpec {
  const type = s.type ?? "int8";
  const { qmin, qmax } = outputRange(type);
  const weightScales = typeof s.weightScales === "number" ? [s.weightScales] : Array.from(s.weightScales);
  const reals = weightScales.map((w) => (s.inputScale * w) / s.outputScale);
  reals.forEach((m, i) => {
    if (!Number.isFinite(m) || !(m >= 0)) {
      fail("requantizeSpec", `inputScale * weightScales[${i}] / outputScale must be finite and >= 0, but got ${m}`);
    }
  });
  const { min, max } = activationBounds(s.activation ?? "none", s.outputScale, s.outputZeroPoint, qmin, qmax);
  return { ...quantizeMultipliers(reals), bias: s.bias, zeroPoint: s.outputZeroPoint, type, min, max };
}

interface ResolvedSpec {
  type: OutputType;
  min: number;
  max: number;
  perTensor: boolean;
  anyLeftShift: boolean;
}

function checkSpec(where: string, acc: Int32Array, rows: number, cols: number, spec: RequantizeSpec, out?: QuantizedArray): ResolvedSpec {
  checkInteger(where, "rows", rows, 0);
  checkInteger(where, "cols", cols, 0);
  if (!(acc instanceof Int32Array)) fail(where, "acc must be an Int32Array");
  if (acc.length !== rows * cols) fail(where, `acc must have rows * cols = ${rows} * ${cols} elements, but has ${acc.length}`);
  const type = spec.type ?? (out instanceof Uint8Array ? "uint8" : "int8");
  if (out && (out instanceof Uint8Array) !== (type === "uint8")) fail(where, `out must be ${type === "uint8" ? "a Uint8Array" : "an Int8Array"} for ${type} output`);
  if (out && out.length !== acc.length) fail(where, `out must have ${acc.length} elements, but has ${out.length}`);
  const { multipliers, shifts, bias } = spec;
  if (!(multipliers instanceof Int32Array) || !(shifts instanceof Int32Array)) fail(where, "multipliers and shifts must be Int32Arrays");
  if (multipliers.length !== 1 && multipliers.length !== cols) {
    fail(where, `multipliers must have 1 entry (per tensor) or cols = ${cols} (per output channel), but has ${multipliers.length}`);
  }
  if (shifts.length !== multipliers.length) fail(where, `shifts must have one entry per multiplier (${multipliers.length}), but has ${shifts.length}`);
  for (let i = 0; i < multipliers.length; i++) {
    checkInteger(where, `multipliers[${i}]`, multipliers[i], 0, INT32_MAX);
    checkInteger(where, `shifts[${i}]`, shifts[i], MIN_SHIFT, MAX_SHIFT);
  }
  if (bias !== undefined && (!(bias instanceof Int32Array) || bias.length !== cols)) {
    fail(where, `bias must be an Int32Array of cols = ${cols} entries, but has ${bias?.length}`);
  }
  const { qmin, qmax } = outputRange(type);
  checkInteger(where, "zeroPoint", spec.zeroPoint, qmin, qmax);
  const min = spec.min ?? qmin;
  const max = spec.max ?? qmax;
  checkInteger(where, "min", min, qmin, qmax);
  checkInteger(where, "max", max, min, qmax);
  return { type, min, max, perTensor: multipliers.length === 1, anyLeftShift: shifts.some((s) => s > 0) };
}

/**
 * Requantizes a row-major int32 [rows, cols] accumulator matrix (one column per output
 * channel): out = clamp(zp + MultiplyByQuantizedMultiplier(acc + bias[col], M0[col], shift[col]), min, max).
 */
export function requantizeOp(acc: Int32Array, rows: number, cols: number, spec: RequantizeSpec, out?: QuantizedArray): OperationBuilder<QuantizedArray> {
  const r = checkSpec("requantize", acc, rows, cols, spec, out);
  const target = out ?? (r.type === "uint8" ? new Uint8Array(acc.length) : new Int8Array(acc.length));
  return (core, parts): KernelOperation<QuantizedArray> => {
    const staging = core.staging();
    const pacc = staging.input(acc);
    const pout = staging.output(target);
    const flat = r.perTensor && spec.bias === undefined;
    const entries = flat ? 1 : cols;
    const table = staging.scratch(callKernel(core, ["requantize_table_bytes", [entries]]));
    const prepare: KernelCall = ["requantize_prepare", [staging.input(spec.multipliers), staging.input(spec.shifts), spec.multipliers.length, entries, table]];
    const pbias = spec.bias ? staging.input(spec.bias) : 0;
    const pieces = Math.max(1, Math.min(parts, rows));
    const calls: KernelCall[] = [];
    for (let p = 0; p < pieces; p++) {
      const start = Math.floor((p * rows) / pieces);
      const end = Math.floor(((p + 1) * rows) / pieces);
      calls.push(["requantize_i32_q8", [
        pacc + start * cols * 4, end - start, cols, pbias, spec.bias ? 1 : 0, table, flat ? 1 : 0, r.anyLeftShift ? 1 : 0,
        spec.zeroPoint, r.min, r.max, pout + start * cols,
      ]]);
    }
    return {
      phases: [[prepare], calls],
      costNs: acc.length * NS_PER_ELEMENT_REQUANTIZE,
      finish() {
        staging.copyBack(pout, target);
        return target;
      },
      release: () => staging.release(),
    };
  };
}

/** Requantizes int32 accumulators to int8/uint8 on this thread; see requantizeOp. */
export const requantize = (acc: Int32Array, rows: number, cols: number, spec: RequantizeSpec, out?: QuantizedArray): QuantizedArray =>
  runInline(kernels(), requantizeOp(acc, rows, cols, spec, out));
