// Reference twins of assembly/im2col.ts kernels, written as the definitions read:
//   cols[r = (n, oy, ox), (ky, kx, c)] = x[n, oy*sh - padTop + ky*dh, ox*sw - padLeft + kx*dw, c]
// and a direct NHWC convolution that tests compare with im2col(x) · W.
import type { ConvGeometry } from "../conv-geometry.js";

type Elements = Float32Array | Int8Array | Uint8Array;

/** The input pixel (iy, ix) that output (oy, ox) reads at tap (ky, kx). */
function tap(g: ConvGeometry, oy: number, ox: number, ky: number, kx: number): [number, number] {
  return [oy * g.strideHeight - g.padTop + ky * g.dilationHeight, ox * g.strideWidth - g.padLeft + kx * g.dilationWidth];
}

const inside = (g: ConvGeometry, iy: number, ix: number): boolean => iy >= 0 && iy < g.inHeight && ix >= 0 && ix < g.inWidth;

/** Index of x[n, iy, ix, c] in NHWC. */
const inputIndex = (g: ConvGeometry, n: number, iy: number, ix: number, c: number): number =>
  ((n * g.inHeight + iy) * g.inWidth + ix) * g.inChannels + c;

/** im2col of an NHWC input; pixels outside the input read `padValue` (0, or the zero point). */
export function im2colRef<T extends Elements>(x: T, g: ConvGeometry, padValue = 0): T {
  const out = new (x.constructor as new (n: number) => T)(g.rows * g.patchSize);
  let i = 0;
  for (let n = 0; n < g.batch; n++) {
    for (let oy = 0; oy < g.outHeight; oy++) {
      for (let ox = 0; ox < g.outWidth; ox++) {
        for (let ky = 0; ky < g.kernelHeight; ky++) {
          for (let kx = 0; kx < g.kernelWidth; kx++) {
            const [iy, ix] = tap(g, oy, ox, ky, kx);
            for (let c = 0; c < g.inChannels; c++) {
              out[i++] = inside(g, iy, ix) ? x[inputIndex(g, n, iy, ix, c)] : padValue;
            }
          }
        }
      }
    }
  }
  return out;
}

/** col2im: dx (zeros, or `into`) plus the sum of every column entry that reads each pixel, in row order. */
export function col2imRef(cols: Float32Array, g: ConvGeometry, into?: Float32Array): Float32Array {
  const dx = into ? into.slice() : new Float32Array(g.batch * g.inHeight * g.inWidth * g.inChannels);
  let i = 0;
  for (let n = 0; n < g.batch; n++) {
    for (let oy = 0; oy < g.outHeight; oy++) {
      for (let ox = 0; ox < g.outWidth; ox++) {
        for (let ky = 0; ky < g.kernelHeight; ky++) {
          for (let kx = 0; kx < g.kernelWidth; kx++) {
            const [iy, ix] = tap(g, oy, ox, ky, kx);
            for (let c = 0; c < g.inChannels; c++, i++) {
              if (inside(g, iy, ix)) dx[inputIndex(g, n, iy, ix, c)] += cols[i];
            }
          }
        }
      }
    }
  }
  return dx;
}

/**
 * Direct f32 convolution, NHWC input and tfjs HWIO weights [kh, kw, cin, cout], without im2col.
 * Sums in f64 over taps in (ky, kx, c) order, skipping padding, and rounds once to f32.
 */
export function conv2dRef(x: Float32Array, weights: Float32Array, g: ConvGeometry, outChannels: number): Float32Array {
  const C = g.inChannels;
  const out = new Float32Array(g.rows * outChannels);
  let o = 0;
  for (let n = 0; n < g.batch; n++) {
    for (let oy = 0; oy < g.outHeight; oy++) {
      for (let ox = 0; ox < g.outWidth; ox++) {
        for (let co = 0; co < outChannels; co++) {
          let sum = 0;
          for (let ky = 0; ky < g.kernelHeight; ky++) {
            for (let kx = 0; kx < g.kernelWidth; kx++) {
              const [iy, ix] = tap(g, oy, ox, ky, kx);
              if (!inside(g, iy, ix)) continue;
              for (let c = 0; c < C; c++) {
                sum += x[inputIndex(g, n, iy, ix, c)] * weights[((ky * g.kernelWidth + kx) * C + c) * outChannels + co];
              }
            }
          }
          out[o++] = sum;
        }
      }
    }
  }
  return out;
}
