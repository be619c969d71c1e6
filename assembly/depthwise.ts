// Depthwise 2-D convolution over NHWC tensors (MobileNet's 3×3 layers), forward and both
// gradients, with the filter as tfjs stores it, [kh, kw, C, multiplier]:
//   y[n, oy, ox, c*M + m] = sum over (ky, kx) of
//                           x[n, oy*sh - padTop + ky*dh, ox*sw - padLeft + kx*dw, c] * f[ky, kx, c, m]
// These kernels only do the M == 1 case over `C` channels, where x, f, y and the gradients
// share one channel index: the façade runs M > 1 over C*M channels after repeating every
// input channel M times (depthwise_expand_channels_f32) and sums the M input-gradient
// channels back (depthwise_sum_multiplier_f32). With one channel index, every tap is a
// lane-wise product of two contiguous runs, so the SIMD lanes run along the channels, and
// blocks of 16 channels keep four accumulators in registers over all the taps of a pixel (a
// tap costs two loads and one multiply-add per lane group: relaxed SIMD's fused one in the
// relaxed build, a mul and an add in the plain one; see fmaRowF32).
import { fmaRowF32 } from "./gemm";

/** First k in [0, count] with o + k*d >= 0 (count when there is none). */
// @ts-ignore: decorator
@inline
function firstInside(o: i32, d: i32, count: i32): i32 {
  if (o >= 0) return 0;
  if (d == 1) return min(-o, count); // i32.div costs ~25 cycles: skip it in the common case
  return min((-o + d - 1) / d, count);
}

/** One past the last k in [0, count) with o + k*d < size (0 when there is none). */
// @ts-ignore: decorator
@inline
function endInside(o: i32, d: i32, count: i32, size: i32): i32 {
  if (o >= size) return 0;
  if (d == 1) return min(size - o, count);
  return min((size - 1 - o) / d + 1, count);
}

const ACTIVATION_RELU = 1;
const ACTIVATION_RELU6 = 2;

/** Adds the bias (when `bias` != 0) and applies the fused activation to 4 channels. */
// @ts-ignore: decorator
@inline
function epilogue(v: v128, bias: usize, activation: i32): v128 {
  if (bias != 0) v = f32x4.add(v, v128.load(bias));
  // pmax/pmin: one instruction each on x86 (see Relu in elementwise.ts); NaN stays NaN
  if (activation >= ACTIVATION_RELU) v = f32x4.pmax(v, f32x4.splat(0));
  if (activation == ACTIVATION_RELU6) v = f32x4.pmin(v, f32x4.splat(6));
  return v;
}

// @ts-ignore: decorator
@inline
function epilogueScalar(v: f32, bias: usize, activation: i32): f32 {
  if (bias != 0) v += load<f32>(bias);
  if (activation >= ACTIVATION_RELU) v = v < 0 ? 0 : v;
  if (activation == ACTIVATION_RELU6) v = <f32>6 < v ? <f32>6 : v;
  return v;
}

/**
 * dst[c] = epilogue(sum over a rows × cols grid of taps of a[c] * b[c]) for c in [0, C).
 * The tap (i, j) reads a + i*aRowStep + j*aColStep and b + i*bRowStep + j*bColStep; steps are
 * byte offsets and may be negative (wrapping usize arithmetic). An empty grid gives 0.
 */
