// Memory helpers shared by the kernels. The JS side owns all allocation: kernels receive
// pointers into the shared linear memory and never allocate.

/** First byte the JS allocator may hand out (everything below is static data). */
export function heap_base(): usize {
  return __heap_base;
}

/** memory.copy of n bytes: the bandwidth baseline for memory-bound kernels. */
export function copy_bytes(dst: usize, src: usize, n: usize): void {
  memory.copy(dst, src, n);
}

/** memory.fill of n bytes with value. */
export function fill_bytes(dst: usize, value: u8, n: usize): void {
  memory.fill(dst, value, n);
}
