// im2col and its adjoint col2im over NHWC tensors, the layout a conv needs to become one GEMM
// with tfjs HWIO weights viewed as [kh*kw*cin, cout]:
//   row r = (n, oy, ox), column (ky, kx, c):
//   out[r, (ky*kw + kx)*C + c] = x[n, oy*sh - padTop + ky*dh, ox*sw - padLeft + kx*dw, c]
// and the pad value where that pixel lies outside the input. In NHWC the C values of one
// pixel are contiguous in both x and the output row, so every (ky, kx) is one run of C
// elements; with dw == 1 the valid kx range of one ky is even one run of (kx1 - kx0) * C, so
// a row is a few runs copied and a few filled. Runs are short (3..900 bytes) and V8 compiles
// memory.copy/fill to a call out of the generated code, so short runs are moved inline with
// v128 loads and stores instead; the big layers are bound by the output writes either way.

// From this length on, runs go through memory.copy/fill.
const COPY_CALL_BYTES: usize = 256;

/** Copies n bytes between non-overlapping regions; overlapping tail stores keep it branch-light. */
// @ts-ignore: decorator
@inline
function copyRun(dst: usize, src: usize, n: usize): void {
  if (n >= 16) {
    if (n >= COPY_CALL_BYTES) {
      memory.copy(dst, src, n);
      return;
    }
    const last = v128.load(src + n - 16);
    for (let i: usize = 0; i + 16 < n; i += 16) v128.store(dst + i, v128.load(src + i));
    v128.store(dst + n - 16, last);
  } else if (n >= 8) {
    const a = load<u64>(src);
    const b = load<u64>(src + n - 8);
    store<u64>(dst, a);
    store<u64>(dst + n - 8, b);
  } else if (n >= 4) {
    const a = load<u32>(src);
    const b = load<u32>(src + n - 4);
    store<u32>(dst, a);
    store<u32>(dst + n - 4, b);
  } else if (n > 0) {
    store<u8>(dst, load<u8>(src));
    store<u8>(dst + (n >> 1), load<u8>(src + (n >> 1)));
    store<u8>(dst + n - 1, load<u8>(src + n - 1));
  }
}

/** Fills n bytes with the byte whose 16 copies are `splat`. */
// @ts-ignore: decorator
@inline
function fillRun(dst: usize, splat: v128, n: usize): void {
  if (n >= 16) {
    if (n >= COPY_CALL_BYTES) {
      memory.fill(dst, <u8>i8x16.extract_lane_u(splat, 0), n);
      return;
    }
    for (let i: usize = 0; i + 16 < n; i += 16) v128.store(dst + i, splat);
    v128.store(dst + n - 16, splat);
  } else if (n >= 8) {
    v128.store64_lane(dst, splat, 0);
    v128.store64_lane(dst + n - 8, splat, 0);
  } else if (n >= 4) {
    v128.store32_lane(dst, splat, 0);
    v128.store32_lane(dst + n - 4, splat, 0);
  } else if (n > 0) {
    const b = <u8>i8x16.extract_lane_u(splat, 0);
    store<u8>(dst, b);
    store<u8>(dst + (n >> 1), b);
    store<u8>(dst + n - 1, b);
  }
}

/** First kx whose input column o + kx*d is >= 0, clamped to [0, k]. */
// @ts-ignore: decorator
@inline
function firstInside(o: i32, d: i32, k: i32): i32 {
  if (o >= 0) return 0;
  if (d == 1) return min(-o, k); // no division in the common case: i32.div costs ~25 cycles
  return min((-o + d - 1) / d, k);
}

/** One past the last kx whose input column o + kx*d is < size, clamped to [0, k]. */
// @ts-ignore: decorator
@inline
function endInside(o: i32, d: i32, k: i32, size: i32): i32 {
  if (o >= size) return 0;
  if (d == 1) return min(size - o, k);
  return min((size - 1 - o) / d + 1, k);
}

/**
 * Rows [rowStart, rowEnd) of the im2col matrix of elementBytes-wide elements, written at
 * out + row * kh*kw*C * elementBytes; `padByte` fills the pixels outside the input.
 */
function im2colRows(
  x: usize, H: i32, W: i32, C: i32, kh: i32, kw: i32, sh: i32, sw: i32, dh: i32, dw: i32,
  padTop: i32, padLeft: i32, OH: i32, OW: i32, rowStart: i32, rowEnd: i32, out: usize,
  elementBytes: i32, padByte: u8,
): void {
  if (rowEnd <= rowStart) return;
  const pixelBytes = <usize>C * <usize>elementBytes;
  const kernelRowBytes = <usize>kw * pixelBytes;
  const rowBytes = <usize>kh * kernelRowBytes;
  const imageBytes = <usize>H * <usize>W * pixelBytes;
  const inRowBytes = <usize>W * pixelBytes;
  const pad = i8x16.splat(<i8>padByte);
  const pixels = OH * OW;
  let n = rowStart / pixels;
  let oy = (rowStart % pixels) / OW;
  let ox = rowStart % OW;
  let dst = out + <usize>rowStart * rowBytes;
  for (let row = rowStart; row < rowEnd; row++) {
    const image = x + <usize>n * imageBytes;
    const iy0 = oy * sh - padTop;
    const ix0 = ox * sw - padLeft;
    const kx0 = firstInside(ix0, dw, kw);
    const kx1 = max(kx0, endInside(ix0, dw, kw, W));
    const leftBytes = <usize>kx0 * pixelBytes;
    const rightBytes = <usize>(kw - kx1) * pixelBytes;
    // the common case: the whole kernel row lies inside the input, one contiguous run
    const interior = dw == 1 && kx0 == 0 && kx1 == kw;
    for (let ky = 0; ky < kh; ky++) {
      const iy = iy0 + ky * dh;
      if (iy < 0 || iy >= H) {
        fillRun(dst, pad, kernelRowBytes);
        dst += kernelRowBytes;
        continue;
      }
      const src = image + <usize>iy * inRowBytes;
      if (interior) {
        copyRun(dst, src + <usize>ix0 * pixelBytes, kernelRowBytes);
        dst += kernelRowBytes;
        continue;
      }
      fillRun(dst, pad, leftBytes);
      dst += leftBytes;
      if (dw == 1) {
        const bytes = <usize>(kx1 - kx0) * pixelBytes;
        copyRun(dst, src + <usize>(ix0 + kx0) * pixelBytes, bytes);
        dst += bytes;
      } else {
        for (let kx = kx0; kx < kx1; kx++) {
          copyRun(dst, src + <usize>(ix0 + kx * dw) * pixelBytes, pixelBytes);
          dst += pixelBytes;
        }
      }
      fillRun(dst, pad, rightBytes);
      dst += rightBytes;
    }
    if (++ox == OW) {
      ox = 0;
      if (++oy == OH) {
        oy = 0;
        n++;
      }
    }
  }
}