// @ts-ignore: decorator
@inline
function dotTaps(
  a: usize, b: usize, rows: i32, cols: i32, aRowStep: usize, aColStep: usize, bRowStep: usize, bColStep: usize,
  C: i32, dst: usize, bias: usize, activation: i32,
): void {
  let c = 0;
  for (; c + 16 <= C; c += 16) {
    const off = <usize>c << 2;
    let s0 = f32x4.splat(0);
    let s1 = f32x4.splat(0);
    let s2 = f32x4.splat(0);
    let s3 = f32x4.splat(0);
    let ar = a + off;
    let br = b + off;
    for (let i = 0; i < rows; i++) {
      let ap = ar;
      let bp = br;
      for (let j = 0; j < cols; j++) {
        s0 = fmaRowF32(s0, v128.load(ap), v128.load(bp));
        s1 = fmaRowF32(s1, v128.load(ap, 16), v128.load(bp, 16));
        s2 = fmaRowF32(s2, v128.load(ap, 32), v128.load(bp, 32));
        s3 = fmaRowF32(s3, v128.load(ap, 48), v128.load(bp, 48));
        ap += aColStep;
        bp += bColStep;
      }
      ar += aRowStep;
      br += bRowStep;
    }
    const biasAt = bias != 0 ? bias + off : 0;
    v128.store(dst + off, epilogue(s0, biasAt, activation));
    v128.store(dst + off, epilogue(s1, biasAt != 0 ? biasAt + 16 : 0, activation), 16);
    v128.store(dst + off, epilogue(s2, biasAt != 0 ? biasAt + 32 : 0, activation), 32);
    v128.store(dst + off, epilogue(s3, biasAt != 0 ? biasAt + 48 : 0, activation), 48);
  }
  for (; c + 4 <= C; c += 4) {
    const off = <usize>c << 2;
    let s = f32x4.splat(0);
    let ar = a + off;
    let br = b + off;
    for (let i = 0; i < rows; i++) {
      let ap = ar;
      let bp = br;
      for (let j = 0; j < cols; j++) {
        s = fmaRowF32(s, v128.load(ap), v128.load(bp));
        ap += aColStep;
        bp += bColStep;
      }
      ar += aRowStep;
      br += bRowStep;
    }
    v128.store(dst + off, epilogue(s, bias != 0 ? bias + off : 0, activation));
  }
  for (; c < C; c++) {
    const off = <usize>c << 2;
    let s: f32 = 0;
    let ar = a + off;
    let br = b + off;
    for (let i = 0; i < rows; i++) {
      let ap = ar;
      let bp = br;
      for (let j = 0; j < cols; j++) {
        s += load<f32>(ap) * load<f32>(bp);
        ap += aColStep;
        bp += bColStep;
      }
      ar += aRowStep;
      br += bRowStep;
    }
    store<f32>(dst + off, epilogueScalar(s, bias != 0 ? bias + off : 0, activation));
  }
}

/**
 * Forward depthwise convolution (multiplier 1) of the output rows [rowStart, rowEnd), a row
 * being one (n, oy) of the [N, OH, OW, C] output. `bias` (C floats) is added when it is not 0;
 * activation 0 is linear, 1 relu, 2 relu6. Taps outside the input add nothing.
 */
export function depthwise_conv_f32_nhwc(
  x: usize, filter: usize, bias: usize, H: i32, W: i32, C: i32, kh: i32, kw: i32, sh: i32, sw: i32, dh: i32, dw: i32,
  padTop: i32, padLeft: i32, OH: i32, OW: i32, rowStart: i32, rowEnd: i32, activation: i32, out: usize,
): void {
  const pixelBytes = <usize>C << 2;
  const inRowBytes = <usize>W * pixelBytes;
  const imageBytes = <usize>H * inRowBytes;
  const filterRowBytes = <usize>kw * pixelBytes;
  const xRowStep = <usize>dh * inRowBytes;
  const xColStep = <usize>dw * pixelBytes;
  for (let r = rowStart; r < rowEnd; r++) {
    const n = r / OH;
    const oy = r - n * OH;
    const iy0 = oy * sh - padTop;
    const ky0 = firstInside(iy0, dh, kh);
    const ky1 = max(ky0, endInside(iy0, dh, kh, H));
    const image = x + <usize>n * imageBytes;
    let dst = out + <usize>r * <usize>OW * pixelBytes;
    for (let ox = 0; ox < OW; ox++) {
      const ix0 = ox * sw - padLeft;
      const kx0 = firstInside(ix0, dw, kw);
      const kx1 = max(kx0, endInside(ix0, dw, kw, W));
      // the first tap inside the input; empty ranges never dereference it
      const a = image + <usize>(iy0 + ky0 * dh) * inRowBytes + <usize>(ix0 + kx0 * dw) * pixelBytes;
      const b = filter + <usize>ky0 * filterRowBytes + <usize>kx0 * pixelBytes;
      dotTaps(a, b, ky1 - ky0, kx1 - kx0, xRowStep, xColStep, filterRowBytes, pixelBytes, C, dst, bias, activation);
      dst += pixelBytes;
    }
  }
}

/** Smallest s >= 1 with s*d a multiple of stride: the spacing of the taps that hit one pixel. */
// @ts-ignore: decorator
@inline
function tapSpacing(d: i32, stride: i32): i32 {
  let s = 1;
  while ((s * d) % stride != 0) s++;
  return s;
}

