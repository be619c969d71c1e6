// 2-D max and average pooling over NHWC tensors and their gradients. Windows are kh × kw with strides (sh, sw) and dilation 1; the window
// of output (oy, ox) starts at input (oy*sh - padTop, ox*sw - padLeft) and its taps outside the
// input are skipped (they count neither in a max nor in an average). The SIMD lanes run along
// the channels. With C >= 4 and C not a multiple of 4, the last vector covers the channels
// [C-4, C) and overlaps the previous one: writes of the forward kernels are idempotent there,
// and the scattering max gradient masks off the lanes done already. C < 4 runs scalar.
import { clipF32, clipF32x4 } from "./elementwise";

/** Bytes of the last vector's lanes that a full 4-channel block has not covered: all ones there. */
// @ts-ignore: decorator
@inline
function tailLaneMask(C: i32): v128 {
  // lanes [4 - C%4, 4) are new channels; the ones below were covered by the previous vector
  const skip = 4 - (C & 3);
  return i32x4.gt_s(i32x4(0, 1, 2, 3), i32x4.splat(skip - 1));
}

/** Offsets (bytes) of the vectors that cover C >= 4 channels: 0, 16, ... and C*4 - 16 for a tail. */
// @ts-ignore: decorator
@inline
function vectorCount(C: i32): i32 {
  return (C + 3) >> 2;
}

// @ts-ignore: decorator
@inline
function vectorOffset(v: i32, C: i32): usize {
  return <usize>min(v << 2, C - 4) << 2;
}

/**
 * dst[c] = max over a rows × cols grid of taps of a[c] (a tap (i, j) at a + i*rowStep + j*colStep),
 * taking a value only when it is greater than the running maximum: NaN is never taken and an
 * empty grid or one of only -Infinity/NaN gives -Infinity.
 */
// @ts-ignore: decorator
@inline
function maxTaps(a: usize, rows: i32, cols: i32, rowStep: usize, colStep: usize, C: i32, dst: usize): void {
  if (C >= 4) {
    const vectors = vectorCount(C);
    for (let v = 0; v < vectors; v++) {
      const off = vectorOffset(v, C);
      let best = f32x4.splat(-Infinity);
      let ar = a + off;
      for (let i = 0; i < rows; i++) {
        let ap = ar;
        for (let j = 0; j < cols; j++) {
          best = f32x4.pmax(best, v128.load(ap)); // best < x ? x : best
          ap += colStep;
        }
        ar += rowStep;
      }
      v128.store(dst + off, best);
    }
    return;
  }
  for (let c = 0; c < C; c++) {
    const off = <usize>c << 2;
    let best: f32 = -Infinity;
    let ar = a + off;
    for (let i = 0; i < rows; i++) {
      let ap = ar;
      for (let j = 0; j < cols; j++) {
        const x = load<f32>(ap);
        if (x > best) best = x;
        ap += colStep;
      }
      ar += rowStep;
    }
    store<f32>(dst + off, best);
  }
}

/** dst[c] = (sum over a rows × cols grid of taps of a[c]) * scale, or / count when `divide`. */
// @ts-ignore: decorator
@inline
function sumTaps(a: usize, rows: i32, cols: i32, rowStep: usize, colStep: usize, C: i32, factor: f32, divide: bool, dst: usize): void {
  if (C >= 4) {
    const vectors = vectorCount(C);
    const f = f32x4.splat(factor);
    for (let v = 0; v < vectors; v++) {
      const off = vectorOffset(v, C);
      let s0 = f32x4.splat(0);
      let ar = a + off;
      for (let i = 0; i < rows; i++) {
        let ap = ar;
        for (let j = 0; j < cols; j++) {
          s0 = f32x4.add(s0, v128.load(ap));
          ap += colStep;
        }
        ar += rowStep;
      }
      v128.store(dst + off, divide ? f32x4.div(s0, f) : f32x4.mul(s0, f));
    }
    return;
  }
  for (let c = 0; c < C; c++) {
    const off = <usize>c << 2;
    let s: f32 = 0;
    let ar = a + off;
    for (let i = 0; i < rows; i++) {
      let ap = ar;
      for (let j = 0; j < cols; j++) {
        s += load<f32>(ap);
        ap += colStep;
      }
      ar += rowStep;
    }
    store<f32>(dst + off, divide ? s / factor : s * factor);
  }
}