/** im2col rows [rowStart, rowEnd) of an f32 NHWC input; padding is 0. */
export function im2col_f32_nhwc(
  x: usize, H: i32, W: i32, C: i32, kh: i32, kw: i32, sh: i32, sw: i32, dh: i32, dw: i32,
  padTop: i32, padLeft: i32, OH: i32, OW: i32, rowStart: i32, rowEnd: i32, out: usize,
): void {
  im2colRows(x, H, W, C, kh, kw, sh, sw, dh, dw, padTop, padLeft, OH, OW, rowStart, rowEnd, out, 4, 0);
}

/**
 * im2col rows [rowStart, rowEnd) of an int8 or uint8 NHWC input. Padding is the activation
 * zero point (its byte), because the quantized value that represents real 0 is the zero point.
 */
export function im2col_q8_nhwc(
  x: usize, H: i32, W: i32, C: i32, kh: i32, kw: i32, sh: i32, sw: i32, dh: i32, dw: i32,
  padTop: i32, padLeft: i32, OH: i32, OW: i32, rowStart: i32, rowEnd: i32, zeroPoint: i32, out: usize,
): void {
  im2colRows(x, H, W, C, kh, kw, sh, sw, dh, dw, padTop, padLeft, OH, OW, rowStart, rowEnd, out, 1, <u8>zeroPoint);
}

/** dst[0..n) += src[0..n) for f32. */
// @ts-ignore: decorator
@inline
function addRun(dst: usize, src: usize, n: i32): void {
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const off = <usize>i << 2;
    v128.store(dst + off, f32x4.add(v128.load(dst + off), v128.load(src + off)));
    v128.store(dst + off, f32x4.add(v128.load(dst + off, 16), v128.load(src + off, 16)), 16);
  }
  for (; i + 4 <= n; i += 4) {
    const off = <usize>i << 2;
    v128.store(dst + off, f32x4.add(v128.load(dst + off), v128.load(src + off)));
  }
  for (; i < n; i++) {
    const off = <usize>i << 2;
    store<f32>(dst + off, load<f32>(dst + off) + load<f32>(src + off));
  }
}

/**
 * col2im, the adjoint of im2col_f32_nhwc (a conv's input gradient): for the images
 * [imageStart, imageEnd), dx[n, iy, ix, c] += cols[r, (ky, kx, c)] over every (r, ky, kx) that
 * reads that pixel, in row order, so the sum order is fixed. Images are independent, which
 * is how the work splits. With accumulate == 0 those images of dx are zeroed first.
 */
export function col2im_f32_nhwc(
  cols: usize, H: i32, W: i32, C: i32, kh: i32, kw: i32, sh: i32, sw: i32, dh: i32, dw: i32,
  padTop: i32, padLeft: i32, OH: i32, OW: i32, imageStart: i32, imageEnd: i32, accumulate: i32, dx: usize,
): void {
  const pixelBytes = <usize>C << 2;
  const kernelRowBytes = <usize>kw * pixelBytes;
  const rowBytes = <usize>kh * kernelRowBytes;
  const imageBytes = <usize>H * <usize>W * pixelBytes;
  const inRowBytes = <usize>W * pixelBytes;
  if (accumulate == 0) {
    memory.fill(dx + <usize>imageStart * imageBytes, 0, <usize>(imageEnd - imageStart) * imageBytes);
  }
  for (let n = imageStart; n < imageEnd; n++) {
    const image = dx + <usize>n * imageBytes;
    let src = cols + <usize>n * <usize>OH * <usize>OW * rowBytes;
    for (let oy = 0; oy < OH; oy++) {
      const iy0 = oy * sh - padTop;
      for (let ox = 0; ox < OW; ox++) {
        const ix0 = ox * sw - padLeft;
        const kx0 = firstInside(ix0, dw, kw);
        const kx1 = max(kx0, endInside(ix0, dw, kw, W));
        for (let ky = 0; ky < kh; ky++) {
          const iy = iy0 + ky * dh;
          if (iy >= 0 && iy < H) {
            const dstRow = image + <usize>iy * inRowBytes;
            if (dw == 1) {
              addRun(dstRow + <usize>(ix0 + kx0) * pixelBytes, src + <usize>kx0 * pixelBytes, (kx1 - kx0) * C);
            } else {
              for (let kx = kx0; kx < kx1; kx++) {
                addRun(dstRow + <usize>(ix0 + kx * dw) * pixelBytes, src + <usize>kx * pixelBytes, C);
              }
            }
          }
          src += kernelRowBytes;
        }
      }
    }
  }
}
