// Dense 2-D convolution for training, NHWC input and tfjs HWIO weights [kh, kw, cin, cout]
// viewed as the matrix W [patchSize, cout]:
//   forward          Y  = act(bias + im2col(X) · W)   (the GEMM accumulates onto bias rows)
//   input gradient   dX = col2im(dY · Wᵀ)             (stride 1: a conv of dY with W flipped)
//   filter gradient  dW = im2col(X)ᵀ · dY
// Each is one operation over one staging scope, so the im2col matrix never leaves kernel
// memory. The batch is processed in chunks of whole images that reuse one im2col buffer and
// one packed-A buffer: scratch stays bounded, and small chunks keep the buffer in cache
// between im2col writing it and the GEMM packing it. When im2col would be the identity
// (1×1 stride-1 unpadded convs, or a valid kernel that covers the whole image), X itself is
// the matrix: im2col is skipped and the GEMM reads X's rows in place, without packing them.
// 3×3 stride-1 convolutions with channel counts that are multiples of 4 skip all of this and
// run as Winograd F(4×4, 3×3) (winograd.ts); the input gradient gets there as the convolution
// of dY with the flipped filter. Calls inside a phase write disjoint rows, tiles, panels or
// images, so a KernelPool can run them on its threads.
import { checkInteger, fail } from "../util/check.js";
import { inputSize, type ConvGeometry } from "./conv-geometry.js";
import { kernels, type KernelCore } from "./core.js";
import { activationClip } from "./batchnorm.js";
import { BINARY_CODES } from "./elementwise.js";
import { packedABytes, packedBBytes } from "./gemm.js";
import { splitCount } from "../util/ranges.js";
import { checkGeometry } from "./im2col.js";
import { callKernel, runInline, type KernelCall, type KernelOperation, type OperationBuilder } from "./operation.js";
import {
  NO_STORE_EPILOGUE, WINOGRAD_MATRICES, winogradApplies, winogradCostNs, winogradFilterGradPhases, winogradForwardPhases, type StoreEpilogueArgs,
} from "./winograd.js";

const TILE_ROWS = 4;
const PANEL_COLS = 8;
const F32 = 4;
// Single-thread costs (kernels-bench) that decide when splitting over the pool pays.
const NS_PER_MAC = 0.045;
const NS_PER_COL_BYTE = 0.11;
const NS_PER_COL2IM_ELEMENT = 0.25;
/**
 * im2col bytes per chunk. A chunk that stays in cache between im2col writing it and the GEMM
 * packing it beats one streamed through DRAM (batch 32, 32×32×16→16, 3×3: 8.4 ms with 0.5-2
 * MiB chunks, 11 ms with 16 MiB); split over the pool, every chunk costs a few round trips
 * (3 phases), so chunks are larger there. A single image is the smallest chunk.
 */
const CHUNK_BYTES_INLINE = 2 ** 20;
const CHUNK_BYTES_POOL = 8 * 2 ** 20;

/** Activations tfjs's fused ops support, all applied on the output after the GEMM. */
export type Activation = "linear" | "relu" | "relu6" | "elu" | "leakyrelu" | "prelu" | "sigmoid";
export const ACTIVATIONS: readonly Activation[] = ["linear", "relu", "relu6", "elu", "leakyrelu", "prelu", "sigmoid"];

/** What follows the product on every output value: y = activation(y + bias[c]). */
export interface Epilogue {
  /** One value per output channel, or one value for all. */
  bias?: Float32Array;
  /** Default linear. */
  activation?: Activation;
  /** Slope below 0 of leakyrelu; tfjs's default is 0.2. */
  leakyreluAlpha?: number;
  /** Slopes below 0 of prelu: one per output channel, or one for all. */
  preluWeights?: Float32Array;
}

export interface ConvChunking {
  /** Target bytes of the im2col buffer per chunk (default: chosen for the cache or the pool). */
  chunkBytes?: number;
}

/** The geometry arguments the im2col/col2im kernels take after their input pointer. */
const geometryArgs = (g: ConvGeometry): number[] => [
  g.inHeight, g.inWidth, g.inChannels, g.kernelHeight, g.kernelWidth, g.strideHeight, g.strideWidth,
  g.dilationHeight, g.dilationWidth, g.padTop, g.padLeft, g.outHeight, g.outWidth,
];

