// The engine's integer steps (Jacob et al. 2018; TFLite's and ONNX's QLinear semantics): uint8
// activations, int8 weights per output channel, int32 accumulation, fixed-point requantization
// (requantize_i32_q8) with the fused relu/relu6 as its clamp. Every constant a step reads at run
// time (packed weights, int32 biases, requantization tables, quantization parameters) is made
// resident at load; per run, each step is raw kernel calls over its pointers and scratch. Large
// batches go through in chunks of whole images whose scratch (the widened padded input, int32
// sums) stays in cache between the kernels, as the fp32 convolution does.
import { convGeometry, type ConvGeometry, type Padding } from "../kernels/conv-geometry.js";
import type { KernelCore, Staging } from "../kernels/core.js";
import { addRescaleFactors } from "../kernels/add-q8.js";
import { activationBounds, quantizeMultipliers, type Activation } from "../kernels/requantize.js";
import { multiplyByQuantizedMultiplierRef } from "../kernels/reference/requantize.js";
import type { Conv2DNode, DenseNode, DepthwiseConv2DNode, PoolNode } from "../graph/ir.js";
import type { ActivationParams } from "./int8-model.js";
import { kernelCall, type EngineStep, type Runnable } from "./engine-step.js";

/** Scratch bytes per chunk: a chunk's widened input (or int32 sums) stays within L2. */
const CHUNK_BYTES = 2 ** 20;

export type FusedRelu = "relu" | "relu6" | undefined;

/** A requantization made resident: its table (from requantize_prepare), bias and clamp. */
interface Requant {
  table: number;
  bias: number;
  perTensor: boolean;
  /** requantize_i32_q8's shiftMode. */
  shiftMode: number;
  zeroPoint: number;
  lo: number;
  hi: number;
}

/** The int32 bias of a layer: round(bias / (inputScale · weightScale[c])). */
export function int32Bias(bias: Float32Array | undefined, inputScale: number, weightScales: Float32Array, channels: number): Int32Array {
  return Int32Array.from({ length: channels }, (_, c) => (bias === undefined ? 0 : Math.round(bias[c] / (inputScale * weightScales[c % weightScales.length]))));
}

/** The int8 codes of float weights on the grid q·scale[c], c the flat index modulo the channels. */
export function int8Codes(values: Float32Array, scales: Float32Array): Int8Array {
  // A plain loop: TypedArray.from with a map function costs ~100x more per element in V8, most of a cold start.
  const codes = new Int8Array(values.length);
  const channels = scales.length;
  for (let i = 0, c = 0; i < values.length; i++, c = c + 1 === channels ? 0 : c + 1) codes[i] = Math.round(values[i] / scales[c]);
  return codes;
}

/** Clamp bounds of the output: the uint8 range, narrowed by a fused relu or relu6. */
export function outputBounds(out: ActivationParams, relu: FusedRelu): { min: number; max: number } {
  return activationBounds((relu ?? "none") as Activation, out.scale, out.zeroPoint, 0, 255);
}

/** requantize_i32_q8's shiftMode values (assembly/requantize.ts). */
const SHIFT_RIGHT_ONLY = 0;
const SHIFT_ANY_LEFT = 1;
const SHIFT_BOUNDED = 2;

/**
 * The largest |Σ (x - zp)·w + bias| of any output channel: Σ|w| times the largest |x - zp| of a
 * uint8 input, plus |bias|. codes: int8 weights whose channel is the flat index modulo `channels`.
 */
export function accumulatorBound(codes: Int8Array, channels: number, zeroPoint: number, bias: Int32Array): number {
  const sums = new Float64Array(channels);
  for (let i = 0; i < codes.length; i++) sums[i % channels] += Math.abs(codes[i]);
  const deviation = Math.max(zeroPoint, 255 - zeroPoint);
  return Math.max(...Array.from(sums, (sum, c) => sum * deviation + Math.abs(bias[c])));
}

