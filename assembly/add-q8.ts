// The residual add of two uint8 tensors with different scales, for the int8 engine. Both inputs
// are brought to one fixed-point scale by integer factors kA, kB <= 2^14 (kA / kB is the ratio of
// their scales, kept to 14 bits): acc = kA·(a - zpA) + kB·(b - zpB) is exact in int32, and
// requantize_i32_q8 maps it to the output's scale with one multiplier, max(sA, sB) / (2^14 · sOut).
// (a - zp) fits int16 and so does k, so eight elements are one i16x8 and one extmul pair each.
import { requantize_i32_q8 } from "./requantize";

/** acc[i] = kA·(a[i] - zpA) + kB·(b[i] - zpB) for i in [start, end); a, b uint8, acc int32. */
export function add_q8_acc(a: usize, zpA: i32, kA: i32, b: usize, zpB: i32, kB: i32, start: i32, end: i32, acc: usize): void {
  const za = i16x8.splat(<i16>zpA);
  const zb = i16x8.splat(<i16>zpB);
  const ka = i16x8.splat(<i16>kA);
  const kb = i16x8.splat(<i16>kB);
  let i = start;
  for (; i + 8 <= end; i += 8) {
    const xa = i16x8.sub(v128.load8x8_u(a + <usize>i), za);
    const xb = i16x8.sub(v128.load8x8_u(b + <usize>i), zb);
    const lo = i32x4.add(i32x4.extmul_low_i16x8_s(xa, ka), i32x4.extmul_low_i16x8_s(xb, kb));
    const hi = i32x4.add(i32x4.extmul_high_i16x8_s(xa, ka), i32x4.extmul_high_i16x8_s(xb, kb));
    v128.store(acc + (<usize>i << 2), lo);
    v128.store(acc + (<usize>i << 2), hi, 16);
  }
  for (; i < end; i++) {
    const v = kA * (<i32>load<u8>(a + <usize>i) - zpA) + kB * (<i32>load<u8>(b + <usize>i) - zpB);
    store<i32>(acc + (<usize>i << 2), v);
  }
}

/** Elements per block of add_q8_requant: their int32 sums (4 KiB) stay in L1 until requantized. */
const ADD_BLOCK: i32 = 1024;

/** Bytes of the scratch add_q8_requant takes. */
export function add_q8_requant_scratch_bytes(): i32 {
  return ADD_BLOCK * 4;
}

/**
 * out[i] for i in [start, end): add_q8_acc's sum requantized per tensor (requantize_i32_q8 with
 * a 1-entry table and no bias), a block at a time through `scratch`, so that the int32 sums never
 * leave L1: the residual add as one pass over its two inputs and its output.
 */
export function add_q8_requant(
  a: usize, zpA: i32, kA: i32, b: usize, zpB: i32, kB: i32, start: i32, end: i32, scratch: usize,
  table: usize, anyLeftShift: i32, zeroPoint: i32, lo: i32, hi: i32, out: usize,
): void {
  for (let i = start; i < end; i += ADD_BLOCK) {
    const count = min(ADD_BLOCK, end - i);
    add_q8_acc(a + <usize>i, zpA, kA, b + <usize>i, zpB, kB, 0, count, scratch);
    requantize_i32_q8(scratch, count, 1, 0, 0, table, 1, anyLeftShift, zeroPoint, lo, hi, out + <usize>i);
  }
}
