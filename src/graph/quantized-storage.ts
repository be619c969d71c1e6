// Packed storage of a quantized weight: what makes a k-bit model k/32 of its float size for real
// (PocketFlow's UQ/NUQ checkpoints stayed float32, so they were no smaller). A weight quantized
// by the uniform or the codebook scheme is stored as its k-bit codes packed into bytes (code i in
// bits i·k .. i·k + k − 1 of the stream, lowest bit first) plus the scheme's parameters:
//   uniform:  one f32 scale per group, and one byte of zero point per group when asymmetric;
//             the code is q − qmin, so both the signed and the unsigned grids fit in k bits;
//   codebook: groups × 2^k f32 centroids; the code is the centroid's index.
// A pruned weight (a mask) can be stored with the sparse layout of sparse-storage.ts on top: the
// one-bit-per-weight mask, then only the kept weights' codes. Bytes:
//   dense  ceil(n·k / 8) + params          sparse  ceil(n / 8) + ceil(kept·k / 8) + params
// Decoding gives back the graph's values bit for bit (the same f32 arithmetic as the kernels that
// put them on the grid); encoding a value that is not on the grid is an error.
import { groupOf } from "../kernels/grouping.js";
import { dequantize, quantize } from "../kernels/quantize.js";
import type { QuantParams } from "../kernels/quant-params.js";
import { quantRange } from "../kernels/quant-params.js";
import type { CodebookWeightQuantization, UniformWeightQuantization, WeightMask, WeightQuantization } from "./compressed-model.js";

/** A quantized weight as stored: its codes packed at `quantization.bits` bits each, and the mask's bits when sparse. */
export interface PackedWeight {
  shape: number[];
  quantization: WeightQuantization;
  /** Codes of the stored weights (all, or the kept ones when `bitmask` is present), packed. */
  codes: Uint8Array;
  /** Bit i of byte i >> 3 (lowest first) is 1 where weight i is kept; absent: every weight is stored. */
  bitmask?: Uint8Array;
}

const elementCount = (shape: readonly number[]): number => shape.reduce((product, dim) => product * dim, 1);

/** Bytes of the scheme's parameters: scales and zero points, or the codebook. */
export function quantizationParamBytes(quantization: WeightQuantization): number {
  const groups = quantization.grouping.groups;
  if (quantization.scheme === "codebook") return 4 * groups * 2 ** quantization.bits;
  return groups * (quantization.symmetric ? 4 : 5);
}

/** Bytes of an n-weight tensor stored packed at `bits` bits, `kept` of them stored when sparse (kept < n), plus `paramBytes`. */
export function packedStoredBytes(length: number, bits: number, paramBytes: number, kept = length): number {
  if (!(Number.isInteger(length) && length >= 0)) throw new RangeError(`packedStoredBytes: length must be an integer >= 0, but got ${length}`);
  if (!(Number.isInteger(bits) && bits >= 1 && bits <= 8)) throw new RangeError(`packedStoredBytes: bits must be an integer in 1..8, but got ${bits}`);
  if (!(Number.isInteger(kept) && kept >= 0 && kept <= length)) throw new RangeError(`packedStoredBytes: kept must be an integer in 0..${length} (the length), but got ${kept}`);
  const codes = Math.ceil((kept * bits) / 8);
  return (kept < length ? Math.ceil(length / 8) : 0) + codes + paramBytes;
}

/** Bytes a PackedWeight takes: mask bits, codes and the scheme's parameters. */
export const packedWeightBytes = (packed: PackedWeight): number =>
  (packed.bitmask?.byteLength ?? 0) + packed.codes.byteLength + quantizationParamBytes(packed.quantization);

/** Codes of `bits` bits each (values below 2^bits) packed lowest bit first. */
export function packBits(codes: ArrayLike<number>, bits: number): Uint8Array {
  const out = new Uint8Array(Math.ceil((codes.length * bits) / 8));
  for (let i = 0, bit = 0; i < codes.length; i++, bit += bits) {
    const code = codes[i];
    for (let b = 0; b < bits; b++) if ((code >> b) & 1) out[(bit + b) >> 3] |= 1 << ((bit + b) & 7);
  }
  return out;
}

