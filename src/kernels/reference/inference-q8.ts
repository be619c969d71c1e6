// Reference twins of the int8 engine's kernels (assembly/depthwise-q8.ts, pooling-q8.ts,
// add-q8.ts): the plain loops, one output at a time, that the SIMD kernels must equal bit for bit.
import type { ConvGeometry } from "../conv-geometry.js";

/** Σ (x - zp)·filter over the taps inside x, per output [N, OH, OW, C·M]. */
export function depthwiseConv2dQ8AccRef(x: Uint8Array, zeroPoint: number, filter: Int16Array | Int8Array, g: ConvGeometry, multiplier: number): Int32Array {
  const channels = g.inChannels * multiplier;
  const out = new Int32Array(g.rows * channels);
  for (let n = 0; n < g.batch; n++) {
    for (let oy = 0; oy < g.outHeight; oy++) {
      for (let ox = 0; ox < g.outWidth; ox++) {
        for (let o = 0; o < channels; o++) {
          const c = Math.floor(o / multiplier);
          let s = 0;
          for (let ky = 0; ky < g.kernelHeight; ky++) {
            const iy = oy * g.strideHeight - g.padTop + ky * g.dilationHeight;
            for (let kx = 0; kx < g.kernelWidth; kx++) {
              const ix = ox * g.strideWidth - g.padLeft + kx * g.dilationWidth;
              if (iy < 0 || iy >= g.inHeight || ix < 0 || ix >= g.inWidth) continue;
              s += (x[((n * g.inHeight + iy) * g.inWidth + ix) * g.inChannels + c] - zeroPoint) * filter[(ky * g.kernelWidth + kx) * channels + o];
            }
          }
          out[((n * g.outHeight + oy) * g.outWidth + ox) * channels + o] = s;
        }
      }
    }
  }
  return out;
}

/** Each output's window taps inside the input, as flat indices of x without the channel. */
function windowPixels(g: ConvGeometry, n: number, oy: number, ox: number): number[] {
  const pixels: number[] = [];
  for (let ky = 0; ky < g.kernelHeight; ky++) {
    const iy = oy * g.strideHeight - g.padTop + ky;
    for (let kx = 0; kx < g.kernelWidth; kx++) {
      const ix = ox * g.strideWidth - g.padLeft + kx;
      if (iy >= 0 && iy < g.inHeight && ix >= 0 && ix < g.inWidth) pixels.push((n * g.inHeight + iy) * g.inWidth + ix);
    }
  }
  return pixels;
}

function eachWindow(g: ConvGeometry, visit: (pixels: number[], outPixel: number) => void): void {
  for (let n = 0; n < g.batch; n++) {
    for (let oy = 0; oy < g.outHeight; oy++) {
      for (let ox = 0; ox < g.outWidth; ox++) visit(windowPixels(g, n, oy, ox), (n * g.outHeight + oy) * g.outWidth + ox);
    }
  }
}

export function maxPool2dU8Ref(x: Uint8Array, g: ConvGeometry): Uint8Array {
  const C = g.inChannels;
  const out = new Uint8Array(g.rows * C);
  eachWindow(g, (pixels, p) => {
    for (let c = 0; c < C; c++) out[p * C + c] = pixels.reduce((m, i) => Math.max(m, x[i * C + c]), 0);
  });
  return out;
}

/** v / count rounded half away from zero. */
export const roundedDivideRef = (v: number, count: number): number => Math.sign(v) * Math.floor((Math.abs(v) + (count >> 1)) / count);

export function avgPool2dQ8AccRef(x: Uint8Array, zeroPoint: number, g: ConvGeometry): Int32Array {
  const C = g.inChannels;
  const out = new Int32Array(g.rows * C);
  eachWindow(g, (pixels, p) => {
    for (let c = 0; c < C; c++) {
      const sum = pixels.reduce((s, i) => s + x[i * C + c] - zeroPoint, 0);
      out[p * C + c] = pixels.length === 0 ? 0 : roundedDivideRef(sum, pixels.length);
    }
  });
  return out;
}

export function addQ8AccRef(a: Uint8Array, zpA: number, kA: number, b: Uint8Array, zpB: number, kB: number): Int32Array {
  return Int32Array.from(a, (v, i) => kA * (v - zpA) + kB * (b[i] - zpB));
}