/** True when row r of im2col(X) is already the contiguous slice r of X. */
export function im2colIsIdentity(g: ConvGeometry): boolean {
  const unpadded = g.padTop === 0 && g.padBottom === 0 && g.padLeft === 0 && g.padRight === 0;
  if (!unpadded) return false;
  const pointwise = g.kernelHeight === 1 && g.kernelWidth === 1 && g.strideHeight === 1 && g.strideWidth === 1 &&
    g.outHeight === g.inHeight && g.outWidth === g.inWidth;
  const wholeImage = g.kernelHeight === g.inHeight && g.kernelWidth === g.inWidth &&
    g.dilationHeight === 1 && g.dilationWidth === 1 && g.outHeight === 1 && g.outWidth === 1;
  return pointwise || wholeImage;
}

/** Contiguous image ranges [n0, n1) whose im2col fits the chunk budget (at least one image each). */
function imageChunks(g: ConvGeometry, parts: number, chunking: ConvChunking): Array<[number, number]> {
  const bytesPerImage = g.outHeight * g.outWidth * g.patchSize * F32;
  const budget = chunking.chunkBytes ?? (parts > 1 ? CHUNK_BYTES_POOL : CHUNK_BYTES_INLINE);
  const perChunk = Math.max(1, Math.floor(budget / Math.max(bytesPerImage, 1)));
  const chunks: Array<[number, number]> = [];
  for (let n0 = 0; n0 < g.batch; n0 += perChunk) chunks.push([n0, Math.min(g.batch, n0 + perChunk)]);
  return chunks;
}

interface ThreadImages {
  /** Each thread's images [n0, n1). */
  ranges: Array<[number, number]>;
  /** Images per chunk, and their im2col rows. */
  chunkImages: number;
  chunkRows: number;
}

/**
 * When a convolution splits over `parts` threads by images: each thread's image range, and the
 * cache-sized chunk (as on one thread) it works through in one call.
 */
function perThreadImages(g: ConvGeometry, parts: number, chunking: ConvChunking): ThreadImages | undefined {
  if (parts <= 1 || g.batch < parts) return undefined;
  const [[n0, n1]] = imageChunks(g, 1, chunking);
  return { ranges: splitCount(g.batch, parts), chunkImages: n1 - n0, chunkRows: (n1 - n0) * g.outHeight * g.outWidth };
}

const packACalls = (a: number, lda: number, m: number, k: number, transA: number, packed: number, parts: number): KernelCall[] =>
  splitCount(Math.ceil(m / TILE_ROWS), parts).map(([t0, t1]) => ["gemm_f32_pack_a", [a, lda, m, k, transA, packed, t0, t1]] as const);

const packBCalls = (b: number, ldb: number, k: number, n: number, transB: number, packed: number, parts: number): KernelCall[] =>
  splitCount(Math.ceil(n / PANEL_COLS), parts).map(([p0, p1]) => ["gemm_f32_pack_b", [b, ldb, k, n, transB, packed, p0, p1]] as const);

const multiplyCalls = (pa: number, pb: number, c: number, m: number, n: number, k: number, accumulate: boolean, parts: number): KernelCall[] =>
  splitCount(Math.ceil(m / TILE_ROWS), parts).map(
    ([t0, t1]) => ["gemm_f32_packed", [pa, pb, c, n, m, n, k, t0, t1, accumulate ? 1 : 0]] as const,
  );

/** C[rows×n] = clip(A · packed B + bias, lo, hi), A's rows (stride k) read in place, split by rows. */
const rowsCalls = (a: number, k: number, pb: number, c: number, n: number, rows: number, epilogue: StoreEpilogueArgs, parts: number): KernelCall[] =>
  splitCount(rows, parts).map(([r0, r1]) => ["gemm_f32_rows_epilogue", [a + r0 * k * F32, k, pb, c + r0 * n * F32, n, r1 - r0, n, k, 0, ...epilogue]] as const);