/** `count` codes of `bits` bits each from a packed stream. */
export function unpackBits(packed: Uint8Array, bits: number, count: number): Uint8Array {
  const out = new Uint8Array(count);
  for (let i = 0, bit = 0; i < count; i++, bit += bits) {
    let code = 0;
    for (let b = 0; b < bits; b++) code |= ((packed[(bit + b) >> 3] >> ((bit + b) & 7)) & 1) << b;
    out[i] = code;
  }
  return out;
}

/** The core's QuantParams of a stored uniform quantization. */
export function quantParamsOf(quantization: UniformWeightQuantization): QuantParams {
  const { qmin, qmax } = quantRange(quantization.bits, quantization.symmetric);
  return { bits: quantization.bits, symmetric: quantization.symmetric, qmin, qmax, scales: quantization.scales, zeroPoints: quantization.zeroPoints, grouping: quantization.grouping };
}

/** Codes (q − qmin) of every weight on the uniform grid; a value off the grid is an error. */
function uniformCodes(where: string, values: Float32Array, quantization: UniformWeightQuantization): Uint8Array {
  const params = quantParamsOf(quantization);
  const q = quantize(values, params);
  const back = dequantize(q, params);
  const off = back.findIndex((value, i) => !Object.is(value, values[i]) && !(value === 0 && values[i] === 0));
  if (off >= 0) throw new RangeError(`${where}: weight ${off} (${values[off]}) is not on its ${quantization.bits}-bit uniform grid (nearest ${back[off]}); quantize the weight with these parameters first`);
  return Uint8Array.from(q, (code) => code - params.qmin);
}

/** Index of each weight's centroid in its group's codebook (the first of equal ones); a value in no codebook is an error. */
function codebookCodes(where: string, values: Float32Array, quantization: CodebookWeightQuantization): Uint8Array {
  const k = 2 ** quantization.bits;
  const lookups = Array.from({ length: quantization.grouping.groups }, (_, g) => {
    const lookup = new Map<number, number>();
    for (let j = k - 1; j >= 0; j--) lookup.set(quantization.centroids[g * k + j], j);
    return lookup;
  });
  return Uint8Array.from(values, (value, i) => {
    const code = lookups[groupOf(i, quantization.grouping)].get(value === 0 ? 0 : value);
    if (code === undefined) throw new RangeError(`${where}: weight ${i} (${value}) is not in its group's codebook; quantize the weight with this codebook first`);
    return code;
  });
}

/** Packs a weight whose values lie on its quantization's grid; with a mask, only the kept weights' codes (pruned ones must be 0). */
export function encodeQuantized(values: Float32Array, shape: readonly number[], quantization: WeightQuantization, mask?: WeightMask): PackedWeight {
  const where = "encodeQuantized";
  if (elementCount(shape) !== values.length) throw new RangeError(`${where}: shape [${shape.join(",")}] holds ${elementCount(shape)} values, but the weight has ${values.length}; pass the weight's own shape`);
  if (mask !== undefined && mask.kept.length !== values.length) throw new RangeError(`${where}: the mask has ${mask.kept.length} entries, but the weight has ${values.length}; pass the mask of this weight`);
  const codes = quantization.scheme === "uniform" ? uniformCodes(where, values, quantization) : codebookCodes(where, values, quantization);
  if (mask === undefined) return { shape: [...shape], quantization, codes: packBits(codes, quantization.bits) };
  const bitmask = new Uint8Array(Math.ceil(values.length / 8));
  const kept: number[] = [];
  for (let i = 0; i < values.length; i++) {
    if (mask.kept[i] !== 0) {
      bitmask[i >> 3] |= 1 << (i & 7);
      kept.push(codes[i]);
    } else if (values[i] !== 0) {
      throw new RangeError(`${where}: weight ${i} is pruned by the mask but holds ${values[i]}, not 0; apply the mask first`);
    }
  }
  return { shape: [...shape], quantization, codes: packBits(kept, quantization.bits), bitmask };
}

