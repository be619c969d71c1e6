// Direct integer convolution for the int8 engine: the GEMM of gemm_q8_packed with A read in
// place from the input image instead of from im2col rows packed into tiles. im2col + packing
// wrote kh·kw·C bytes and then 2·kh·kw·C bytes per output pixel and read them back: for ResNet's
// 3×3 convolutions at 16-64 channels those two passes took more time than the products. Here
// the uint8 image is widened once to int16 (x - zp) with its padding (0 = the zero point's
// value) around it and its channels rounded up to even, so that for each kernel row ky the taps
// kx = 0..kw-1 of all channels are one contiguous run of k-pairs, the layout the 4×8 micro-tile
// splats from. Each block of 64 output pixels is requantized (requantize_i32_q8) as soon as its
// int32 sums are done, while they are in L1: the int32 matrix never goes to memory.
import { GEMM_TILE_ROWS } from "./gemm";
import { dotPairQ8, storeTileQ8 } from "./tile-q8";
import { requantize_i32_q8 } from "./requantize";

/** Output pixels per block: 16 tiles of 4, whose int32 sums (64 × N) stay in L1 until requantized. */
const BLOCK_PIXELS: i32 = 64;

/** Bytes of the scratch conv_q8_direct_nhwc takes for n output channels: one block's sums and row offsets. */
export function conv_q8_direct_scratch_bytes(n: i32): i32 {
  return BLOCK_PIXELS * n * 4 + BLOCK_PIXELS * 4;
}

/**
 * Images [n0, n1) of uint8 NHWC x [N, H, W, C] as int16 (x - zp) in out [n1 - n0, Hp, Wp, Cp]:
 * the image at (padTop, padLeft), zeros around it and in the channels C..Cp-1.
 */
export function pad_widen_u8_i16(
  x: usize, zp: i32, H: i32, W: i32, C: i32, padTop: i32, padLeft: i32, Hp: i32, Wp: i32, Cp: i32, n0: i32, n1: i32, out: usize,
): void {
  const imageOut = <usize>Hp * <usize>Wp * <usize>Cp << 1;
  const rowOut = <usize>Wp * <usize>Cp << 1;
  const pixelOut = <usize>Cp << 1;
  // zeros only where the image does not land (all of it when channels are padded): for a 1×1
  // convolution without padding, zeroing the whole buffer first was a second pass over it
  if (C != Cp) memory.fill(out, 0, <usize>(n1 - n0) * imageOut);
  const zpv = i16x8.splat(<i16>zp);
  for (let n = n0; n < n1; n++) {
    const image = x + <usize>n * <usize>H * <usize>W * <usize>C;
    const dstImage = out + <usize>(n - n0) * imageOut;
    if (C == Cp) {
      memory.fill(dstImage, 0, <usize>padTop * rowOut);
      memory.fill(dstImage + <usize>(padTop + H) * rowOut, 0, <usize>(Hp - padTop - H) * rowOut);
    }
    for (let y = 0; y < H; y++) {
      const src = image + <usize>y * <usize>W * <usize>C;
      const rowStart = dstImage + <usize>(y + padTop) * rowOut;
      let dst = rowStart + <usize>padLeft * pixelOut;
      if (C == Cp) {
        memory.fill(rowStart, 0, <usize>padLeft * pixelOut);
        memory.fill(dst + <usize>W * pixelOut, 0, <usize>(Wp - padLeft - W) * pixelOut);
        // a whole image row is one contiguous run of W·C bytes
        const count = W * C;
        let i = 0;
        for (; i + 8 <= count; i += 8) v128.store(dst + (<usize>i << 1), i16x8.sub(v128.load8x8_u(src + <usize>i), zpv));
        for (; i < count; i++) store<i16>(dst + (<usize>i << 1), <i16>(<i32>load<u8>(src + <usize>i) - zp));
        continue;
      }
      for (let px = 0; px < W; px++) {
        for (let c = 0; c < C; c++) store<i16>(dst + (<usize>c << 1), <i16>(<i32>load<u8>(src + <usize>(px * C + c)) - zp));
        dst += <usize>Cp << 1;
      }
    }
  }
}

/**
 * One 4×8 tile of int32 sums over the kernel's segments: segment s is `segPairs` k-pairs read
 * from each row's base (a0..a3) + segOffset(s) and from packed B, which runs on contiguously.
 */