/**
 * The taps k of one axis that reach input position t - pad from an output position o:
 * k*d = t - o*stride with 0 <= k < kernel and 0 <= o < outSize. They step by `spacing`, and o
 * falls by spacing*d/stride per step. Returns the first such k (bits 0..31) and how many there
 * are (bits 32..63); o of the first one is (t - k*d) / stride.
 */
// @ts-ignore: decorator
@inline
function tapRun(t: i32, d: i32, kernel: i32, stride: i32, outSize: i32, spacing: i32): i64 {
  let k = 0;
  while (k < spacing && (t - k * d) % stride != 0) k++;
  if (k == spacing) return 0;
  // skip the taps whose output position lies past the end (o >= outSize)
  while (k < kernel && <i64>(t - k * d) >= <i64>outSize * <i64>stride) k += spacing;
  let count = 0;
  for (let j = k; j < kernel && t - j * d >= 0; j += spacing) count++;
  return (<i64>count << 32) | <i64>(<u32>k);
}

/**
 * Input gradient of the depthwise convolution (multiplier 1) for the input rows
 * [rowStart, rowEnd), a row being one (n, iy) of dx [N, H, W, C]:
 *   dx[n, iy, ix, c] = sum over the taps (ky, kx) and outputs (oy, ox) that read (iy, ix) of
 *                      dy[n, oy, ox, c] * f[ky, kx, c].
 * Gathering per input pixel writes every dx element once, so rows split freely.
 */
export function depthwise_conv_input_grad_f32_nhwc(
  dy: usize, filter: usize, H: i32, W: i32, C: i32, kh: i32, kw: i32, sh: i32, sw: i32, dh: i32, dw: i32,
  padTop: i32, padLeft: i32, OH: i32, OW: i32, rowStart: i32, rowEnd: i32, dx: usize,
): void {
  const pixelBytes = <usize>C << 2;
  const outRowBytes = <usize>OW * pixelBytes;
  const outImageBytes = <usize>OH * outRowBytes;
  const filterRowBytes = <usize>kw * pixelBytes;
  const spacingY = tapSpacing(dh, sh);
  const spacingX = tapSpacing(dw, sw);
  // along a run of taps, dy moves back by spacing*d/stride outputs and f forward by spacing taps
  const dyRowStep = <usize>(-((spacingY * dh) / sh)) * outRowBytes;
  const dyColStep = <usize>(-((spacingX * dw) / sw)) * pixelBytes;
  const fRowStep = <usize>spacingY * filterRowBytes;
  const fColStep = <usize>spacingX * pixelBytes;
  for (let r = rowStart; r < rowEnd; r++) {
    const n = r / H;
    const iy = r - n * H;
    const ty = iy + padTop;
    const runY = tapRun(ty, dh, kh, sh, OH, spacingY);
    const ky0 = <i32>runY;
    const rows = <i32>(runY >> 32);
    const oy0 = (ty - ky0 * dh) / sh;
    const image = dy + <usize>n * outImageBytes;
    let dst = dx + <usize>r * <usize>W * pixelBytes;
    for (let ix = 0; ix < W; ix++) {
      const tx = ix + padLeft;
      const runX = tapRun(tx, dw, kw, sw, OW, spacingX);
      const kx0 = <i32>runX;
      const cols = <i32>(runX >> 32);
      const ox0 = (tx - kx0 * dw) / sw;
      const a = image + <usize>oy0 * outRowBytes + <usize>ox0 * pixelBytes;
      const b = filter + <usize>ky0 * filterRowBytes + <usize>kx0 * pixelBytes;
      dotTaps(a, b, rows, cols, dyRowStep, dyColStep, fRowStep, fColStep, C, dst, 0, 0);
      dst += pixelBytes;
    }
  }
}

/**
 * Filter gradient of the depthwise convolution (multiplier 1), summed over the images
 * [imageStart, imageEnd), for the channels [channelStart, channelEnd):
 *   out[ky, kx, c] = sum over n, oy, ox of x[n, oy*sh - padTop + ky*dh, ox*sw - padLeft + kx*dw, c] * dy[n, oy, ox, c]
 * out is [kh, kw, C]; other channels are not touched, so calls over disjoint channel ranges
 * split the work without a combine step. Each tap keeps its sums in registers over all positions.
 */
