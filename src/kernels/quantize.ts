// Uniform quantization façade: quantize, dequantize, fake-quantize and min/max statistics on
// the SIMD kernels. Each op is described once as a KernelOperation; the plain functions run it
// inline, KernelPool runs the same description split over threads.
import { checkNoNaN, fail } from "../util/check.js";
import { kernels, type KernelCore } from "./core.js";
import { checkGrouping, perTensor, type Grouping } from "./grouping.js";
import { runInline, splitGrouped, type KernelOperation, type OperationBuilder } from "./operation.js";
import { checkQuantParams, quantParamsFromRange, type QuantParams, type QuantSpec } from "./quant-params.js";

// Rough single-thread costs, measured by kernels-bench, that decide when to split work.
const NS_PER_ELEMENT_QUANTIZE = 0.25;
const NS_PER_ELEMENT_STATS = 0.1;

export type QuantizedArray = Int8Array | Uint8Array;

function paramsScratch(core: KernelCore, params: QuantParams, release: number[]): { scales: number; zps: number } {
  const groups = params.grouping.groups;
  const scales = core.malloc(groups * 4);
  const zps = core.malloc(groups * 4);
  release.push(scales, zps);
  core.view(Float32Array, scales, groups).set(params.scales);
  core.view(Int32Array, zps, groups).set(params.zeroPoints);
  return { scales, zps };
}

/** Shared shape of quantize / fake-quantize: f32 in, elementSize-byte values out, NaN count back. */
function elementwiseOp<T extends Float32Array | QuantizedArray>(
  where: string, fn: string, x: Float32Array, params: QuantParams, out: T, outBytesPerElement: number,
): OperationBuilder<T> {
  checkQuantParams(where, x.length, params);
  if (out.length !== x.length) fail(where, `out must have ${x.length} elements, but has ${out.length}`);
  return (core, parts): KernelOperation<T> => {
    const staging = core.staging();
    const temps: number[] = [];
    const px = staging.input(x);
    const pout = staging.output(out);
    const { scales, zps } = paramsScratch(core, params, temps);
    const { inner, groups } = params.grouping;
    const calls = splitGrouped(x.length, inner, groups, parts).map(
      (r) => [fn, [px + r.start * 4, r.length, scales, zps, inner, groups, r.firstGroup, params.qmin, params.qmax, pout + r.start * outBytesPerElement]] as const,
    );
    return {
      phases: [calls],
      costNs: x.length * NS_PER_ELEMENT_QUANTIZE,
      finish(results) {
        checkNoNaN(where, results[0].reduce((a, b) => a + b, 0));
        staging.copyBack(pout, out);
        return out;
      },
      release() {
        staging.release();
        for (const p of temps) core.free(p);
      },
    };
  };
}

export function quantizeOp(x: Float32Array, params: QuantParams, out?: QuantizedArray): OperationBuilder<QuantizedArray> {
  const target = out ?? (params.symmetric ? new Int8Array(x.length) : new Uint8Array(x.length));
  if (params.symmetric !== target instanceof Int8Array) {
    fail("quantize", `out must be ${params.symmetric ? "an Int8Array for symmetric" : "a Uint8Array for asymmetric"} quantization`);
  }
  return elementwiseOp("quantize", "quantize_f32_q8", x, params, target, 1);
}

export function fakeQuantizeOp(x: Float32Array, params: QuantParams, out?: Float32Array): OperationBuilder<Float32Array> {
  return elementwiseOp("fakeQuantize", "fake_quantize_f32", x, params, out ?? new Float32Array(x.length), 4);
}