/** im2col of images starting at `image` (pointer to its first pixel) into `cols`, split by rows. */
const im2colCalls = (g: ConvGeometry, image: number, rows: number, cols: number, parts: number): KernelCall[] =>
  splitCount(rows, parts).map(([r0, r1]) => ["im2col_f32_nhwc", [image, ...geometryArgs(g), r0, r1, cols]] as const);


/** Which of the convolution's tensors an array holds (described in full only when a check fails). */
type TensorRole = "x" | "w" | "y";

function checkArrays(where: string, g: ConvGeometry, outChannels: number, arrays: Array<[string, { length: number } | undefined, number, TensorRole | string]>): void {
  checkGeometry(where, g);
  checkInteger(where, "outChannels", outChannels, 0, 2 ** 31 - 1);
  for (const [name, array, expected, role] of arrays) {
    if (array !== undefined && array.length !== expected) {
      const shape = role === "x" || role === "w" || role === "y" ? shapes(g, outChannels)[role] : role;
      fail(where, `${name} must hold ${shape} (${expected} elements), but has ${array.length}`);
    }
  }
}

const shapes = (g: ConvGeometry, outChannels: number): Record<TensorRole, string> => ({
  x: `the NHWC input [${g.batch}, ${g.inHeight}, ${g.inWidth}, ${g.inChannels}]`,
  w: `the HWIO filter [${g.kernelHeight}, ${g.kernelWidth}, ${g.inChannels}, ${outChannels}]`,
  y: `the NHWC output [${g.batch}, ${g.outHeight}, ${g.outWidth}, ${outChannels}]`,
});

function checkChunking(where: string, chunking: ConvChunking): void {
  if (chunking.chunkBytes !== undefined) checkInteger(where, "chunkBytes", chunking.chunkBytes, 1);
}

function checkEpilogue(where: string, e: Epilogue, outChannels: number): void {
  const activation = e.activation ?? "linear";
  if (!ACTIVATIONS.includes(activation)) fail(where, `activation must be one of ${ACTIVATIONS.join(", ")}, but got '${activation}'`);
  const perChannel = (name: string, v: Float32Array | undefined): void => {
    if (v !== undefined && v.length !== 1 && v.length !== outChannels) {
      fail(where, `${name} must have 1 or outChannels = ${outChannels} values, but has ${v.length}`);
    }
  };
  perChannel("bias", e.bias);
  perChannel("preluWeights", e.preluWeights);
  if (activation === "prelu" && e.preluWeights === undefined) fail(where, "activation 'prelu' needs preluWeights");
  if (e.leakyreluAlpha !== undefined && !Number.isFinite(e.leakyreluAlpha)) fail(where, `leakyreluAlpha must be finite, but got ${e.leakyreluAlpha}`);
}

/** One value per channel (a length-1 array broadcast), or undefined. */
function perChannel(v: Float32Array | undefined, channels: number): Float32Array | undefined {
  if (v === undefined || v.length === channels) return v;
  return new Float32Array(channels).fill(v[0]);
}

/**
 * max(v, 0) without a branch on the sign: (v + |v|) / 2 is exact, and 3× faster here than a
 * branch on random signs. Only -Infinity (whose sum is NaN) takes the rare second branch.
 */
function positivePart(v: number): number {
  const r = (v + Math.abs(v)) * 0.5;
  return r === r || v !== v ? r : 0;
}

/**
 * dst[i] = activation(src[i] + bias[i % channels]) for values laid out with `channels`
 * innermost (NHWC, or a row-major matrix with `channels` columns). src may be dst.
 * One loop per activation: a call through a table per element would cost more than the math.
 */
