// Storage for the outputs of our kernels. Large outputs live in the kernels' shared memory, so
// the next kernel reads them where they are and writes its own output in place: no copy into
// the kernels' memory and none back out, which for element-wise and batch-norm kernels cost
// more than their arithmetic. Such an array belongs to the tensors made on it (counted); when
// the last one is disposed its memory is freed for the next output. Code other than our kernels
// never holds one: before a cpu kernel or a read sees a tensor's values, the backend moves them
// to an ordinary array (backend.ts, escapedValues), the one copy every output used to pay.
// Small outputs are ordinary arrays: copying them costs less than managing them.
import { kernels, type KernelCore } from "../kernels/core.js";

/** Outputs of at least this many elements (64 KiB) live in the kernels' memory. */
export const MIN_RESIDENT_LENGTH = 16384;

export class OutputArrays {
  /** Each resident output array and the number of tensors whose values it is. */
  private readonly owners = new Map<Float32Array, number>();
  /** How deep inside our kernels the backend is (a kernel may run others). */
  private depth = 0;
  /** Resident arrays taken since the outermost kernel began. */
  private readonly taken: Float32Array[] = [];

  constructor(private readonly core: KernelCore = kernels()) {}

  /** A Float32Array of `length` for a kernel to write every element of; old values remain. */
  take(length: number): Float32Array {
    if (length < MIN_RESIDENT_LENGTH) return new Float32Array(length);
    const out = this.core.view(Float32Array, this.core.malloc(length * Float32Array.BYTES_PER_ELEMENT), length);
    this.owners.set(out, 0);
    if (this.depth > 0) this.taken.push(out);
    return out;
  }

  /**
   * A copy of `values` in the kernels' memory, counted as the values of one tensor: a tensor
   * our kernels read (a weight, an input made outside them) moves here once, instead of being
   * copied in by every kernel that reads it (see float32Values).
   */
  adopt(values: Float32Array): Float32Array {
    const copy = this.core.view(Float32Array, this.core.malloc(values.byteLength), values.length);
    copy.set(values);
    this.owners.set(copy, 1);
    return copy;
  }

  /** One of our kernels begins. */
  enter(): void {
    this.depth++;
  }

  /**
   * One of our kernels has returned or thrown. When it was the outermost, every array taken
   * since that no tensor was made on (a kernel that failed midway) is freed.
   */
  exit(): void {
    if (--this.depth > 0) return;
    for (const array of this.taken) {
      if (this.owners.get(array) !== 0) continue;
      this.owners.delete(array);
      this.core.free(array);
    }
    this.taken.length = 0;
  }

  /** Whether `values` is an output array in the kernels' memory. */
  isResident(values: unknown): values is Float32Array {
    return values instanceof Float32Array && this.owners.has(values);
  }

  /** `values` became the values of one more tensor. */
  claim(values: unknown): void {
    if (!this.isResident(values)) return;
    this.owners.set(values, (this.owners.get(values) ?? 0) + 1);
  }

  /** One tensor on `values` is gone (disposed, or moved to an ordinary array): free it after the last. */
  release(values: unknown): void {
    if (!this.isResident(values)) return;
    const count = (this.owners.get(values) ?? 0) - 1;
    if (count > 0) {
      this.owners.set(values, count);
      return;
    }
    this.owners.delete(values);
    this.core.free(values);
  }

  /** Bytes of output arrays now in the kernels' memory. */
  get bytesResident(): number {
    let bytes = 0;
    for (const array of this.owners.keys()) bytes += array.byteLength;
    return bytes;
  }
}
