// Winograd F(4×4, 3×3) for the 3×3 stride-1 convolutions that dominate ResNet-style training
// (assembly/winograd.ts has the transforms): the forward pass and the filter gradient do 36
// multiplies per 4×4 tile where im2col + GEMM does 144, and skip im2col and A-packing. The input
// gradient of a stride-1 conv is itself such a convolution (of dY with the flipped filter), so
// conv2d.ts sends it here too. Channels are vectorised 4 at a time: both counts must be
// multiples of 4. Each thread takes its own images and works through them in cache-sized
// chunks of tiles, as the im2col path does.
import type { ConvGeometry } from "./conv-geometry.js";
import type { Staging } from "./core.js";
import { BINARY_CODES } from "./elementwise.js";
import { packedBBytes } from "./gemm.js";
import { splitCount } from "../util/ranges.js";
import type { KernelCall } from "./operation.js";

const F32 = 4;
const TILE_ROWS = 4;
/** The 6×6 transform domain: 36 matrices (GEMMs, transformed filters) per chunk; each tile covers 4×4 outputs. */
export const WINOGRAD_MATRICES = 36;
const XI = WINOGRAD_MATRICES;
const TILE = 4;
/**
 * Bytes of transformed tiles per chunk (input side + output side, all 36 ξ): small enough to
 * stay in a core's L2 between the transform writing them and the GEMMs reading them.
 */
const CHUNK_BYTES = 256 * 1024;
// Single-thread costs for the pool's split decision, measured at batch 32 on ResNet-20's three
// widths: the 36 short GEMMs run at ~7-8 GMAC/s, and the two transforms take 0.5-0.9 ns per
// transformed value (input and output side) depending on the VM's moment.
const NS_PER_MAC = 0.12;
const NS_PER_TRANSFORMED_VALUE = 0.5;

/**
 * On unless POCKETFLOW_WINOGRAD=0: the switch exists to compare with (or reproduce) im2col's
 * results, which differ from Winograd's in the last bits.
 */
let enabled = typeof process === "undefined" || process.env?.POCKETFLOW_WINOGRAD !== "0";

/** Turns the Winograd path on or off for convolutions built after the call; returns the previous setting. */
export function setWinogradEnabled(on: boolean): boolean {
  const previous = enabled;
  enabled = on;
  return previous;
}

/**
 * True when a convolution of this geometry runs as Winograd F(4×4, 3×3). Even 4 input channels
 * (GEMMs of depth 4) beat im2col: batch 32, 28x28, 4 -> 16 channels, forward 1.4x, filter
 * gradient 2.0x; 4 -> 4 channels 1.4x and 3.7x.
 */
export function winogradApplies(g: ConvGeometry, outChannels: number): boolean {
  return enabled && g.kernelHeight === 3 && g.kernelWidth === 3 && g.strideHeight === 1 && g.strideWidth === 1 &&
    g.dilationHeight === 1 && g.dilationWidth === 1 &&
    g.inChannels > 0 && g.inChannels % 4 === 0 && outChannels > 0 && outChannels % 4 === 0 &&
    g.outHeight > 0 && g.outWidth > 0 && g.batch > 0;
}

const tilesPerImage = (g: ConvGeometry): number => Math.ceil(g.outHeight / TILE) * Math.ceil(g.outWidth / TILE);

/**
 * Tiles per chunk of the filter gradient: the depth of its 36 GEMMs, each of which reads and
 * writes its C × N share of the sums once per chunk. Measured at batch 32 (28x28x16, 14x14x32,
 * 7x7x64): 56 tiles is best or within 1% for all three; the forward pass's cache budget gave
 * 7x7x64 only 12 (13% slower).
 */
const FILTER_GRAD_CHUNK_TILES = 56;

/** Tiles per chunk: a multiple of 4 within CHUNK_BYTES (or `fixed`), and no more than a thread has. */
function chunkTiles(g: ConvGeometry, outChannels: number, maxImages: number, fixed?: number): number {
  const budget = fixed ?? Math.floor(CHUNK_BYTES / (XI * F32 * (g.inChannels + outChannels)));
  const fit = Math.max(TILE_ROWS, budget - (budget % TILE_ROWS));
  return Math.min(fit, Math.ceil((maxImages * tilesPerImage(g)) / TILE_ROWS) * TILE_ROWS);
}