export function applyEpilogue(src: Float32Array, dst: Float32Array, channels: number, e: Epilogue): void {
  const n = src.length;
  if (channels === 0) return;
  const bias = perChannel(e.bias, channels) ?? new Float32Array(channels);
  const activation = e.activation ?? "linear";
  // f64 slopes: leakyrelu's alpha is a JS number, not rounded to f32 (as in tfjs)
  const prelu = activation === "prelu" ? perChannel(e.preluWeights, channels) : undefined;
  const slopes = prelu ? Float64Array.from(prelu) : new Float64Array(channels).fill(e.leakyreluAlpha ?? 0.2);
  for (let p = 0; p < n; p += channels) {
    switch (activation) {
      case "linear":
        for (let c = 0; c < channels; c++) dst[p + c] = src[p + c] + bias[c];
        break;
      case "relu":
        for (let c = 0; c < channels; c++) dst[p + c] = positivePart(src[p + c] + bias[c]);
        break;
      case "relu6":
        for (let c = 0; c < channels; c++) {
          const r = positivePart(src[p + c] + bias[c]);
          dst[p + c] = r > 6 ? 6 : r;
        }
        break;
      case "leakyrelu":
      case "prelu":
        for (let c = 0; c < channels; c++) {
          const v = Math.fround(src[p + c] + bias[c]);
          dst[p + c] = v < 0 ? slopes[c] * v : v;
        }
        break;
      case "elu":
        for (let c = 0; c < channels; c++) {
          const v = Math.fround(src[p + c] + bias[c]);
          dst[p + c] = v >= 0 ? v : Math.exp(v) - 1;
        }
        break;
      case "sigmoid":
        for (let c = 0; c < channels; c++) dst[p + c] = 1 / (1 + Math.exp(-Math.fround(src[p + c] + bias[c])));
        break;
    }
  }
}

/** Result of an op whose output is empty or whose sums are all empty (no rows or no taps). */
function trivialOp(target: Float32Array, finish: (t: Float32Array) => void): KernelOperation<Float32Array> {
  return { phases: [], costNs: 0, finish: () => (finish(target), target), release: () => undefined };
}

/** Floats of the filter prepared for the forward convolution (prepareForwardFilter). */
export function forwardFilterLength(g: ConvGeometry, outChannels: number): number {
  const [k, n] = [g.patchSize, outChannels];
  return (winogradApplies(g, n) ? WINOGRAD_MATRICES * packedBBytes(g.inChannels, n) : packedBBytes(k, n)) / F32;
}

/**
 * W in the form the forward convolution multiplies by: packed into the GEMM's panels, or, for
 * Winograd, its 36 transformed matrices, into `out` (forwardFilterLength floats). A caller
 * that convolves with the same filter again (an inference: weights do not change) computes
 * this once and hands it to conv2dForwardOp, which then skips that pass. `w` and `out` must
 * be arrays in `core`'s memory.
 */
export function prepareForwardFilter(core: KernelCore, w: Float32Array, g: ConvGeometry, outChannels: number, out: Float32Array): void {
  const where = "prepareForwardFilter";
  const n = outChannels;
  checkArrays(where, g, n, [["w", w, g.patchSize * n, "w"], ["out", out, forwardFilterLength(g, n), "the prepared filter"]]);
  const [pw, pout] = [core.pointerOf(w), core.pointerOf(out)];
  if (winogradApplies(g, n)) callKernel(core, ["winograd_filter_f32", [pw, g.inChannels, n, pout]]);
  else callKernel(core, ["gemm_f32_pack_b", [pw, n, g.patchSize, n, 0, pout, 0, Math.ceil(n / PANEL_COLS)]]);
}

/**
 * Forward convolution Y = activation(im2col(X) · W + bias): x NHWC [batch, inH, inW, cin],
 * w HWIO [kh, kw, cin, outChannels], result NHWC [batch, outH, outW, outChannels].
 */