/** SHIFT_BOUNDED where no shift is left and every rescaled rounding stays inside int32 for |acc| <= bound. */
function shiftMode(shifts: Int32Array, bound: number | undefined): number {
  if (shifts.some((s) => s > 0)) return SHIFT_ANY_LEFT;
  if (bound === undefined) return SHIFT_RIGHT_ONLY;
  const rights = Array.from(shifts, (s) => -s);
  const maxRight = Math.max(...rights);
  const fits = rights.every((right) => (bound + 1 + (right > 0 ? 2 ** (right - 1) : 0)) * 2 ** (maxRight - right) < 2 ** 31);
  return fits ? SHIFT_BOUNDED : SHIFT_RIGHT_ONLY;
}

function residentRequant(core: KernelCore, reals: number[], bias: Int32Array | undefined, out: ActivationParams, relu: FusedRelu, accBound?: number): Requant {
  const { multipliers, shifts } = quantizeMultipliers(reals);
  const perTensor = reals.length === 1;
  const entries = perTensor && bias === undefined ? 1 : Math.max(reals.length, bias?.length ?? 1);
  const table = core.malloc((core.exports.requantize_table_bytes as (count: number) => number)(entries));
  const [pm, ps] = [core.allocCopy(multipliers), core.allocCopy(shifts)];
  kernelCall(core, "requantize_prepare", [pm.byteOffset, ps.byteOffset, multipliers.length, entries, table])();
  core.free(pm);
  core.free(ps);
  const { min, max } = outputBounds(out, relu);
  return {
    table, bias: bias === undefined ? 0 : core.allocCopy(bias).byteOffset, perTensor, shiftMode: shiftMode(shifts, accBound),
    zeroPoint: out.zeroPoint, lo: min, hi: max,
  };
}

/**
 * The requantization of a conv, dense or depthwise layer: its bias in int32, the per-channel
 * multipliers s_in·s_w[c] / s_out, and the bound of its accumulators from its int8 codes.
 */
function weightedRequant(
  core: KernelCore, weights: Int8Array, weightScales: Float32Array, bias: Float32Array | undefined, channels: number, params: StepParams, relu: FusedRelu,
): Requant {
  const int32 = int32Bias(bias, params.input.scale, weightScales, channels);
  const reals = Array.from({ length: channels }, (_, c) => (params.input.scale * weightScales[c]) / params.output.scale);
  return residentRequant(core, reals, int32, params.output, relu, accumulatorBound(weights, channels, params.input.zeroPoint, int32));
}

const requantizeCall = (core: KernelCore, r: Requant, acc: number, rows: number, cols: number, out: number): Runnable =>
  kernelCall(core, "requantize_i32_q8", [acc, rows, cols, r.bias, r.bias === 0 ? 0 : 1, r.table, r.perTensor ? 1 : 0, r.shiftMode, r.zeroPoint, r.lo, r.hi, out]);

/** Image ranges [n0, n1) of at most CHUNK_BYTES of scratch each (one image at least). */
function chunks(batch: number, scratchBytesPerImage: number): Array<[number, number]> {
  const per = Math.max(1, Math.floor(CHUNK_BYTES / Math.max(1, scratchBytesPerImage)));
  const ranges: Array<[number, number]> = [];
  for (let n0 = 0; n0 < batch; n0 += per) ranges.push([n0, Math.min(batch, n0 + per)]);
  return ranges;
}

const windowGeometryArgs = (g: ConvGeometry): number[] => [
  g.inHeight, g.inWidth, g.inChannels, g.kernelHeight, g.kernelWidth, g.strideHeight, g.strideWidth,
  g.dilationHeight, g.dilationWidth, g.padTop, g.padLeft, g.outHeight, g.outWidth,
];

/** Activations of a step: its input's and output's uint8 parameters. */
export interface StepParams {
  input: ActivationParams;
  output: ActivationParams;
}