export function depthwise_conv_filter_grad_f32_nhwc(
  x: usize, dy: usize, H: i32, W: i32, C: i32, kh: i32, kw: i32, sh: i32, sw: i32, dh: i32, dw: i32,
  padTop: i32, padLeft: i32, OH: i32, OW: i32, imageStart: i32, imageEnd: i32, channelStart: i32, channelEnd: i32,
  out: usize,
): void {
  const pixelBytes = <usize>C << 2;
  const inRowBytes = <usize>W * pixelBytes;
  const imageBytes = <usize>H * inRowBytes;
  const outRowBytes = <usize>OW * pixelBytes;
  const outImageBytes = <usize>OH * outRowBytes;
  const xRowStep = <usize>sh * inRowBytes;
  const xColStep = <usize>sw * pixelBytes;
  const images = imageEnd - imageStart;
  for (let ky = 0; ky < kh; ky++) {
    const ty = ky * dh - padTop;
    const oy0 = firstInside(ty, sh, OH);
    const oy1 = max(oy0, endInside(ty, sh, OH, H));
    for (let kx = 0; kx < kw; kx++) {
      const tx = kx * dw - padLeft;
      const ox0 = firstInside(tx, sw, OW);
      const ox1 = max(ox0, endInside(tx, sw, OW, W));
      const dst = out + (<usize>(ky * kw + kx)) * pixelBytes;
      // first position inside the input of the first image; empty ranges never dereference it
      const xFirst = x + <usize>imageStart * imageBytes + <usize>(oy0 * sh + ty) * inRowBytes + <usize>(ox0 * sw + tx) * pixelBytes;
      const dyFirst = dy + <usize>imageStart * outImageBytes + <usize>oy0 * outRowBytes + <usize>ox0 * pixelBytes;
      sumProducts(xFirst, dyFirst, images, oy1 - oy0, ox1 - ox0, imageBytes, xRowStep, xColStep, outImageBytes, outRowBytes,
        pixelBytes, channelStart, channelEnd, dst);
    }
  }
}

/**
 * dst[c] = sum over images × rows × cols of a[c] * b[c] for c in [c0, c1), with a and b
 * stepping by their own image/row/column strides (bytes).
 */
// @ts-ignore: decorator
@inline
function sumProducts(
  a: usize, b: usize, images: i32, rows: i32, cols: i32, aImageStep: usize, aRowStep: usize, aColStep: usize,
  bImageStep: usize, bRowStep: usize, bColStep: usize, c0: i32, c1: i32, dst: usize,
): void {
  let c = c0;
  for (; c + 16 <= c1; c += 16) {
    const off = <usize>c << 2;
    let s0 = f32x4.splat(0);
    let s1 = f32x4.splat(0);
    let s2 = f32x4.splat(0);
    let s3 = f32x4.splat(0);
    for (let n = 0; n < images; n++) {
      let ar = a + <usize>n * aImageStep + off;
      let br = b + <usize>n * bImageStep + off;
      for (let i = 0; i < rows; i++) {
        let ap = ar;
        let bp = br;
        for (let j = 0; j < cols; j++) {
          s0 = fmaRowF32(s0, v128.load(ap), v128.load(bp));
          s1 = fmaRowF32(s1, v128.load(ap, 16), v128.load(bp, 16));
          s2 = fmaRowF32(s2, v128.load(ap, 32), v128.load(bp, 32));
          s3 = fmaRowF32(s3, v128.load(ap, 48), v128.load(bp, 48));
          ap += aColStep;
          bp += bColStep;
        }
        ar += aRowStep;
        br += bRowStep;
      }
    }
    v128.store(dst + off, s0);
    v128.store(dst + off, s1, 16);
    v128.store(dst + off, s2, 32);
    v128.store(dst + off, s3, 48);
  }
  for (; c + 4 <= c1; c += 4) {
    const off = <usize>c << 2;
    let s = f32x4.splat(0);
    for (let n = 0; n < images; n++) {
      let ar = a + <usize>n * aImageStep + off;
      let br = b + <usize>n * bImageStep + off;
      for (let i = 0; i < rows; i++) {
        let ap = ar;
        let bp = br;
        for (let j = 0; j < cols; j++) {
          s = fmaRowF32(s, v128.load(ap), v128.load(bp));
          ap += aColStep;
          bp += bColStep;
        }
        ar += aRowStep;
        br += bRowStep;
      }
    }
    v128.store(dst + off, s);
  }
  for (; c < c1; c++) {
    const off = <usize>c << 2;
    let s: f32 = 0;
    for (let n = 0; n < images; n++) {
      let ar = a + <usize>n * aImageStep + off;
      let br = b + <usize>n * bImageStep + off;
      for (let i = 0; i < rows; i++) {
        let ap = ar;
        let bp = br;
        for (let j = 0; j < cols; j++) {
          s += load<f32>(ap) * load<f32>(bp);
          ap += aColStep;
          bp += bColStep;
        }
        ar += aRowStep;
        br += bRowStep;
      }
    }
    store<f32>(dst + off, s);
  }
}