export function dequantizeOp(q: QuantizedArray, params: QuantParams, out?: Float32Array): OperationBuilder<Float32Array> {
  checkQuantParams("dequantize", q.length, params);
  const signed = q instanceof Int8Array;
  if (signed !== params.symmetric) {
    fail("dequantize", `q must be ${params.symmetric ? "an Int8Array for symmetric" : "a Uint8Array for asymmetric"} parameters`);
  }
  const target = out ?? new Float32Array(q.length);
  if (target.length !== q.length) fail("dequantize", `out must have ${q.length} elements, but has ${target.length}`);
  const fn = signed ? "dequantize_i8_f32" : "dequantize_u8_f32";
  return (core, parts) => {
    const staging = core.staging();
    const temps: number[] = [];
    const pq = staging.input(q);
    const pout = staging.output(target);
    const { scales, zps } = paramsScratch(core, params, temps);
    const { inner, groups } = params.grouping;
    const calls = splitGrouped(q.length, inner, groups, parts).map(
      (r) => [fn, [pq + r.start, r.length, scales, zps, inner, groups, r.firstGroup, pout + r.start * 4]] as const,
    );
    return {
      phases: [calls],
      costNs: q.length * NS_PER_ELEMENT_QUANTIZE,
      finish() {
        staging.copyBack(pout, target);
        return target;
      },
      release() {
        staging.release();
        for (const p of temps) core.free(p);
      },
    };
  };
}

export interface MinMax {
  min: Float32Array;
  max: Float32Array;
}

export function minMaxOp(x: Float32Array, grouping: Grouping = perTensor()): OperationBuilder<MinMax> {
  checkGrouping("minMax", x.length, grouping);
  return (core, parts) => {
    const staging = core.staging();
    const px = staging.input(x);
    const ranges = splitGrouped(x.length, grouping.inner, grouping.groups, parts);
    // each part merges into its own slots (per tensor: one slot each), combined in finish()
    const slotsPerPart = grouping.groups;
    const slots = ranges.length * slotsPerPart;
    const pmin = staging.scratch(slots * 4);
    const pmax = staging.scratch(slots * 4);
    core.view(Float32Array, pmin, slots).fill(Infinity);
    core.view(Float32Array, pmax, slots).fill(-Infinity);
    const calls = ranges.map((r, p) => [
      "min_max_f32",
      [px + r.start * 4, r.length, grouping.inner, grouping.groups, r.firstGroup, pmin + p * slotsPerPart * 4, pmax + p * slotsPerPart * 4],
    ] as const);
    return {
      phases: [calls],
      costNs: x.length * NS_PER_ELEMENT_STATS,
      finish(results) {
        checkNoNaN("minMax", results[0].reduce((a, b) => a + b, 0));
        const mins = core.view(Float32Array, pmin, slots);
        const maxs = core.view(Float32Array, pmax, slots);
        const min = new Float32Array(slotsPerPart).fill(Infinity);
        const max = new Float32Array(slotsPerPart).fill(-Infinity);
        for (let s = 0; s < slots; s++) {
          const g = s % slotsPerPart;
          if (mins[s] < min[g]) min[g] = mins[s];
          if (maxs[s] > max[g]) max[g] = maxs[s];
        }
        return { min, max };
      },
      release: () => staging.release(),
    };
  };
}

/** Quantizes x (int8 for symmetric, uint8 for asymmetric params), exactly as ONNX QuantizeLinear. */
export const quantize = (x: Float32Array, params: QuantParams, out?: QuantizedArray): QuantizedArray =>
  runInline(kernels(), quantizeOp(x, params, out));

/** (q - zeroPoint) * scale, as ONNX DequantizeLinear. */
export const dequantize = (q: QuantizedArray, params: QuantParams, out?: Float32Array): Float32Array =>
  runInline(kernels(), dequantizeOp(q, params, out));

/** dequantize(quantize(x)) in one pass: the forward of quantization-aware training. */
export const fakeQuantize = (x: Float32Array, params: QuantParams, out?: Float32Array): Float32Array =>
  runInline(kernels(), fakeQuantizeOp(x, params, out));

/** Min and max of each group; NaN is an error. */
export const minMax = (x: Float32Array, grouping: Grouping = perTensor()): MinMax => runInline(kernels(), minMaxOp(x, grouping));

/** Quantization parameters of x for `spec` from its min/max per group. */
export function computeQuantParams(x: Float32Array, spec: QuantSpec, grouping: Grouping = perTensor()): QuantParams {
  const { min, max } = minMax(x, grouping);
  return quantParamsFromRange(min, max, spec, grouping);
}
