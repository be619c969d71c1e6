// Integer depthwise convolution for the int8 engine: uint8 activations (zero point zpX) times
// int8 weights (zero point 0, widened to int16 once at load) summed in int32, per output
// channel; requantize_i32_q8 then adds the int32 bias and rescales. Taps outside the input add
// nothing, which is what padding with the zero point gives, since (zpX - zpX) * w = 0.
// Channels are innermost (NHWC), so eight channels of one tap are one 8-byte load widened to
// i16x8 and one i32x4.extmul pair; channel counts off a multiple of 8 finish with a scalar tail.

/**
 * int32 sums of the output rows [rowStart, rowEnd) (a row is one (n, oy) of [N, OH, OW, C·M]):
 * acc[n, oy, ox, c·M + m] = Σ (x[n, iy, ix, c] - zpX) · filter[ky, kx, c·M + m] over the taps
 * inside the input. x: uint8 NHWC [N, H, W, C]; filter: int16 [kh, kw, C·M].
 */
export function depthwise_conv_q8_acc_nhwc(
  x: usize, zpX: i32, filter: usize, H: i32, W: i32, C: i32, M: i32, kh: i32, kw: i32, sh: i32, sw: i32, dh: i32, dw: i32,
  padTop: i32, padLeft: i32, OH: i32, OW: i32, rowStart: i32, rowEnd: i32, acc: usize,
): void {
  const channels = C * M;
  const zp = i16x8.splat(<i16>zpX);
  for (let r = rowStart; r < rowEnd; r++) {
    const n = r / OH;
    const oy = r - n * OH;
    const image = x + <usize>n * <usize>H * <usize>W * <usize>C;
    for (let ox = 0; ox < OW; ox++) {
      const dst = acc + ((<usize>r * <usize>OW + <usize>ox) * <usize>channels << 2);
      let o = 0;
      // eight channels at a time (multiplier 1: output channel = input channel)
      if (M == 1) {
        for (; o + 8 <= channels; o += 8) {
          let lo = i32x4.splat(0);
          let hi = i32x4.splat(0);
          for (let ky = 0; ky < kh; ky++) {
            const iy = oy * sh - padTop + ky * dh;
            if (iy < 0 || iy >= H) continue;
            for (let kx = 0; kx < kw; kx++) {
              const ix = ox * sw - padLeft + kx * dw;
              if (ix < 0 || ix >= W) continue;
              const xs = i16x8.sub(v128.load8x8_u(image + (<usize>iy * <usize>W + <usize>ix) * <usize>C + <usize>o), zp);
              const w = v128.load(filter + ((<usize>(ky * kw + kx) * <usize>channels + <usize>o) << 1));
              lo = i32x4.add(lo, i32x4.extmul_low_i16x8_s(xs, w));
              hi = i32x4.add(hi, i32x4.extmul_high_i16x8_s(xs, w));
            }
          }
          v128.store(dst + (<usize>o << 2), lo);
          v128.store(dst + (<usize>o << 2), hi, 16);
        }
      }
      // the tail, and every channel of a multiplier > 1
      for (; o < channels; o++) {
        const c = o / M;
        let s = 0;
        for (let ky = 0; ky < kh; ky++) {
          const iy = oy * sh - padTop + ky * dh;
          if (iy < 0 || iy >= H) continue;
          for (let kx = 0; kx < kw; kx++) {
            const ix = ox * sw - padLeft + kx * dw;
            if (ix < 0 || ix >= W) continue;
            const xv = <i32>load<u8>(image + (<usize>iy * <usize>W + <usize>ix) * <usize>C + <usize>c) - zpX;
            s += xv * <i32>load<i16>(filter + ((<usize>(ky * kw + kx) * <usize>channels + <usize>o) << 1));
          }
        }
        store<i32>(dst + (<usize>o << 2), s);
      }
    }
  }
}