/** The geometry of a conv2d, or of a dense layer as the 1×1 convolution of [batch, 1, 1, in]. */
export function convQ8Geometry(node: Conv2DNode | DenseNode, inShape: readonly number[], batch: number, padding?: Padding): ConvGeometry {
  return node.op === "dense"
    ? convGeometry([batch, 1, 1, inShape[inShape.length - 1]], 1, { padding: "valid" })
    : convGeometry([batch, ...inShape], node.kernelSize, { strides: node.strides, dilations: node.dilation, padding: padding ?? node.padding });
}

/**
 * The K' × N weight codes of the direct convolution: the HWIO codes with each tap's channels
 * padded from C to the even Cp with zero rows, so that k-pairs never straddle two taps.
 */
function directCodes(codes: Int8Array, taps: number, channels: number, paddedChannels: number, n: number): Int8Array {
  if (paddedChannels === channels) return codes;
  const out = new Int8Array(taps * paddedChannels * n);
  for (let t = 0; t < taps; t++) out.set(codes.subarray(t * channels * n, (t + 1) * channels * n), t * paddedChannels * n);
  return out;
}

/**
 * conv2d (or dense): the uint8 input widened to int16 (x - zp) with its padding (the zero point,
 * so 0) and read in place by the direct 8-bit GEMM (conv_q8_direct_nhwc), which requantizes each
 * block of output pixels with the int32 bias and the fused clamp as soon as it is summed.
 */
export function convQ8Step(
  core: KernelCore, node: Conv2DNode | DenseNode, input: string, inShape: readonly number[], params: StepParams, weightScales: Float32Array,
  relu: FusedRelu, padding?: Padding,
): EngineStep {
  const n = node.op === "dense" ? node.units : node.filters;
  const single = convQ8Geometry(node, inShape, 1, padding);
  const cp = single.inChannels + (single.inChannels & 1);
  const kPadded = single.kernelHeight * single.kernelWidth * cp;
  const weights = int8Codes(node.weights.kernel.values, weightScales);
  const codes = core.allocCopy(directCodes(weights, single.kernelHeight * single.kernelWidth, single.inChannels, cp, n));
  const packedB = core.malloc(Math.ceil(n / 8) * (kPadded / 2) * 32);
  kernelCall(core, "gemm_q8_pack_b", [codes.byteOffset, n, kPadded, n, 1, 0, 0, packedB, 0, Math.ceil(n / 8)])();
  core.free(codes);
  const r = weightedRequant(core, weights, weightScales, node.weights.bias?.values, n, params, relu);
  const blockBytes = (core.exports.conv_q8_direct_scratch_bytes as (n: number) => number)(n);
  return {
    output: node.id, inputs: [input], outputBytesPerExample: single.rows * n,
    bind(batch, pointers): Runnable[] {
      const g = convQ8Geometry(node, inShape, batch, padding);
      const [hp, wp] = [g.inHeight + g.padTop + g.padBottom, g.inWidth + g.padLeft + g.padRight];
      const pixels = g.outHeight * g.outWidth;
      const ranges = chunks(batch, hp * wp * cp * 2);
      const staging: Staging = core.staging();
      const padded = staging.scratch((ranges[0][1] - ranges[0][0]) * hp * wp * cp * 2);
      const block = staging.scratch(blockBytes);
      const runnables = ranges.flatMap(([n0, n1]): Runnable[] => [
        kernelCall(core, "pad_widen_u8_i16", [pointers.inputs[0], params.input.zeroPoint, g.inHeight, g.inWidth, g.inChannels, g.padTop, g.padLeft, hp, wp, cp, n0, n1, padded]),
        kernelCall(core, "conv_q8_direct_nhwc", [
          padded, hp, wp, cp, g.kernelHeight, g.kernelWidth, g.strideHeight, g.strideWidth, g.dilationHeight, g.dilationWidth, g.outHeight, g.outWidth,
          packedB, n, 0, (n1 - n0) * pixels, block,
          r.bias, r.bias === 0 ? 0 : 1, r.table, r.perTensor ? 1 : 0, r.shiftMode, r.zeroPoint, r.lo, r.hi, pointers.output + n0 * pixels * n,
        ]),
      ]);
      staging.release(); // scratch: the next step's may reuse it (see engine-step.ts)
      return runnables;
    },
  };
}