export function conv2dForwardOp(
  x: Float32Array, w: Float32Array, g: ConvGeometry, outChannels: number, epilogue: Epilogue = {},
  out?: Float32Array, chunking: ConvChunking = {}, prepared?: Float32Array,
): OperationBuilder<Float32Array> {
  const where = "conv2dForward";
  checkArrays(where, g, outChannels, [["x", x, inputSize(g), "x"], ["w", w, g.patchSize * outChannels, "w"], ["out", out, g.rows * outChannels, "y"]]);
  checkEpilogue(where, epilogue, outChannels);
  checkChunking(where, chunking);
  if (prepared !== undefined) checkArrays(where, g, outChannels, [["prepared", prepared, forwardFilterLength(g, outChannels), "the filter prepared by prepareForwardFilter"]]);
  const target = out ?? new Float32Array(g.rows * outChannels);
  const [k, n] = [g.patchSize, outChannels];
  const pixels = g.outHeight * g.outWidth;
  const identity = im2colIsIdentity(g);
  const winograd = winogradApplies(g, n);
  return (core: KernelCore, parts: number) => {
    if (g.rows === 0 || n === 0) return trivialOp(target, () => undefined);
    if (k === 0) return trivialOp(target, (t) => applyEpilogue(t.fill(0), t, n, epilogue));
    const staging = core.staging();
    const px = staging.input(x);
    const pw = staging.input(w);
    const pout = staging.output(target);
    // the filter packed here, unless the caller prepared it (then each packing phase is empty)
    const packedB = prepared !== undefined ? staging.input(prepared) : winograd ? 0 : staging.scratch(packedBBytes(k, n));
    const packB = (): KernelCall[] => (prepared !== undefined ? [] : packBCalls(pw, n, k, n, 0, packedB, parts));
    // the bias, and relu or relu6 (a clip), are applied as Y is stored; the rarer activations in finish, in JS
    const bias = perChannel(epilogue.bias, n);
    const activation = { ...epilogue, bias: undefined };
    const kind = activation.activation ?? "linear";
    const clips = kind === "relu" || kind === "relu6";
    const store: StoreEpilogueArgs = [bias ? staging.input(bias) : 0, ...activationClip(clips ? kind : undefined)];
    const jsActivation = !clips && kind !== "linear";
    const perThread = (split: ThreadImages): KernelCall[][] => [
      packB(),
      // one call per thread over its own images, each with its own chunk scratch
      split.ranges.map(([n0, n1]): KernelCall => {
        const cols = staging.scratch(split.chunkRows * k * F32);
        return ["conv2d_forward_images_f32", [px, ...geometryArgs(g), packedB, n, pout, 0, ...store, n0, n1, split.chunkImages, cols]];
      }),
    ];
    // x's rows are the matrix: the GEMM reads them in place, split by rows (no packing, no chunks)
    const inPlace = (): KernelCall[][] => [
      packB(),
      rowsCalls(px, k, packedB, pout, n, g.rows, store, parts),
    ];
    // im2col's rows are the matrix: the GEMM reads them where im2col wrote them, unpacked
    const chunked = (): KernelCall[][] => {
      const chunks = imageChunks(g, parts, chunking);
      const maxRows = (chunks[0][1] - chunks[0][0]) * pixels;
      const cols = staging.scratch(maxRows * k * F32);
      const imageBytes = g.inHeight * g.inWidth * g.inChannels * F32;
      const phases: KernelCall[][] = [];
      chunks.forEach(([n0, n1], i) => {
        const rows = (n1 - n0) * pixels;
        const first = i === 0 ? packB() : [];
        phases.push([...im2colCalls(g, px + n0 * imageBytes, rows, cols, parts), ...first]);
        phases.push(rowsCalls(cols, k, packedB, pout + n0 * pixels * n * F32, n, rows, store, parts));
      });
      return phases;
    };
    const split = perThreadImages(g, parts, chunking);
    const phases = winograd
      ? winogradForwardPhases(g, n, px, pw, pout, store, staging, parts, prepared !== undefined ? packedB : undefined)
      : identity ? inPlace() : split ? perThread(split) : chunked();
    return {
      phases,
      costNs: winograd ? winogradCostNs(g, n) : g.rows * k * n * NS_PER_MAC + (identity ? 0 : g.rows * k * F32 * NS_PER_COL_BYTE),
      finish() {
        if (jsActivation) applyEpilogue(core.view(Float32Array, pout, target.length), target, n, activation);
        else staging.copyBack(pout, target);
        return target;
      },
      release: () => staging.release(),
    };
  };
}

/**
 * With stride 1, dX is itself a convolution: of dY with W flipped in space and transposed in
 * channels, padded by (k - 1)·d - pad before. Undefined when that padding would be negative.
 */
