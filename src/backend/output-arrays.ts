// Storage for the outputs of our kernels, reused once their tensors are disposed. A new
// Float32Array of a few MiB costs ~4x its copy here: its pages are zeroed and faulted in on
// first touch, and each large output of a training step (conv, batch norm, relu, add and their
// gradients) is fresh memory, so that cost came with every output. An array is reused only
// when nothing else can hold it: it was made here for a kernel output, became the values of
// exactly one tensor, and nothing ever read it but our kernels (no dataSync/data, no cpu
// kernel, which may keep a view of it). Everything else is left to the garbage collector.

/** Arrays under this many elements are cheap to make: not pooled. */
const MIN_POOLED_LENGTH = 16384;
/** At most this many bytes wait in the pool; beyond it, disposed arrays go to the collector. */
const MAX_POOLED_BYTES = 512 * 2 ** 20;

export class OutputArrays {
  /** Made by take() and not yet the values of a tensor. */
  private readonly unclaimed = new WeakSet<Float32Array>();
  /** The values of exactly one tensor, seen only by our kernels so far. */
  private readonly claimed = new WeakSet<Float32Array>();
  private readonly free = new Map<number, Float32Array[]>();
  private pooledBytes = 0;

  /** A Float32Array of `length` for a kernel to write every element of; old values remain. */
  take(length: number): Float32Array {
    const array = length >= MIN_POOLED_LENGTH ? this.free.get(length)?.pop() : undefined;
    if (array) this.pooledBytes -= array.byteLength;
    const out = array ?? new Float32Array(length);
    this.unclaimed.add(out);
    return out;
  }

  /** `values` became a tensor's storage: a second tensor on the same array makes it shared. */
  claim(values: unknown): void {
    if (!(values instanceof Float32Array)) return;
    if (this.unclaimed.delete(values)) this.claimed.add(values);
    else this.claimed.delete(values);
  }

  /** Someone other than our kernels sees `values` (a read, a cpu kernel): never reuse it. */
  escape(values: unknown): void {
    if (values instanceof Float32Array) this.claimed.delete(values);
  }

  /** The tensor owning `values` is gone: keep the array for take() when it qualifies. */
  release(values: unknown): void {
    if (!(values instanceof Float32Array) || !this.claimed.delete(values)) return;
    if (values.length < MIN_POOLED_LENGTH || this.pooledBytes + values.byteLength > MAX_POOLED_BYTES) return;
    const list = this.free.get(values.length) ?? [];
    list.push(values);
    this.free.set(values.length, list);
    this.pooledBytes += values.byteLength;
  }

  get bytesPooled(): number {
    return this.pooledBytes;
  }
}
