// Compact storage of a masked weight: one bit per weight saying whether it is kept, then the
// kept values in order. Magnitude pruning (WeightSparseLearner) keeps a weight's dense shape, so
// a model saved dense is no smaller (PocketFlow's users saw exactly that: issues #217, #261,
// #276); stored this way, a weight at sparsity s takes n/8 + 4·(1 − s)·n bytes instead of 4·n,
// less than dense once more than 1/32 of it is pruned. The bitmask beats CSR's 4-byte column
// indices at every sparsity below 31/32. This is a storage format: inference still runs the dense
// kernels on the decoded weights, so a sparse model is smaller but not faster.
import type { WeightMask } from "./compressed-model.js";

/** A weight stored sparse: which entries are kept (bit i of byte i >> 3, lowest bit first) and their values. */
export interface SparseWeight {
  shape: number[];
  bitmask: Uint8Array;
  /** The kept entries, in index order. */
  values: Float32Array;
}

const elementCount = (shape: readonly number[]): number => shape.reduce((product, dim) => product * dim, 1);

/** Bytes of a weight of `length` entries stored sparse with `kept` of them kept: the bitmask plus 4 bytes per kept value. */
export function sparseStoredBytes(length: number, kept: number): number {
  if (!(Number.isInteger(length) && length >= 0)) throw new RangeError(`sparseStoredBytes: length must be an integer >= 0, but got ${length}`);
  if (!(Number.isInteger(kept) && kept >= 0 && kept <= length)) throw new RangeError(`sparseStoredBytes: kept must be an integer in 0..${length} (the length), but got ${kept}`);
  return Math.ceil(length / 8) + 4 * kept;
}

/** Bytes a SparseWeight takes: bitmask and kept values. */
export const sparseWeightBytes = (sparse: SparseWeight): number => sparse.bitmask.byteLength + sparse.values.byteLength;

/** The weight's kept entries (mask 1) packed with the mask as bits; pruned entries are dropped whatever their value. */
export function encodeSparse(values: Float32Array, mask: WeightMask): SparseWeight {
  if (mask.kept.length !== values.length || elementCount(mask.shape) !== values.length) {
    throw new RangeError(`encodeSparse: the mask has ${mask.kept.length} entries of shape [${mask.shape.join(",")}], but the weight has ${values.length}; pass the mask of this weight`);
  }
  const bitmask = new Uint8Array(Math.ceil(values.length / 8));
  let kept = 0;
  for (let i = 0; i < values.length; i++) {
    if (mask.kept[i] !== 0) {
      bitmask[i >> 3] |= 1 << (i & 7);
      kept++;
    }
  }
  const packed = new Float32Array(kept);
  for (let i = 0, next = 0; i < values.length; i++) if (mask.kept[i] !== 0) packed[next++] = values[i];
  return { shape: [...mask.shape], bitmask, values: packed };
}

/** Number of set bits among the first `length` bits of the bitmask. */
function countBits(bitmask: Uint8Array, length: number): number {
  let count = 0;
  for (let i = 0; i < length; i++) count += (bitmask[i >> 3] >> (i & 7)) & 1;
  return count;
}

/** The dense weight (pruned entries 0) and its mask, from a SparseWeight; a bitmask that disagrees with the values is an error. */
export function decodeSparse(sparse: SparseWeight): { values: Float32Array; mask: WeightMask } {
  const length = elementCount(sparse.shape);
  if (sparse.bitmask.length !== Math.ceil(length / 8)) {
    throw new RangeError(`decodeSparse: a weight of shape [${sparse.shape.join(",")}] needs a bitmask of ${Math.ceil(length / 8)} bytes, but it has ${sparse.bitmask.length}; the sparse weight is corrupt`);
  }
  const kept = countBits(sparse.bitmask, length);
  if (kept !== sparse.values.length) {
    throw new RangeError(`decodeSparse: the bitmask keeps ${kept} entries, but ${sparse.values.length} values are stored; the sparse weight is corrupt`);
  }
  const values = new Float32Array(length);
  const mask = new Uint8Array(length);
  for (let i = 0, next = 0; i < length; i++) {
    if ((sparse.bitmask[i >> 3] >> (i & 7)) & 1) {
      mask[i] = 1;
      values[i] = sparse.values[next++];
    }
  }
  return { values, mask: { shape: [...sparse.shape], kept: mask } };
}
