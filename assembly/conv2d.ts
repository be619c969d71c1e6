// A forward convolution over a range of images as one call, for the thread pool: each thread
// takes its own images and runs im2col and the GEMM (which reads im2col's rows where they were
// written, unpacked) chunk by chunk in its own scratch, so a chunk stays in that core's cache
// and the threads meet at one barrier per convolution instead of one per chunk and phase. The filter is packed once beforehand (packedB).
import { col2im_f32_nhwc, im2col_f32_nhwc } from "./im2col";
import { gemm_f32_pack_a, gemm_f32_pack_b, gemm_f32_packed, gemm_f32_rows_epilogue } from "./gemm";

/**
 * out rows of images [n0, n1) (+)= im2col(x) · W, chunkImages images at a time, then
 * clip(out + bias, lo, hi) as each block of rows is done (see gemm_f32_rows_epilogue). `cols`
 * holds im2col of one chunk. out is NHWC [N, OH, OW, n]; with `accumulate` the product is added
 * to it. (When im2col is the identity, the caller runs gemm_f32_rows_epilogue on x's rows.)
 */
export function conv2d_forward_images_f32(
  x: usize, H: i32, W: i32, C: i32, kh: i32, kw: i32, sh: i32, sw: i32, dh: i32, dw: i32,
  padTop: i32, padLeft: i32, OH: i32, OW: i32,
  packedB: usize, n: i32, out: usize, accumulate: i32, bias: usize, lo: f32, hi: f32,
  n0: i32, n1: i32, chunkImages: i32, cols: usize,
): void {
  const k = kh * kw * C;
  const pixels = OH * OW;
  const imageBytes = <usize>H * <usize>W * <usize>C * 4;
  const outImageBytes = <usize>pixels * <usize>n * 4;
  for (let i0 = n0; i0 < n1; i0 += chunkImages) {
    const rows = (min(n1, i0 + chunkImages) - i0) * pixels;
    const image = x + <usize>i0 * imageBytes;
    const y = out + <usize>i0 * outImageBytes;
    im2col_f32_nhwc(image, H, W, C, kh, kw, sh, sw, dh, dw, padTop, padLeft, OH, OW, 0, rows, cols);
    gemm_f32_rows_epilogue(cols, k, packedB, y, n, rows, n, k, accumulate != 0, bias, lo, hi);
  }
}

/**
 * dW (+)= im2col(x)ᵀ · dY over the images [n0, n1), chunkImages images at a time: the filter
 * gradient's share of one thread, into its own `dw` [patchSize, n] (the caller adds the threads'
 * shares). `cols` holds im2col of one chunk (unused when `identity`), `packedA` its transpose
 * packed, `packedB` the chunk of dY packed. With `accumulate` the first chunk adds to dw too.
 */
export function conv2d_filter_grad_images_f32(
  x: usize, H: i32, W: i32, C: i32, kh: i32, kw: i32, sh: i32, sw: i32, dh: i32, dw_: i32,
  padTop: i32, padLeft: i32, OH: i32, OW: i32,
  dy: usize, n: i32, dw: usize, accumulate: i32, identity: i32,
  n0: i32, n1: i32, chunkImages: i32, cols: usize, packedA: usize, packedB: usize,
): void {
  const m = kh * kw * C;
  const pixels = OH * OW;
  const imageBytes = <usize>H * <usize>W * <usize>C * 4;
  const dyImageBytes = <usize>pixels * <usize>n * 4;
  const tiles = (m + 3) >> 2;
  const panels = (n + 7) >> 3;
  for (let i0 = n0; i0 < n1; i0 += chunkImages) {
    const rows = (min(n1, i0 + chunkImages) - i0) * pixels;
    const image = x + <usize>i0 * imageBytes;
    let a = image;
    if (identity == 0) {
      im2col_f32_nhwc(image, H, W, C, kh, kw, sh, sw, dh, dw_, padTop, padLeft, OH, OW, 0, rows, cols);
      a = cols;
    }
    gemm_f32_pack_a(a, m, m, rows, true, packedA, 0, tiles);
    gemm_f32_pack_b(dy + <usize>i0 * dyImageBytes, n, rows, n, false, packedB, 0, panels);
    gemm_f32_packed(packedA, packedB, dw, n, m, n, rows, 0, tiles, accumulate != 0 || i0 > n0);
  }
}

/**
 * dX of the images [n0, n1) = col2im(dY · Wᵀ), chunkImages images at a time: the input
 * gradient's share of one thread (images are independent). `packedB` is Wᵀ packed once
 * beforehand; `packedA` holds one chunk of dY packed and `cols` its product. (When im2col is
 * the identity, dY · Wᵀ is dX itself and the caller runs gemm_f32_rows on dY's rows instead.)
 */
export function conv2d_input_grad_images_f32(
  dy: usize, H: i32, W: i32, C: i32, kh: i32, kw: i32, sh: i32, sw: i32, dh: i32, dw: i32,
  padTop: i32, padLeft: i32, OH: i32, OW: i32,
  packedB: usize, k: i32, dx: usize,
  n0: i32, n1: i32, chunkImages: i32, cols: usize, packedA: usize,
): void {
  const n = kh * kw * C;
  const pixels = OH * OW;
  const imageBytes = <usize>H * <usize>W * <usize>C * 4;
  const dyImageBytes = <usize>pixels * <usize>k * 4;
  for (let i0 = n0; i0 < n1; i0 += chunkImages) {
    const images = min(n1, i0 + chunkImages) - i0;
    const rows = images * pixels;
    const a = dy + <usize>i0 * dyImageBytes;
    const tiles = (rows + 3) >> 2;
    gemm_f32_pack_a(a, k, rows, k, false, packedA, 0, tiles);
    gemm_f32_packed(packedA, packedB, cols, n, rows, n, k, 0, tiles, false);
    col2im_f32_nhwc(cols, H, W, C, kh, kw, sh, sw, dh, dw, padTop, padLeft, OH, OW, 0, images, 0, dx + <usize>i0 * imageBytes);
  }
}