/** Channel pairs above which 4·Y of the integer Winograd could leave int32 (see assembly/winograd-q8.ts). */
const MAX_WINOGRAD_Q8_CHANNELS = 1840;
/** Below this many input channels the transforms cost more than the 2.25× fewer products save. */
const MIN_WINOGRAD_Q8_CHANNELS = 8;

/** Whether a conv runs as integer Winograd F(2×2, 3×3): 3×3, stride 1, no dilation, enough channels. */
export function winogradQ8Applies(g: ConvGeometry): boolean {
  const cp = g.inChannels + (g.inChannels & 1);
  return g.kernelHeight === 3 && g.kernelWidth === 3 && g.strideHeight === 1 && g.strideWidth === 1 && g.dilationHeight === 1 && g.dilationWidth === 1
    && cp >= MIN_WINOGRAD_Q8_CHANNELS && cp <= MAX_WINOGRAD_Q8_CHANNELS;
}

/**
 * U = G' g G'ᵀ of each (input channel, filter) pair of int8 HWIO codes [3, 3, C, N], packed per ξ
 * as gemm_q8_pack_b packs B (int16 k-pairs over the Cp channels, panels of 8 filters, zeros past
 * C and N): G' = [2 0 0; 1 1 1; 1 -1 1; 0 0 2].
 */
export function winogradQ8Filter(codes: Int8Array, channels: number, n: number): { packed: Int16Array; xiElements: number } {
  const cp = channels + (channels & 1);
  const [pairs, panels] = [cp / 2, Math.ceil(n / 8)];
  const xiElements = panels * pairs * 16;
  const packed = new Int16Array(16 * xiElements);
  // G' = [[2,0,0],[1,1,1],[1,-1,1],[0,0,2]] (G doubled, so every entry is an integer), applied to
  // the columns of g then to the rows; scalar arithmetic into fixed arrays, as this runs at load.
  const column = new Int32Array(12); // (G' g): 4 rows × 3 columns
  for (let c = 0; c < channels; c++) {
    for (let o = 0; o < n; o++) {
      const base = c * n + o;
      const step = channels * n;
      for (let kx = 0; kx < 3; kx++) {
        const g0 = codes[base + kx * step];
        const g1 = codes[base + (3 + kx) * step];
        const g2 = codes[base + (6 + kx) * step];
        column[kx] = 2 * g0;
        column[3 + kx] = g0 + g1 + g2;
        column[6 + kx] = g0 - g1 + g2;
        column[9 + kx] = 2 * g2;
      }
      const slot = ((Math.floor(o / 8) * pairs + (c >> 1)) * 8 + (o % 8)) * 2 + (c & 1);
      for (let i = 0; i < 4; i++) {
        const [r0, r1, r2] = [column[3 * i], column[3 * i + 1], column[3 * i + 2]]; // row i of (G' g) G'ᵀ
        packed[(4 * i) * xiElements + slot] = 2 * r0;
        packed[(4 * i + 1) * xiElements + slot] = r0 + r1 + r2;
        packed[(4 * i + 2) * xiElements + slot] = r0 - r1 + r2;
        packed[(4 * i + 3) * xiElements + slot] = 2 * r2;
      }
    }
  }
  return { packed, xiElements };
}

/**
 * A 3×3 stride-1 conv2d as exact integer Winograd F(2×2, 3×3) (assembly/winograd-q8.ts): the
 * input widened and padded, its 16 transformed matrices, 16 int16 GEMMs against the filter
 * transformed at load, the output transform requantizing two output rows at a time.
 */