/**
 * out[p, c*M + m] = x[p, c] for the pixels [pixelStart, pixelEnd) of a [pixels, C] array:
 * every channel repeated M times, so that a depthwise conv with multiplier M becomes one with
 * multiplier 1 over C*M channels.
 */
export function depthwise_expand_channels_f32(x: usize, C: i32, M: i32, pixelStart: i32, pixelEnd: i32, out: usize): void {
  const count = (pixelEnd - pixelStart) * C;
  let src = x + (<usize>pixelStart * <usize>C << 2);
  let dst = out + (<usize>pixelStart * <usize>C * <usize>M << 2);
  if (M == 2) {
    let i = 0;
    for (; i + 4 <= count; i += 4) {
      const v = v128.load(src);
      v128.store(dst, v128.shuffle<f32>(v, v, 0, 0, 1, 1));
      v128.store(dst, v128.shuffle<f32>(v, v, 2, 2, 3, 3), 16);
      src += 16;
      dst += 32;
    }
    for (; i < count; i++) {
      const v = load<f32>(src);
      store<f32>(dst, v);
      store<f32>(dst, v, 4);
      src += 4;
      dst += 8;
    }
    return;
  }
  for (let i = 0; i < count; i++) {
    const value = load<f32>(src);
    const v = f32x4.splat(value);
    let m = 0;
    for (; m + 4 <= M; m += 4) v128.store(dst + (<usize>m << 2), v);
    for (; m < M; m++) store<f32>(dst + (<usize>m << 2), value);
    src += 4;
    dst += <usize>M << 2;
  }
}

/**
 * out[p, c] = sum over m of src[p, c*M + m] for the pixels [pixelStart, pixelEnd): the adjoint
 * of depthwise_expand_channels_f32, which turns the C*M-channel input gradient into C channels.
 */
export function depthwise_sum_multiplier_f32(src: usize, C: i32, M: i32, pixelStart: i32, pixelEnd: i32, out: usize): void {
  const count = (pixelEnd - pixelStart) * C;
  let from = src + (<usize>pixelStart * <usize>C * <usize>M << 2);
  let dst = out + (<usize>pixelStart * <usize>C << 2);
  if (M == 2) {
    let i = 0;
    for (; i + 4 <= count; i += 4) {
      const a = v128.load(from);
      const b = v128.load(from, 16);
      v128.store(dst, f32x4.add(v128.shuffle<f32>(a, b, 0, 2, 4, 6), v128.shuffle<f32>(a, b, 1, 3, 5, 7)));
      from += 32;
      dst += 16;
    }
    for (; i < count; i++) {
      store<f32>(dst, load<f32>(from) + load<f32>(from, 4));
      from += 8;
      dst += 4;
    }
    return;
  }
  for (let i = 0; i < count; i++) {
    let s: f32 = 0;
    for (let m = 0; m < M; m++) s += load<f32>(from + (<usize>m << 2));
    store<f32>(dst, s);
    from += <usize>M << 2;
    dst += 4;
  }
}

/**
 * out[i] = sum over p < count of partials[p*length + i] for i in [start, end): combines the
 * per-thread filter gradients of disjoint image ranges, in a fixed order.
 */
export function depthwise_sum_partials_f32(partials: usize, count: i32, length: i32, start: i32, end: i32, out: usize): void {
  const stride = <usize>length << 2;
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const off = <usize>i << 2;
    let s = v128.load(partials + off);
    for (let p = 1; p < count; p++) s = f32x4.add(s, v128.load(partials + <usize>p * stride + off));
    v128.store(out + off, s);
  }
  for (; i < end; i++) {
    const off = <usize>i << 2;
    let s = load<f32>(partials + off);
    for (let p = 1; p < count; p++) s += load<f32>(partials + <usize>p * stride + off);
    store<f32>(out + off, s);
  }
}
