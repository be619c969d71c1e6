// Storage for the outputs of our kernels. Outputs live in the kernels' shared memory, so
// the next kernel reads them where they are and writes its own output in place: no copy into
// the kernels' memory and none back out, which for element-wise and batch-norm kernels cost
// more than their arithmetic. Such an array belongs to the tensors made on it (counted); when
// the last one is disposed its memory is freed for the next output. Code other than our kernels
// never holds one: before a cpu kernel or a read sees a tensor's values, the backend moves them
// to an ordinary array (backend.ts, escapedValues), the one copy every output used to pay.
// Only the tiniest outputs (scalars, a few values) are ordinary arrays: for small outputs a
// fresh JS array (zeroed, then filled by a copy out of shared memory) cost 2-3x the kernel.
// Tensors made elsewhere (weights, inputs) move here on their first read by one of our
// kernels (adopt, called by float32Values).
// A resident array may also carry arrays derived from its values (a packed filter, a batch
// norm's per-channel factors): tfjs never changes a tensor's values, so they are computed once
// and freed with it.
import { kernels, type KernelCore } from "../kernels/core.js";

/**
 * Outputs of at least this many elements live in the kernels' memory. MobileNet-v2 0.5's
 * inference at batch 32, whose late layers make 15-60 KiB outputs: 1.04x against 16384
 * (the two alternating in one process).
 */
export const MIN_RESIDENT_LENGTH = 16;

/** An array computed from a resident array's values, and what else it was computed from. */
interface Derived {
  from: string;
  values: Float32Array;
}

export class OutputArrays {
  /** Each resident output array and the number of tensors whose values it is. */
  private readonly owners = new Map<Float32Array, number>();
  /** How deep inside our kernels the backend is (a kernel may run others). */
  private depth = 0;
  /** Resident arrays taken since the outermost kernel began. */
  private readonly taken: Float32Array[] = [];
  /** Arrays derived from a resident array, by kind (one of each kind per array). */
  private readonly derivedArrays = new Map<Float32Array, Map<string, Derived>>();
  /** Identities of resident arrays, for naming what a derived array was computed from. */
  private readonly ids = new WeakMap<Float32Array, number>();
  private nextId = 1;

  constructor(private readonly core: KernelCore = kernels()) {}

  /** A Float32Array of `length` for a kernel to write every element of; old values remain. */
  take(length: number): Float32Array {
    if (length < MIN_RESIDENT_LENGTH) return new Float32Array(length);
    const out = this.allocate(length);
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
    const copy = this.allocate(values.length);
    copy.set(values);
    this.owners.set(copy, 1);
    return copy;
  }

  /**
   * An array of `length` computed by `compute` from the values of resident `owner` (and of
   * whatever `from` names: see idOf), kept in the kernels' memory until `owner` is freed.
   * The next call with the same owner, kind and `from` returns it without computing; another
   * `from` replaces it, so an owner holds one array of each kind.
   */
  derived(owner: Float32Array, kind: string, from: string, length: number, compute: (out: Float32Array) => void): Float32Array {
    if (!this.isResident(owner)) throw new Error(`derived ${kind}: its owner must be a resident array`);
    let byKind = this.derivedArrays.get(owner);
    const cached = byKind?.get(kind);
    if (cached !== undefined && cached.from === from && cached.values.length === length) return cached.values;
    if (cached !== undefined) this.core.free(cached.values);
    const values = this.allocate(length);
    try {
      compute(values);
    } catch (error) {
      byKind?.delete(kind);
      this.core.free(values);
      throw error;
    }
    if (byKind === undefined) this.derivedArrays.set(owner, (byKind = new Map()));
    byKind.set(kind, { from, values });
    return values;
  }

  /** A number naming resident `values` while they live (the same array object, the same values). */
  idOf(values: Float32Array): number {
    let id = this.ids.get(values);
    if (id === undefined) this.ids.set(values, (id = this.nextId++));
    return id;
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
      this.free(array);
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
    this.free(values);
  }

  /** `length` floats of the kernels' memory, uninitialised. */
  private allocate(length: number): Float32Array {
    return this.core.view(Float32Array, this.core.malloc(length * Float32Array.BYTES_PER_ELEMENT), length);
  }

  /** Frees a resident array and the arrays derived from it. */
  private free(values: Float32Array): void {
    this.owners.delete(values);
    this.core.free(values);
    const byKind = this.derivedArrays.get(values);
    if (byKind === undefined) return;
    for (const derived of byKind.values()) this.core.free(derived.values);
    this.derivedArrays.delete(values);
  }

  /** Bytes of output arrays (and the arrays derived from them) now in the kernels' memory. */
  get bytesResident(): number {
    let bytes = 0;
    for (const array of this.owners.keys()) bytes += array.byteLength;
    for (const byKind of this.derivedArrays.values()) for (const derived of byKind.values()) bytes += derived.values.byteLength;
    return bytes;
  }
}