export function winogradQ8Step(
  core: KernelCore, node: Conv2DNode, input: string, inShape: readonly number[], params: StepParams, weightScales: Float32Array,
  relu: FusedRelu, padding?: Padding,
): EngineStep {
  const n = node.filters;
  const geometry = (batch: number): ConvGeometry => convQ8Geometry(node, inShape, batch, padding);
  const single = geometry(1);
  const cp = single.inChannels + (single.inChannels & 1);
  const weights = int8Codes(node.weights.kernel.values, weightScales);
  const { packed, xiElements } = winogradQ8Filter(weights, single.inChannels, n);
  const filter = core.allocCopy(packed);
  const r = weightedRequant(core, weights, weightScales, node.weights.bias?.values, n, params, relu);
  const [tilesY, tilesX] = [Math.ceil(single.outHeight / 2), Math.ceil(single.outWidth / 2)];
  const hp = Math.max(single.inHeight + single.padTop + single.padBottom, 2 * tilesY + 2);
  const wp = Math.max(single.inWidth + single.padLeft + single.padRight, 2 * tilesX + 2);
  const pixels = single.outHeight * single.outWidth;
  const outputScratch = (core.exports.winograd_q8_output_scratch_bytes as (width: number, n: number) => number)(single.outWidth, n);
  return {
    output: node.id, inputs: [input], outputBytesPerExample: pixels * n,
    bind(batch, pointers): Runnable[] {
      const tiles = tilesY * tilesX;
      const perImage = hp * wp * cp * 2 + 16 * tiles * (cp * 2 + n * 4);
      const ranges = chunks(batch, perImage);
      const most = ranges[0][1] - ranges[0][0];
      const [xiStride, mStride] = [most * tiles * cp * 2 + 64, most * tiles * n * 4 + 64];
      const staging: Staging = core.staging();
      const [padded, v, m, rows] = [staging.scratch(most * hp * wp * cp * 2), staging.scratch(16 * xiStride), staging.scratch(16 * mStride), staging.scratch(outputScratch)];
      const runnables = ranges.flatMap(([n0, n1]): Runnable[] => [
        kernelCall(core, "pad_widen_u8_i16", [pointers.inputs[0], params.input.zeroPoint, single.inHeight, single.inWidth, single.inChannels, single.padTop, single.padLeft, hp, wp, cp, n0, n1, padded]),
        kernelCall(core, "winograd_q8_input_f2", [padded, hp, wp, cp, tilesY, tilesX, n1 - n0, v, xiStride]),
        kernelCall(core, "winograd_q8_gemm_f2", [v, xiStride, (n1 - n0) * tiles, cp, filter.byteOffset, xiElements * 2, n, m, mStride]),
        kernelCall(core, "winograd_q8_output_f2", [
          m, mStride, n, tilesY, tilesX, n1 - n0, single.outHeight, single.outWidth, rows,
          r.bias, r.bias === 0 ? 0 : 1, r.table, r.perTensor ? 1 : 0, r.shiftMode, r.zeroPoint, r.lo, r.hi, pointers.output + n0 * pixels * n,
        ]),
      ]);
      staging.release(); // scratch: the next step's may reuse it (see engine-step.ts)
      return runnables;
    },
  };
}