/** Dense codes of every weight: the stored ones in place, pruned ones at the code of 0. */
function denseCodes(packed: PackedWeight, length: number, zeroCode: (i: number) => number): Uint8Array {
  const { bits } = packed.quantization;
  if (packed.bitmask === undefined) {
    if (packed.codes.length !== Math.ceil((length * bits) / 8)) throw new RangeError(`decodeQuantized: ${length} ${bits}-bit codes need ${Math.ceil((length * bits) / 8)} bytes, but ${packed.codes.length} are stored; the packed weight is corrupt`);
    return unpackBits(packed.codes, bits, length);
  }
  if (packed.bitmask.length !== Math.ceil(length / 8)) throw new RangeError(`decodeQuantized: a weight of ${length} values needs a bitmask of ${Math.ceil(length / 8)} bytes, but it has ${packed.bitmask.length}; the packed weight is corrupt`);
  let kept = 0;
  for (let i = 0; i < length; i++) kept += (packed.bitmask[i >> 3] >> (i & 7)) & 1;
  if (packed.codes.length !== Math.ceil((kept * bits) / 8)) throw new RangeError(`decodeQuantized: the bitmask keeps ${kept} weights, whose codes need ${Math.ceil((kept * bits) / 8)} bytes, but ${packed.codes.length} are stored; the packed weight is corrupt`);
  const stored = unpackBits(packed.codes, bits, kept);
  const codes = new Uint8Array(length);
  for (let i = 0, next = 0; i < length; i++) codes[i] = (packed.bitmask[i >> 3] >> (i & 7)) & 1 ? stored[next++] : zeroCode(i);
  return codes;
}

/** The weight's values (and its mask, when stored sparse), exactly as they were encoded. */
export function decodeQuantized(packed: PackedWeight): { values: Float32Array; mask?: WeightMask } {
  const length = elementCount(packed.shape);
  const { quantization } = packed;
  let values: Float32Array;
  if (quantization.scheme === "uniform") {
    const params = quantParamsOf(quantization);
    // the code of 0 is the group's zero point (0 is on every grid: quant-params.ts widens the range to hold it)
    const codes = denseCodes(packed, length, (i) => quantization.zeroPoints[groupOf(i, quantization.grouping)] - params.qmin);
    const q = params.symmetric ? Int8Array.from(codes, (code) => code + params.qmin) : codes;
    values = dequantize(q, params);
  } else {
    const k = 2 ** quantization.bits;
    const codes = denseCodes(packed, length, () => 0);
    values = Float32Array.from(codes, (code, i) => quantization.centroids[groupOf(i, quantization.grouping) * k + code]);
  }
  if (packed.bitmask === undefined) return { values };
  const kept = Uint8Array.from({ length }, (_, i) => ((packed.bitmask as Uint8Array)[i >> 3] >> (i & 7)) & 1);
  for (let i = 0; i < length; i++) if (kept[i] === 0) values[i] = 0;
  return { values, mask: { shape: [...packed.shape], kept } };
}

/**
 * Bytes saved against float32 by storing a weight of `length` values packed: quantized (when
 * `quantization` is given), sparse (when `kept` < length), or both, whichever layout is smaller.
 */
export function packedSaving(length: number, quantization: WeightQuantization | undefined, kept = length): number {
  const sparseFloat = kept < length ? Math.ceil(length / 8) + 4 * kept : 4 * length;
  if (quantization === undefined) return 4 * length - Math.min(4 * length, sparseFloat);
  const params = quantizationParamBytes(quantization);
  const dense = packedStoredBytes(length, quantization.bits, params);
  const sparse = packedStoredBytes(length, quantization.bits, params, kept);
  return 4 * length - Math.min(dense, sparse);
}