// @ts-ignore: decorator
@inline
function microQ8Segments(
  a0: usize, a1: usize, a2: usize, a3: usize, b: usize, segs: i32, segPairs: i32, kw: i32, rowStep: usize, tapStep: usize,
  c: usize, ldc: i32, rows: i32, cols: i32,
): void {
  let c00 = i32x4.splat(0), c01 = i32x4.splat(0), c10 = i32x4.splat(0), c11 = i32x4.splat(0);
  let c20 = i32x4.splat(0), c21 = i32x4.splat(0), c30 = i32x4.splat(0), c31 = i32x4.splat(0);
  for (let s = 0; s < segs; s++) {
    // with dilation 1 a segment is a whole kernel row (kw taps); otherwise one tap
    const ky = kw == 0 ? s : s / kw;
    const kx = kw == 0 ? 0 : s - ky * kw;
    let o = <usize>ky * rowStep + <usize>kx * tapStep;
    const end = o + (<usize>segPairs << 2);
    for (; o < end; o += 4) {
      const b0 = v128.load(b);
      const b1 = v128.load(b, 16);
      let a = v128.load32_splat(a0 + o);
      c00 = dotPairQ8(c00, a, b0); c01 = dotPairQ8(c01, a, b1);
      a = v128.load32_splat(a1 + o);
      c10 = dotPairQ8(c10, a, b0); c11 = dotPairQ8(c11, a, b1);
      a = v128.load32_splat(a2 + o);
      c20 = dotPairQ8(c20, a, b0); c21 = dotPairQ8(c21, a, b1);
      a = v128.load32_splat(a3 + o);
      c30 = dotPairQ8(c30, a, b0); c31 = dotPairQ8(c31, a, b1);
      b += 32;
    }
  }
  storeTileQ8(c, ldc, rows, cols, false, c00, c01, c10, c11, c20, c21, c30, c31);
}

/**
 * uint8 output pixels [p0, p1) (flat (n, oy, ox) of [N, OH, OW], n counted from the padded
 * images' first) of the convolution of the padded int16 images xp [., Hp, Wp, Cp] (from
 * pad_widen_u8_i16) with packed B (gemm_q8_pack_b of the K' × N codes, K' = kh·kw·Cp in
 * (ky, kx, c) order), requantized with requantize_i32_q8's arguments into out [., N]
 * (pixel p at out + p·N). scratch: conv_q8_direct_scratch_bytes(N).
 */
export function conv_q8_direct_nhwc(
  xp: usize, Hp: i32, Wp: i32, Cp: i32, kh: i32, kw: i32, sh: i32, sw: i32, dh: i32, dw: i32, OH: i32, OW: i32,
  pb: usize, n: i32, p0: i32, p1: i32, scratch: usize,
  bias: usize, hasBias: i32, table: usize, perTensor: i32, anyLeftShift: i32, zeroPoint: i32, lo: i32, hi: i32, out: usize,
): void {
  const pixelBytes = <usize>Cp << 1;
  const rowStep = <usize>dh * <usize>Wp * pixelBytes;
  const tapStep = <usize>dw * pixelBytes;
  const segs = dw == 1 ? kh : kh * kw;
  const segPairs = dw == 1 ? (kw * Cp) >> 1 : Cp >> 1;
  const segKw = dw == 1 ? 0 : kw;
  const kPairs = (kh * kw * Cp) >> 1;
  const panels = (n + 7) >> 3;
  const imagePixels = OH * OW;
  const imageBytes = <usize>Hp * <usize>Wp * pixelBytes;
  const offsets = scratch + (<usize>(BLOCK_PIXELS * n) << 2);
  for (let q0 = p0; q0 < p1; q0 += BLOCK_PIXELS) {
    const count = min(BLOCK_PIXELS, p1 - q0);
    // each pixel's window origin in the padded images, once per block (one division per block:
    // per pixel, they cost as much as a 1×1 convolution's products over a few channels)
    let image = q0 / imagePixels;
    const rest = q0 - image * imagePixels;
    let oy = rest / OW;
    let ox = rest - oy * OW;
    for (let i = 0; i < count; i++) {
      store<u32>(offsets + (<usize>i << 2), <u32>(<usize>image * imageBytes + (<usize>(oy * sh) * <usize>Wp + <usize>(ox * sw)) * pixelBytes));
      if (++ox == OW) {
        ox = 0;
        if (++oy == OH) {
          oy = 0;
          image++;
        }
      }
    }
    const tiles = (count + GEMM_TILE_ROWS - 1) >> 2;
    for (let p = 0; p < panels; p++) {
      const b = pb + <usize>p * <usize>kPairs * 32;
      const cols = min(8, n - (p << 3));
      for (let t = 0; t < tiles; t++) {
        const r = t << 2;
        const rows = min(4, count - r);
        // rows past the block's end read row r again and are not stored
        const a0 = xp + <usize>load<u32>(offsets + (<usize>r << 2));
        const a1 = rows > 1 ? xp + <usize>load<u32>(offsets + (<usize>(r + 1) << 2)) : a0;
        const a2 = rows > 2 ? xp + <usize>load<u32>(offsets + (<usize>(r + 2) << 2)) : a0;
        const a3 = rows > 3 ? xp + <usize>load<u32>(offsets + (<usize>(r + 3) << 2)) : a0;
        const c = scratch + ((<usize>r * <usize>n + <usize>(p << 3)) << 2);
        microQ8Segments(a0, a1, a2, a3, b, segs, segPairs, segKw, rowStep, tapStep, c, n, rows, cols);
      }
    }
    requantize_i32_q8(scratch, count, n, bias, hasBias, table, perTensor, anyLeftShift, zeroPoint, lo, hi, out + <usize>q0 * <usize>n);
  }
}