/**
 * Max (kind 0) or average (kind 1) pooling of the output rows [rowStart, rowEnd), a row being
 * one (n, oy) of the [N, OH, OW, C] output. The average divides by the number of taps inside
 * the input (0/0 = NaN for a window wholly in the padding).
 */
function poolRows(
  kind: i32, x: usize, H: i32, W: i32, C: i32, kh: i32, kw: i32, sh: i32, sw: i32, padTop: i32, padLeft: i32,
  OH: i32, OW: i32, rowStart: i32, rowEnd: i32, out: usize,
): void {
  const pixelBytes = <usize>C << 2;
  const inRowBytes = <usize>W * pixelBytes;
  const imageBytes = <usize>H * inRowBytes;
  for (let r = rowStart; r < rowEnd; r++) {
    const n = r / OH;
    const oy = r - n * OH;
    const iy0 = oy * sh - padTop;
    const y0 = max(iy0, 0);
    const rows = max(min(iy0 + kh, H) - y0, 0);
    const image = x + <usize>n * imageBytes;
    let dst = out + <usize>r * <usize>OW * pixelBytes;
    for (let ox = 0; ox < OW; ox++) {
      const ix0 = ox * sw - padLeft;
      const x0 = max(ix0, 0);
      const cols = max(min(ix0 + kw, W) - x0, 0);
      // the first tap inside the input; empty grids never dereference it
      const a = image + <usize>y0 * inRowBytes + <usize>x0 * pixelBytes;
      if (kind == 0) maxTaps(a, rows, cols, inRowBytes, pixelBytes, C, dst);
      else sumTaps(a, rows, cols, inRowBytes, pixelBytes, C, <f32>(rows * cols), true, dst);
      dst += pixelBytes;
    }
  }
}

/** Max pooling of the output rows [rowStart, rowEnd) (rows are (n, oy)) of out [N, OH, OW, C]. */
export function pool_max_f32_nhwc(
  x: usize, H: i32, W: i32, C: i32, kh: i32, kw: i32, sh: i32, sw: i32, padTop: i32, padLeft: i32,
  OH: i32, OW: i32, rowStart: i32, rowEnd: i32, out: usize,
): void {
  poolRows(0, x, H, W, C, kh, kw, sh, sw, padTop, padLeft, OH, OW, rowStart, rowEnd, out);
}

/** Average pooling (over the taps inside the input) of the output rows [rowStart, rowEnd). */
export function pool_avg_f32_nhwc(
  x: usize, H: i32, W: i32, C: i32, kh: i32, kw: i32, sh: i32, sw: i32, padTop: i32, padLeft: i32,
  OH: i32, OW: i32, rowStart: i32, rowEnd: i32, out: usize,
): void {
  poolRows(1, x, H, W, C, kh, kw, sh, sw, padTop, padLeft, OH, OW, rowStart, rowEnd, out);
}

/**
 * Gradient of max pooling for the images [imageStart, imageEnd): zeroes their part of dx
 * [N, H, W, C], then adds every dy[n, oy, ox, c] to dx at the first tap (row-major over the
 * window's taps inside the input) holding a value greater than all before it, i.e. the first
 * position of the window's maximum. A window with no tap above -Infinity passes nothing back.
 * Windows may overlap, so the gradient scatters: calls must cover disjoint image ranges.
 */