export function transposedConvGeometry(g: ConvGeometry, outChannels: number): ConvGeometry | undefined {
  const padTop = (g.kernelHeight - 1) * g.dilationHeight - g.padTop;
  const padLeft = (g.kernelWidth - 1) * g.dilationWidth - g.padLeft;
  if (g.strideHeight !== 1 || g.strideWidth !== 1 || padTop < 0 || padLeft < 0) return undefined;
  return {
    ...g, inHeight: g.outHeight, inWidth: g.outWidth, inChannels: outChannels, outHeight: g.inHeight, outWidth: g.inWidth,
    padTop, padLeft,
    // the kernels read only the leading pads; these make the padded extent cover every tap
    padBottom: Math.max(0, g.inHeight - g.outHeight + g.padTop), padRight: Math.max(0, g.inWidth - g.outWidth + g.padLeft),
    rows: g.batch * g.inHeight * g.inWidth, patchSize: g.kernelHeight * g.kernelWidth * outChannels,
  };
}

/** W [kh, kw, cin, cout] -> W' [kh, kw, cout, cin] with W'[ky, kx, o, i] = W[kh-1-ky, kw-1-kx, i, o]. */
function flipTransposeFilter(w: Float32Array, g: ConvGeometry, outChannels: number): Float32Array {
  const [kh, kw, cin] = [g.kernelHeight, g.kernelWidth, g.inChannels];
  const flipped = new Float32Array(w.length);
  for (let ky = 0; ky < kh; ky++) {
    for (let kx = 0; kx < kw; kx++) {
      const src = ((kh - 1 - ky) * kw + (kw - 1 - kx)) * cin * outChannels;
      const dst = (ky * kw + kx) * cin * outChannels;
      for (let i = 0; i < cin; i++) {
        for (let o = 0; o < outChannels; o++) flipped[dst + o * cin + i] = w[src + i * outChannels + o];
      }
    }
  }
  return flipped;
}

/**
 * Whether dX runs as a convolution rather than col2im(dY · Wᵀ). Both do the same MACs; the
 * product of the convolution has depth kh·kw·cout and cin columns, col2im's has depth cout and
 * kh·kw·cin columns. Short depths cost the 4×8 micro-kernel its C loads and stores, and few
 * columns leave its 8-wide panels part empty. Measured at batch 32, 3×3 same (ms, one thread):
 * 32×32×16→16: 10.1 as a conv vs 11.4; 16×16×32→32: 9.1 vs 9.8; 32×32×16→8: 4.9 vs 7.4;
 * 8×8×64→64: 7.7 vs 7.4; 32×32×3→16: 6.2 vs 3.2. When that convolution qualifies for
 * Winograd it always wins (2-2.6x over either im2col form).
 */
function preferTransposedConv(g: ConvGeometry, outChannels: number): boolean {
  const transposed = transposedConvGeometry(g, outChannels);
  if (transposed && winogradApplies(transposed, g.inChannels)) return true;
  return !im2colIsIdentity(g) && outChannels > 0 && outChannels <= 32 && g.inChannels >= 8;
}

/** True when conv2dBackpropInputOp computes dX as a convolution of dY (else through col2im). */
export const backpropInputRunsAsConv = (g: ConvGeometry, outChannels: number): boolean =>
  preferTransposedConv(g, outChannels) && transposedConvGeometry(g, outChannels) !== undefined;

/**
 * Input gradient dX = col2im(dY · Wᵀ): dy NHWC [batch, outH, outW, outChannels], w HWIO,
 * result NHWC [batch, inH, inW, cin]. With stride 1 and few output channels it runs as the
 * forward convolution of dY with the flipped filter instead (see preferTransposedConv).
 */
