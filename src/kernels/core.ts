// The kernels of this thread: one wasm instance over a shared memory, the allocator that owns
// that memory, and typed-array views into it. Arrays that already live in the shared memory
// (made by `core.alloc*`) are passed to kernels by pointer, without copies.
import { LinearAllocator } from "./allocator.js";
import {
  createSharedMemory,
  instantiateKernels,
  kernelsModule,
  MAX_PAGES,
  type KernelExports,
} from "./wasm-module.js";

export type TypedArray =
  | Float32Array
  | Float64Array
  | Int32Array
  | Uint32Array
  | Int16Array
  | Uint16Array
  | Int8Array
  | Uint8Array;

type TypedArrayConstructor<T extends TypedArray> = {
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): T;
  readonly BYTES_PER_ELEMENT: number;
};

export class KernelCore {
  readonly exports: KernelExports;
  private readonly allocator: LinearAllocator;
  /** Every SharedArrayBuffer handed out for this memory: a view over one of them is resident. */
  private readonly knownBuffers = new WeakSet<ArrayBufferLike>();
  /** The buffer handed out last (most views are over it: a cheaper check than the set). */
  private lastBuffer: ArrayBufferLike | undefined;

  constructor(
    readonly module: WebAssembly.Module = kernelsModule(),
    readonly memory: WebAssembly.Memory = createSharedMemory(),
  ) {
    this.exports = instantiateKernels(module, memory);
    this.allocator = new LinearAllocator(memory, this.exports.heap_base(), MAX_PAGES * 65536);
  }

  /** The current buffer; views made from it stay valid when the memory grows (it is shared). */
  get buffer(): ArrayBufferLike {
    const buffer = this.memory.buffer;
    if (buffer !== this.lastBuffer) {
      this.knownBuffers.add(buffer);
      this.lastBuffer = buffer;
    }
    return buffer;
  }

  get bytesInUse(): number {
    return this.allocator.bytesInUse;
  }

  /** Raw allocation of `bytes` bytes, 64-byte aligned. Free it with `free(ptr)`. */
  malloc(bytes: number): number {
    return this.allocator.alloc(bytes);
  }

  free(ptrOrView: number | TypedArray): void {
    this.allocator.release(typeof ptrOrView === "number" ? ptrOrView : this.pointerOf(ptrOrView));
  }

  /** A view of `length` elements at `ptr`. */
  view<T extends TypedArray>(Type: TypedArrayConstructor<T>, ptr: number, length: number): T {
    return new Type(this.buffer, ptr, length);
  }

  /** A new zero-filled array inside the shared memory; kernels use it without copying. */
  alloc<T extends TypedArray>(Type: TypedArrayConstructor<T>, length: number): T {
    const bytes = length * Type.BYTES_PER_ELEMENT;
    const ptr = this.malloc(bytes);
    this.exports.fill_bytes(ptr, 0, bytes);
    return this.view(Type, ptr, length);
  }

  /** A copy of `source` inside the shared memory. */
  allocCopy<T extends TypedArray>(source: T): T {
    const Type = source.constructor as TypedArrayConstructor<T>;
    const copy = this.alloc(Type, source.length);
    (copy as unknown as { set(a: T): void }).set(source);
    return copy;
  }

  isResident(array: TypedArray): boolean {
    const buffer = array.buffer;
    return buffer === this.lastBuffer || this.knownBuffers.has(buffer);
  }

  pointerOf(array: TypedArray): number {
    if (!this.isResident(array)) {
      throw new Error("pointerOf: the array does not live in this kernel memory; make it with core.alloc()");
    }
    return array.byteOffset;
  }

  /** A scope for temporaries: inputs copied in, outputs allocated, all freed by release(). */
  staging(): Staging {
    return new Staging(this);
  }
}

export class Staging {
  private readonly temporaries: number[] = [];

  constructor(readonly core: KernelCore) {}

  /** Pointer to `array`'s data in kernel memory, copying it in unless it is already resident. */
  input(array: TypedArray): number {
    if (this.core.isResident(array)) return array.byteOffset;
    const ptr = this.scratch(array.byteLength);
    new Uint8Array(this.core.buffer, ptr, array.byteLength).set(
      new Uint8Array(array.buffer, array.byteOffset, array.byteLength),
    );
    return ptr;
  }

  /** Uninitialised scratch bytes freed on release(). */
  scratch(bytes: number): number {
    const ptr = this.core.malloc(bytes);
    this.temporaries.push(ptr);
    return ptr;
  }

  /** Pointer where a kernel writes `out`: its own data when resident, else scratch copied back by `copyBack`. */
  output(out: TypedArray): number {
    return this.core.isResident(out) ? out.byteOffset : this.scratch(out.byteLength);
  }

  /** Copies a kernel result at `ptr` into `out` when `out` is not resident. */
  copyBack(ptr: number, out: TypedArray): void {
    if (this.core.isResident(out) && out.byteOffset === ptr) return;
    new Uint8Array(out.buffer, out.byteOffset, out.byteLength).set(new Uint8Array(this.core.buffer, ptr, out.byteLength));
  }

  release(): void {
    for (const ptr of this.temporaries) this.core.free(ptr);
    this.temporaries.length = 0;
  }
}

let defaultCore: KernelCore | undefined;

/** The kernels of this thread, created on first use. */
export function kernels(): KernelCore {
  defaultCore ??= new KernelCore();
  return defaultCore;
}