/** Depthwise convolution: int32 sums of (x - zp)·w, then requantization with bias per channel. */
export function depthwiseQ8Step(
  core: KernelCore, node: DepthwiseConv2DNode, input: string, inShape: readonly number[], params: StepParams, weightScales: Float32Array,
  relu: FusedRelu, padding?: Padding,
): EngineStep {
  const geometry = (batch: number): ConvGeometry =>
    convGeometry([batch, ...inShape], node.kernelSize, { strides: node.strides, dilations: node.dilation, padding: padding ?? node.padding });
  const channels = inShape[2] * node.depthMultiplier;
  const weights = int8Codes(node.weights.depthwiseKernel.values, weightScales);
  const filter = core.allocCopy(Int16Array.from(weights));
  const requant = weightedRequant(core, weights, weightScales, node.weights.bias?.values, channels, params, relu);
  const single = geometry(1);
  return {
    output: node.id, inputs: [input], outputBytesPerExample: single.rows * channels,
    bind(batch, pointers): Runnable[] {
      const g = geometry(batch);
      const pixels = g.outHeight * g.outWidth;
      const staging = core.staging();
      const ranges = chunks(batch, pixels * channels * 4);
      const acc = staging.scratch((ranges[0][1] - ranges[0][0]) * pixels * channels * 4);
      const runnables = ranges.flatMap(([n0, n1]): Runnable[] => [
        kernelCall(core, "depthwise_conv_q8_acc_nhwc", [
          pointers.inputs[0] + n0 * g.inHeight * g.inWidth * g.inChannels, params.input.zeroPoint, filter.byteOffset, g.inHeight, g.inWidth, g.inChannels,
          node.depthMultiplier, g.kernelHeight, g.kernelWidth, g.strideHeight, g.strideWidth, g.dilationHeight, g.dilationWidth,
          g.padTop, g.padLeft, g.outHeight, g.outWidth, 0, (n1 - n0) * g.outHeight, acc,
        ]),
        requantizeCall(core, requant, acc, (n1 - n0) * pixels, channels, pointers.output + n0 * pixels * channels),
      ]);
      staging.release();
      return runnables;
    },
  };
}

const poolArgs = (g: ConvGeometry): number[] => [
  g.inHeight, g.inWidth, g.inChannels, g.kernelHeight, g.kernelWidth, g.strideHeight, g.strideWidth, g.padTop, g.padLeft, g.outHeight, g.outWidth,
];

/** Max pooling on bytes (same parameters in and out), or average pooling requantized to the output's. */
export function poolQ8Step(
  core: KernelCore, node: PoolNode | { op: "globalAvgPool"; id: string }, input: string, inShape: readonly number[], params: StepParams,
): EngineStep {
  const [height, width, channels] = inShape;
  const geometry = (batch: number): ConvGeometry => node.op === "globalAvgPool"
    ? convGeometry([batch, height, width, channels], [height, width], { padding: "valid" })
    : convGeometry([batch, height, width, channels], node.poolSize, { strides: node.strides, padding: node.padding });
  const single = geometry(1);
  const requant = node.op === "maxPool" ? undefined : residentRequant(core, [params.input.scale / params.output.scale], undefined, params.output, undefined);
  return {
    output: node.id, inputs: [input], outputBytesPerExample: single.rows * channels,
    bind(batch, pointers): Runnable[] {
      const g = geometry(batch);
      const rows = batch * g.outHeight;
      if (requant === undefined) return [kernelCall(core, "pool_max_u8_nhwc", [pointers.inputs[0], ...poolArgs(g), 0, rows, pointers.output])];
      const staging = core.staging();
      const acc = staging.scratch(g.rows * channels * 4);
      const runnables = [
        kernelCall(core, "pool_avg_q8_acc_nhwc", [pointers.inputs[0], params.input.zeroPoint, ...poolArgs(g), 0, rows, acc]),
        requantizeCall(core, requant, acc, g.rows * channels, 1, pointers.output),
      ];
      staging.release();
      return runnables;
    },
  };
}

/** The residual add of two uint8 tensors on their own scales, to the output's (relu/relu6 fused), in one pass. */
export function addQ8Step(
  core: KernelCore, id: string, inputs: readonly [string, string], elements: number, inParams: readonly [ActivationParams, ActivationParams],
  output: ActivationParams, relu: FusedRelu,
): EngineStep {
  const [a, b] = inParams;
  const { kA, kB, realMultiplier } = addRescaleFactors(a.scale, b.scale, output.scale);
  const r = residentRequant(core, [realMultiplier], undefined, output, relu);
  const scratchBytes = (core.exports.add_q8_requant_scratch_bytes as () => number)();
  return {
    output: id, inputs, outputBytesPerExample: elements,
    bind(batch, pointers): Runnable[] {
      const staging = core.staging();
      const scratch = staging.scratch(scratchBytes);
      const runnables = [kernelCall(core, "add_q8_requant", [
        pointers.inputs[0], a.zeroPoint, kA, pointers.inputs[1], b.zeroPoint, kB, 0, batch * elements, scratch,
        r.table, r.shiftMode, r.zeroPoint, r.lo, r.hi, pointers.output,
      ])];
      staging.release();
      return runnables;
    },
  };
}