export function conv2dBackpropInputOp(
  dy: Float32Array, w: Float32Array, g: ConvGeometry, outChannels: number, out?: Float32Array, chunking: ConvChunking = {},
): OperationBuilder<Float32Array> {
  const where = "conv2dBackpropInput";
  checkArrays(where, g, outChannels, [["dy", dy, g.rows * outChannels, "y"], ["w", w, g.patchSize * outChannels, "w"], ["out", out, inputSize(g), "x"]]);
  checkChunking(where, chunking);
  const target = out ?? new Float32Array(inputSize(g));
  const transposed = preferTransposedConv(g, outChannels) ? transposedConvGeometry(g, outChannels) : undefined;
  if (transposed && g.rows > 0) {
    return conv2dForwardOp(dy, flipTransposeFilter(w, g, outChannels), transposed, g.inChannels, {}, target, chunking);
  }
  // the product dY · Wᵀ: m = rows, k = outChannels, n = patchSize; W [patchSize, cout] is Bᵀ
  const [k, n] = [outChannels, g.patchSize];
  const pixels = g.outHeight * g.outWidth;
  const identity = im2colIsIdentity(g);
  return (core: KernelCore, parts: number) => {
    if (target.length === 0) return trivialOp(target, () => undefined);
    if (g.rows === 0 || k === 0) return trivialOp(target, (t) => t.fill(0));
    const staging = core.staging();
    const pdy = staging.input(dy);
    const pw = staging.input(w);
    const pout = staging.output(target);
    const packedB = staging.scratch(packedBBytes(k, n));
    const perThread = (split: ThreadImages): KernelCall[][] => [
      packBCalls(pw, k, k, n, 1, packedB, parts),
      // one call per thread over its own images (col2im writes each image of dX once)
      split.ranges.map(([n0, n1]): KernelCall => {
        const cols = staging.scratch(split.chunkRows * n * F32);
        const packedA = staging.scratch(packedABytes(split.chunkRows, k));
        return ["conv2d_input_grad_images_f32", [pdy, ...geometryArgs(g), packedB, k, pout, n0, n1, split.chunkImages, cols, packedA]];
      }),
    ];
    // dY's rows times Wᵀ are dX's rows: read in place, split by rows (no packing, no chunks)
    const inPlace = (): KernelCall[][] => [
      packBCalls(pw, k, k, n, 1, packedB, parts),
      rowsCalls(pdy, k, packedB, pout, n, g.rows, NO_STORE_EPILOGUE, parts),
    ];
    const chunked = (): KernelCall[][] => {
      const chunks = imageChunks(g, parts, chunking);
      const maxRows = (chunks[0][1] - chunks[0][0]) * pixels;
      const packedA = staging.scratch(packedABytes(maxRows, k));
      const cols = staging.scratch(maxRows * n * F32);
      const imageBytes = g.inHeight * g.inWidth * g.inChannels * F32;
      const phases: KernelCall[][] = [];
      chunks.forEach(([n0, n1], i) => {
        const rows = (n1 - n0) * pixels;
        const first = i === 0 ? packBCalls(pw, k, k, n, 1, packedB, parts) : [];
        phases.push([...first, ...packACalls(pdy + n0 * pixels * k * F32, k, rows, k, 0, packedA, parts)]);
        phases.push(multiplyCalls(packedA, packedB, cols, rows, n, k, false, parts));
        // col2im zero-fills its images before adding, so every image of dX is written once
        phases.push(splitCount(n1 - n0, parts).map(([i0, i1]) => ["col2im_f32_nhwc", [cols, ...geometryArgs(g), i0, i1, 0, pout + n0 * imageBytes]] as const));
      });
      return phases;
    };
    const split = perThreadImages(g, parts, chunking);
    const phases = identity ? inPlace() : split ? perThread(split) : chunked();
    // with strides larger than the kernel, some pixels are read by no tap: col2im leaves them 0
    return {
      phases,
      costNs: g.rows * k * n * NS_PER_MAC + (identity ? 0 : g.rows * n * NS_PER_COL2IM_ELEMENT),
      finish() {
        staging.copyBack(pout, target);
        return target;
      },
      release: () => staging.release(),
    };
  };
}

/**
 * Filter gradient dW = im2col(X)ᵀ · dY: x NHWC, dy NHWC [batch, outH, outW, outChannels],
 * result HWIO [kh, kw, cin, outChannels]. Chunks accumulate into dW.
 */
