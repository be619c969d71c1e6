// Pooling of uint8 activations for the int8 engine. Max pooling keeps its input's scale and
// zero point (the contract of deploy/int8-model.ts), so it is a max over bytes: u8x16.max_u over
// sixteen channels at a time. Average pooling writes the mean of (x - zp) over the taps inside
// the input, rounded half away from zero, as int32, and requantize_i32_q8 rescales it to the
// output's range: the division by the tap count is exact integer arithmetic, then one rounding.

/** Max pooling of the output rows [rowStart, rowEnd) (rows are (n, oy)) of uint8 [N, OH, OW, C]. */
export function pool_max_u8_nhwc(
  x: usize, H: i32, W: i32, C: i32, kh: i32, kw: i32, sh: i32, sw: i32, padTop: i32, padLeft: i32,
  OH: i32, OW: i32, rowStart: i32, rowEnd: i32, out: usize,
): void {
  for (let r = rowStart; r < rowEnd; r++) {
    const n = r / OH;
    const oy = r - n * OH;
    const y0 = max(oy * sh - padTop, 0);
    const y1 = min(oy * sh - padTop + kh, H);
    const image = x + <usize>n * <usize>H * <usize>W * <usize>C;
    for (let ox = 0; ox < OW; ox++) {
      const x0 = max(ox * sw - padLeft, 0);
      const x1 = min(ox * sw - padLeft + kw, W);
      const dst = out + (<usize>r * <usize>OW + <usize>ox) * <usize>C;
      let c = 0;
      for (; c + 16 <= C; c += 16) {
        let m = i8x16.splat(0);
        for (let iy = y0; iy < y1; iy++) {
          for (let ix = x0; ix < x1; ix++) m = i8x16.max_u(m, v128.load(image + (<usize>iy * <usize>W + <usize>ix) * <usize>C + <usize>c));
        }
        v128.store(dst + <usize>c, m);
      }
      for (; c < C; c++) {
        let m: u32 = 0;
        for (let iy = y0; iy < y1; iy++) {
          for (let ix = x0; ix < x1; ix++) m = max(m, <u32>load<u8>(image + (<usize>iy * <usize>W + <usize>ix) * <usize>C + <usize>c));
        }
        store<u8>(dst + <usize>c, <u8>m);
      }
    }
  }
}

/** v / count rounded half away from zero (count > 0). */
// @ts-ignore: decorator
@inline
function roundedDivide(v: i32, count: i32): i32 {
  const half = count >> 1;
  return v >= 0 ? (v + half) / count : -((-v + half) / count);
}

/**
 * Average pooling of the output rows [rowStart, rowEnd) of uint8 x: acc[n, oy, ox, c] = the
 * mean of x - zpX over the window's taps inside the input, rounded half away from zero.
 */
export function pool_avg_q8_acc_nhwc(
  x: usize, zpX: i32, H: i32, W: i32, C: i32, kh: i32, kw: i32, sh: i32, sw: i32, padTop: i32, padLeft: i32,
  OH: i32, OW: i32, rowStart: i32, rowEnd: i32, acc: usize,
): void {
  for (let r = rowStart; r < rowEnd; r++) {
    const n = r / OH;
    const oy = r - n * OH;
    const y0 = max(oy * sh - padTop, 0);
    const y1 = min(oy * sh - padTop + kh, H);
    const image = x + <usize>n * <usize>H * <usize>W * <usize>C;
    for (let ox = 0; ox < OW; ox++) {
      const x0 = max(ox * sw - padLeft, 0);
      const x1 = min(ox * sw - padLeft + kw, W);
      const count = max(y1 - y0, 0) * max(x1 - x0, 0);
      const offset = count * zpX;
      const dst = acc + ((<usize>r * <usize>OW + <usize>ox) * <usize>C << 2);
      let c = 0;
      // sums of eight channels in two i32x4, bytes widened as they are loaded
      for (; c + 8 <= C; c += 8) {
        let lo = i32x4.splat(0);
        let hi = i32x4.splat(0);
        for (let iy = y0; iy < y1; iy++) {
          for (let ix = x0; ix < x1; ix++) {
            const v = v128.load8x8_u(image + (<usize>iy * <usize>W + <usize>ix) * <usize>C + <usize>c);
            lo = i32x4.add(lo, i32x4.extend_low_i16x8_u(v));
            hi = i32x4.add(hi, i32x4.extend_high_i16x8_u(v));
          }
        }
        v128.store(dst + (<usize>c << 2), lo);
        v128.store(dst + (<usize>c << 2), hi, 16);
      }
      for (; c < C; c++) {
        let s = 0;
        for (let iy = y0; iy < y1; iy++) {
          for (let ix = x0; ix < x1; ix++) s += <i32>load<u8>(image + (<usize>iy * <usize>W + <usize>ix) * <usize>C + <usize>c);
        }
        store<i32>(dst + (<usize>c << 2), s);
      }
      // integer division has no SIMD instruction: one scalar pass over the C sums
      for (let k = 0; k < C; k++) {
        const p = dst + (<usize>k << 2);
        store<i32>(p, count == 0 ? 0 : roundedDivide(load<i32>(p) - offset, count));
      }
    }
  }
}
