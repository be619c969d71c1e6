// First-fit allocator over the shared linear memory. Only one thread (the one that created
// the memory) allocates: each wasm instance has its own globals, so an allocator inside wasm
// would not be shared between workers.

/** Alignment of every block: a cache line, which also keeps v128 loads aligned. */
export const ALIGN = 64;
const PAGE = 65536;

const alignUp = (n: number): number => Math.ceil(n / ALIGN) * ALIGN;

export class LinearAllocator {
  /** Free ranges [start, end), sorted by start, never adjacent to each other or to `top`. */
  private free: Array<[number, number]> = [];
  private sizes = new Map<number, number>();
  private top: number;
  /** Bytes the memory had when last looked at (it only grows): most allocations fit below. */
  private capacity = 0;

  constructor(
    private readonly memory: WebAssembly.Memory,
    heapBase: number,
    private readonly maxBytes: number,
  ) {
    this.top = alignUp(heapBase);
  }

  get bytesInUse(): number {
    let sum = 0;
    for (const size of this.sizes.values()) sum += size;
    return sum;
  }

  alloc(bytes: number): number {
    if (!Number.isSafeInteger(bytes) || bytes < 0) {
      throw new RangeError(`alloc: bytes must be a non-negative integer, but got ${bytes}`);
    }
    const size = alignUp(Math.max(bytes, 1));
    for (let i = 0; i < this.free.length; i++) {
      const [start, end] = this.free[i];
      if (end - start < size) continue;
      if (end - start === size) this.free.splice(i, 1);
      else this.free[i] = [start + size, end];
      this.sizes.set(start, size);
      return start;
    }
    const ptr = this.top;
    this.ensureCapacity(ptr + size);
    this.top = ptr + size;
    this.sizes.set(ptr, size);
    return ptr;
  }

  release(ptr: number): void {
    const size = this.sizes.get(ptr);
    if (size === undefined) throw new Error(`free: ${ptr} is not an allocated block`);
    this.sizes.delete(ptr);
    let start = ptr;
    let end = ptr + size;
    // find the insertion point, merging with neighbours
    let i = 0;
    while (i < this.free.length && this.free[i][0] < start) i++;
    if (i > 0 && this.free[i - 1][1] === start) {
      start = this.free[i - 1][0];
      this.free.splice(--i, 1);
    }
    if (i < this.free.length && this.free[i][0] === end) {
      end = this.free[i][1];
      this.free.splice(i, 1);
    }
    if (end === this.top) this.top = start;
    else this.free.splice(i, 0, [start, end]);
  }

  private ensureCapacity(bytes: number): void {
    if (bytes > this.maxBytes) {
      throw new RangeError(
        `kernel memory: cannot allocate ${bytes} bytes, the shared memory is limited to ${this.maxBytes} bytes; ` +
          "work on smaller tensors or free arrays you no longer need",
      );
    }
    if (bytes <= this.capacity) return;
    const have = this.memory.buffer.byteLength;
    this.capacity = have;
    if (bytes <= have) return;
    // grow geometrically so that repeated small growths stay cheap
    const wantPages = Math.ceil(Math.max(bytes, have * 1.25) / PAGE);
    const maxPages = this.maxBytes / PAGE;
    this.memory.grow(Math.min(wantPages, maxPages) - have / PAGE);
    this.capacity = this.memory.buffer.byteLength;
  }
}