export function pool_max_grad_f32_nhwc(
  x: usize, dy: usize, H: i32, W: i32, C: i32, kh: i32, kw: i32, sh: i32, sw: i32, padTop: i32, padLeft: i32,
  OH: i32, OW: i32, imageStart: i32, imageEnd: i32, dx: usize,
): void {
  const pixelBytes = <usize>C << 2;
  const inRowBytes = <usize>W * pixelBytes;
  const imageBytes = <usize>H * inRowBytes;
  memory.fill(dx + <usize>imageStart * imageBytes, 0, <usize>(imageEnd - imageStart) * imageBytes);
  const vectors = C >= 4 ? vectorCount(C) : 0;
  const lastMask = (C & 3) != 0 ? tailLaneMask(C) : i32x4.splat(-1);
  let g = dy + <usize>imageStart * <usize>OH * <usize>OW * pixelBytes;
  for (let n = imageStart; n < imageEnd; n++) {
    const xImage = x + <usize>n * imageBytes;
    const dxImage = dx + <usize>n * imageBytes;
    for (let oy = 0; oy < OH; oy++) {
      const iy0 = oy * sh - padTop;
      const y0 = max(iy0, 0);
      const rows = max(min(iy0 + kh, H) - y0, 0);
      for (let ox = 0; ox < OW; ox++) {
        const ix0 = ox * sw - padLeft;
        const x0 = max(ix0, 0);
        const cols = max(min(ix0 + kw, W) - x0, 0);
        const first = <usize>y0 * inRowBytes + <usize>x0 * pixelBytes;
        const a = xImage + first;
        const d = dxImage + first;
        for (let v = 0; v < vectors; v++) {
          const off = vectorOffset(v, C);
          // pass 1: the running maximum and the index of the tap that set it
          let best = f32x4.splat(-Infinity);
          let index = i32x4.splat(-1);
          let t = 0;
          let ar = a + off;
          for (let i = 0; i < rows; i++) {
            let ap = ar;
            for (let j = 0; j < cols; j++) {
              const value = v128.load(ap);
              const greater = f32x4.gt(value, best);
              best = v128.bitselect(value, best, greater);
              index = v128.bitselect(i32x4.splat(t), index, greater);
              t++;
              ap += pixelBytes;
            }
            ar += inRowBytes;
          }
          // pass 2: add dy to the winning tap of every lane (+0 elsewhere)
          let grad = v128.load(g + off);
          if (v == vectors - 1) grad = v128.and(grad, lastMask);
          t = 0;
          let dr = d + off;
          for (let i = 0; i < rows; i++) {
            let dp = dr;
            for (let j = 0; j < cols; j++) {
              const hit = i32x4.eq(index, i32x4.splat(t));
              v128.store(dp, f32x4.add(v128.load(dp), v128.and(grad, hit)));
              t++;
              dp += pixelBytes;
            }
            dr += inRowBytes;
          }
        }
        if (C < 4) {
          for (let c = 0; c < C; c++) {
            const off = <usize>c << 2;
            let best: f32 = -Infinity;
            let where: usize = 0;
            let found = false;
            let ar = a + off;
            let dr = d + off;
            for (let i = 0; i < rows; i++) {
              let ap = ar;
              let dp = dr;
              for (let j = 0; j < cols; j++) {
                const value = load<f32>(ap);
                if (value > best) {
                  best = value;
                  where = dp;
                  found = true;
                }
                ap += pixelBytes;
                dp += pixelBytes;
              }
              ar += inRowBytes;
              dr += inRowBytes;
            }
            if (found) store<f32>(where, load<f32>(where) + load<f32>(g + off));
          }
        }
        g += pixelBytes;
      }
    }
  }
}

/**
 * Gradient of average pooling for the input rows [rowStart, rowEnd), a row being one (n, iy)
 * of dx [N, H, W, C]: dx[n, iy, ix, c] = scale * sum of dy[n, oy, ox, c] over the windows that
 * hold (iy, ix). The caller picks scale (tfjs's cpu backend uses 1 / (kh*kw) for every window,
 * padded or not). Gathering writes every dx element once, so rows split freely.
 */
export function pool_avg_grad_f32_nhwc(
  dy: usize, H: i32, W: i32, C: i32, kh: i32, kw: i32, sh: i32, sw: i32, padTop: i32, padLeft: i32,
  OH: i32, OW: i32, rowStart: i32, rowEnd: i32, scale: f32, dx: usize,
): void {
  const pixelBytes = <usize>C << 2;
  const outRowBytes = <usize>OW * pixelBytes;
  const outImageBytes = <usize>OH * outRowBytes;
  for (let r = rowStart; r < rowEnd; r++) {
    const n = r / H;
    const iy = r - n * H;
    // windows oy with oy*sh <= iy + padTop <= oy*sh + kh - 1
    const ty = iy + padTop;
    const oy0 = (max(ty - kh + 1, 0) + sh - 1) / sh;
    const oy1 = min(ty / sh + 1, OH);
    const rows = max(oy1 - oy0, 0);
    const image = dy + <usize>n * outImageBytes + <usize>oy0 * outRowBytes;
    let dst = dx + <usize>r * <usize>W * pixelBytes;
    for (let ix = 0; ix < W; ix++) {
      const tx = ix + padLeft;
      const ox0 = (max(tx - kw + 1, 0) + sw - 1) / sw;
      const ox1 = min(tx / sw + 1, OW);
      const cols = max(ox1 - ox0, 0);
      sumTaps(image + <usize>ox0 * pixelBytes, rows, cols, outRowBytes, pixelBytes, C, scale, false, dst);
      dst += pixelBytes;
    }
  }
}