/** Bytes of the 36 transformed matrices of one chunk, `width` channels wide (see winogradMatrixBytes). */
const transformedBytes = (chunk: number, width: number): number => XI * (chunk * width + 16) * F32;

/** The geometry arguments the Winograd kernels take after their input pointer. */
const geometryArgs = (g: ConvGeometry): number[] => [g.inHeight, g.inWidth, g.inChannels, g.padTop, g.padLeft, g.outHeight, g.outWidth];

/** Estimated single-thread time: the GEMMs' MACs (a quarter of direct convolution's) plus the transforms. */
export function winogradCostNs(g: ConvGeometry, outChannels: number): number {
  const tiles = g.batch * tilesPerImage(g);
  return tiles * XI * (g.inChannels * outChannels * NS_PER_MAC + (g.inChannels + outChannels) * NS_PER_TRANSFORMED_VALUE);
}

/**
 * What the forward kernels apply as they store Y: Y = clip(Y + bias, lo, hi), bias a pointer to
 * one value per output channel (0: none), [lo, hi] = [-inf, inf] for no clip.
 */
export type StoreEpilogueArgs = readonly [bias: number, lo: number, hi: number];

export const NO_STORE_EPILOGUE: StoreEpilogueArgs = [0, -Infinity, Infinity];

/**
 * Phases of Y = conv(X, W) by Winograd, through the store epilogue: the filter transformed and
 * packed once, then one call per thread over its images.
 */
export function winogradForwardPhases(
  g: ConvGeometry, outChannels: number, px: number, pw: number, pout: number, epilogue: StoreEpilogueArgs, staging: Staging, parts: number,
  transformedFilter?: number,
): KernelCall[][] {
  const [C, N] = [g.inChannels, outChannels];
  const packedU = transformedFilter ?? staging.scratch(XI * packedBBytes(C, N));
  const ranges = splitCount(g.batch, parts);
  const chunk = chunkTiles(g, N, ranges[0][1] - ranges[0][0]);
  return [
    transformedFilter !== undefined ? [] : [["winograd_filter_f32", [pw, C, N, packedU]]],
    ranges.map(([n0, n1]): KernelCall => {
      const v = staging.scratch(transformedBytes(chunk, C));
      const m = staging.scratch(transformedBytes(chunk, N));
      return ["conv2d_winograd_forward_images_f32", [px, ...geometryArgs(g), packedU, N, pout, 0, ...epilogue, n0, n1, chunk, v, m]];
    }),
  ];
}

/**
 * Phases of dW = conv2d filter gradient by Winograd: each thread sums its images' products in the
 * transform domain into its own share, the shares are added, and one transform gives dW.
 */
export function winogradFilterGradPhases(
  g: ConvGeometry, outChannels: number, px: number, pdy: number, pout: number, staging: Staging, parts: number,
): KernelCall[][] {
  const [C, N] = [g.inChannels, outChannels];
  const ranges = splitCount(g.batch, parts);
  const chunk = chunkTiles(g, N, ranges[0][1] - ranges[0][0], FILTER_GRAD_CHUNK_TILES);
  const shares = ranges.map(() => staging.scratch(XI * C * N * F32));
  const products = ranges.map(([n0, n1], r): KernelCall => {
    const v = staging.scratch(transformedBytes(chunk, C));
    const z = staging.scratch(transformedBytes(chunk, N));
    return ["conv2d_winograd_filter_grad_images_f32", [px, ...geometryArgs(g), pdy, N, shares[r], 0, n0, n1, chunk, v, z]];
  });
  const sums = shares.slice(1).map((share): KernelCall[] => [["ew_binary_f32", [BINARY_CODES.add, shares[0], share, shares[0], 0, XI * C * N]]]);
  return [products, ...sums, [["winograd_filter_grad_f32", [shares[0], C, N, pout]]]];
}