export function conv2dBackpropFilterOp(
  x: Float32Array, dy: Float32Array, g: ConvGeometry, outChannels: number, out?: Float32Array, chunking: ConvChunking = {},
): OperationBuilder<Float32Array> {
  const where = "conv2dBackpropFilter";
  checkArrays(where, g, outChannels, [["x", x, inputSize(g), "x"], ["dy", dy, g.rows * outChannels, "y"], ["out", out, g.patchSize * outChannels, "w"]]);
  checkChunking(where, chunking);
  const target = out ?? new Float32Array(g.patchSize * outChannels);
  // the product colsᵀ · dY: m = patchSize, n = outChannels, k = rows of the chunk
  const [m, n] = [g.patchSize, outChannels];
  const pixels = g.outHeight * g.outWidth;
  const identity = im2colIsIdentity(g);
  const winograd = winogradApplies(g, n);
  return (core: KernelCore, parts: number) => {
    if (target.length === 0) return trivialOp(target, () => undefined);
    if (g.rows === 0) return trivialOp(target, (t) => t.fill(0));
    const staging = core.staging();
    const px = staging.input(x);
    const pdy = staging.input(dy);
    const pout = staging.output(target);
    const perThread = (split: ThreadImages): KernelCall[][] => {
      // one call per thread over its own images into its own share of dW, then the shares added
      const shares = split.ranges.map(([n0, n1], r) => ({ n0, n1, dw: r === 0 ? pout : staging.scratch(m * n * F32) }));
      const products = shares.map(({ n0, n1, dw }): KernelCall => {
        const cols = identity ? 0 : staging.scratch(split.chunkRows * m * F32);
        const packedA = staging.scratch(packedABytes(m, split.chunkRows));
        const packedB = staging.scratch(packedBBytes(split.chunkRows, n));
        return ["conv2d_filter_grad_images_f32", [px, ...geometryArgs(g), pdy, n, dw, 0, identity ? 1 : 0, n0, n1, split.chunkImages, cols, packedA, packedB]];
      });
      const sums = shares.slice(1).map(({ dw }): KernelCall[] => [["ew_binary_f32", [BINARY_CODES.add, pout, dw, pout, 0, m * n]]]);
      return [products, ...sums];
    };
    const chunked = (): KernelCall[][] => {
      const chunks = imageChunks(g, parts, chunking);
      const maxRows = (chunks[0][1] - chunks[0][0]) * pixels;
      const packedA = staging.scratch(packedABytes(m, maxRows));
      const packedB = staging.scratch(packedBBytes(maxRows, n));
      const cols = identity ? 0 : staging.scratch(maxRows * m * F32);
      const imageBytes = g.inHeight * g.inWidth * g.inChannels * F32;
      const phases: KernelCall[][] = [];
      chunks.forEach(([n0, n1], i) => {
        const rows = (n1 - n0) * pixels;
        let a = px + n0 * pixels * m * F32;
        if (!identity) {
          phases.push(im2colCalls(g, px + n0 * imageBytes, rows, cols, parts));
          a = cols;
        }
        phases.push([
          ...packACalls(a, m, m, rows, 1, packedA, parts),
          ...packBCalls(pdy + n0 * pixels * n * F32, n, rows, n, 0, packedB, parts),
        ]);
        phases.push(multiplyCalls(packedA, packedB, pout, m, n, rows, i > 0, parts));
      });
      return phases;
    };
    const split = perThreadImages(g, parts, chunking);
    const phases = winograd ? winogradFilterGradPhases(g, n, px, pdy, pout, staging, parts) : split ? perThread(split) : chunked();
    return {
      phases,
      costNs: winograd ? winogradCostNs(g, n) : g.rows * m * n * NS_PER_MAC + (identity ? 0 : g.rows * m * F32 * NS_PER_COL_BYTE),
      finish() {
        staging.copyBack(pout, target);
        return target;
      },
      release: () => staging.release(),
    };
  };
}

/** Forward convolution on this thread. */
export const conv2dForward = (x: Float32Array, w: Float32Array, g: ConvGeometry, outChannels: number, epilogue: Epilogue = {}, out?: Float32Array): Float32Array =>
  runInline(kernels(), conv2dForwardOp(x, w, g, outChannels, epilogue, out));

/** Input gradient of a convolution on this thread. */
export const conv2dBackpropInput = (dy: Float32Array, w: Float32Array, g: ConvGeometry, outChannels: number, out?: Float32Array): Float32Array =>
  runInline(kernels(), conv2dBackpropInputOp(dy, w, g, outChannels, out));

/** Filter gradient of a convolution on this thread. */
export const conv2dBackpropFilter = (x: Float32Array, dy: Float32Array, g: ConvGeometry, outChannels: number, out?: Float32Array): Float32Array =>
  runInline(kernels(), conv2dBackpropFilterOp(x, dy, g, outChannels, out));