/**
 * The 256-entry table of a uint8 → uint8 rescale through a clamp: clamp(zpOut + M·(v - zpIn)),
 * M applied in fixed point as requantize does. A standalone relu/relu6 and each input of a
 * concatenation are such maps; a lookup per byte is exact and as fast as a kernel for these rare ops.
 */
export function rescaleTable(from: ActivationParams, to: ActivationParams, relu: FusedRelu): Uint8Array {
  const [{ multipliers, shifts }, { min, max }] = [quantizeMultipliers([from.scale / to.scale]), outputBounds(to, relu)];
  return Uint8Array.from({ length: 256 }, (_, v) =>
    Math.min(max, Math.max(min, to.zeroPoint + multiplyByQuantizedMultiplierRef(v - from.zeroPoint, multipliers[0], shifts[0]))));
}

/** A standalone relu/relu6 (one nothing before it could take) as a byte lookup. */
export function lookupStep(core: KernelCore, id: string, input: string, elements: number, table: Uint8Array): EngineStep {
  return {
    output: id, inputs: [input], outputBytesPerExample: elements,
    bind(batch, pointers): Runnable[] {
      const x = new Uint8Array(core.buffer, pointers.inputs[0], batch * elements);
      const y = new Uint8Array(core.buffer, pointers.output, batch * elements);
      return [() => {
        for (let i = 0; i < x.length; i++) y[i] = table[x[i]];
      }];
    },
  };
}

/** Concatenation along channels, each input mapped to the output's parameters by its table. */
export function concatenateQ8Step(core: KernelCore, id: string, inputs: readonly string[], channels: readonly number[], pixels: number, tables: readonly Uint8Array[]): EngineStep {
  const outChannels = channels.reduce((s, c) => s + c, 0);
  return {
    output: id, inputs, outputBytesPerExample: pixels * outChannels,
    bind(batch, pointers): Runnable[] {
      const memory = new Uint8Array(core.buffer);
      return [() => {
        let offset = 0;
        for (let i = 0; i < channels.length; i++) {
          const [c, table, source] = [channels[i], tables[i], pointers.inputs[i]];
          for (let p = 0; p < batch * pixels; p++) {
            for (let j = 0; j < c; j++) memory[pointers.output + p * outChannels + offset + j] = table[memory[source + p * c + j]];
          }
          offset += c;
        }
      }];
    },
  };
}

/** float32 → uint8 with the input's parameters (round half to even, clamped), as quantize() does. */
export function quantizeInputStep(core: KernelCore, id: string, input: string, elements: number, params: ActivationParams): EngineStep {
  const scales = core.allocCopy(Float32Array.of(params.scale));
  const zeroPoints = core.allocCopy(Int32Array.of(params.zeroPoint));
  return {
    output: id, inputs: [input], outputBytesPerExample: elements,
    bind: (batch, pointers) => [kernelCall(core, "quantize_f32_q8", [pointers.inputs[0], batch * elements, scales.byteOffset, zeroPoints.byteOffset, 1, 1, 0, 0, 255, pointers.output])],
  };
}

/** uint8 → float32 with the tensor's parameters: the logits, or any other output. */
export function dequantizeStep(core: KernelCore, id: string, input: string, elements: number, params: ActivationParams): EngineStep {
  const scales = core.allocCopy(Float32Array.of(params.scale));
  const zeroPoints = core.allocCopy(Int32Array.of(params.zeroPoint));
  return {
    output: id, inputs: [input], outputBytesPerExample: elements * 4,
    bind: (batch, pointers) => [kernelCall(core, "dequantize_u8_f32", [pointers.inputs[0], batch * elements, scales.byteOffset, zeroPoints.byteOffset, 1, 1, 0, pointers.output])],
  };
}
