// Reference twins of assembly/depthwise.ts, written as the definitions read, with the filter
// [kh, kw, C, M] as tfjs stores it and output channel c*M + m:
//   y[n, oy, ox, c*M + m] = sum over (ky, kx) of x[n, iy, ix, c] * f[ky, kx, c, m]
//   with iy = oy*sh - padTop + ky*dh, ix = ox*sw - padLeft + kx*dw, taps outside the input skipped
//   dx[n, iy, ix, c]  = sum over (oy, ox, ky, kx, m) reading (iy, ix) of dy[n, oy, ox, c*M + m] * f[ky, kx, c, m]
//   df[ky, kx, c, m]  = sum over (n, oy, ox) of x[n, iy, ix, c] * dy[n, oy, ox, c*M + m]
// Sums run in f64 and round once to f32.
import type { ConvGeometry } from "../conv-geometry.js";
import type { DepthwiseActivation } from "../depthwise.js";

/** Calls visit(n, oy, ox, ky, kx, iy, ix) for every tap that lies inside the input. */
function forEachTap(g: ConvGeometry, visit: (n: number, oy: number, ox: number, ky: number, kx: number, iy: number, ix: number) => void): void {
  for (let n = 0; n < g.batch; n++) {
    for (let oy = 0; oy < g.outHeight; oy++) {
      for (let ox = 0; ox < g.outWidth; ox++) {
        for (let ky = 0; ky < g.kernelHeight; ky++) {
          const iy = oy * g.strideHeight - g.padTop + ky * g.dilationHeight;
          if (iy < 0 || iy >= g.inHeight) continue;
          for (let kx = 0; kx < g.kernelWidth; kx++) {
            const ix = ox * g.strideWidth - g.padLeft + kx * g.dilationWidth;
            if (ix >= 0 && ix < g.inWidth) visit(n, oy, ox, ky, kx, iy, ix);
          }
        }
      }
    }
  }
}

const activate = (v: number, activation: DepthwiseActivation): number =>
  activation === "relu" ? Math.max(v, 0) : activation === "relu6" ? Math.min(Math.max(v, 0), 6) : v;

/** Depthwise convolution, then bias (C*M values) and activation when given. */
export function depthwiseConv2dRef(
  x: Float32Array, filter: Float32Array, g: ConvGeometry, multiplier: number,
  bias?: Float32Array, activation: DepthwiseActivation = "linear",
): Float32Array {
  const C = g.inChannels;
  const M = multiplier;
  const sums = new Float64Array(g.rows * C * M);
  forEachTap(g, (n, oy, ox, ky, kx, iy, ix) => {
    const out = ((n * g.outHeight + oy) * g.outWidth + ox) * C * M;
    const inp = ((n * g.inHeight + iy) * g.inWidth + ix) * C;
    const tap = (ky * g.kernelWidth + kx) * C * M;
    for (let c = 0; c < C; c++) {
      for (let m = 0; m < M; m++) sums[out + c * M + m] += x[inp + c] * filter[tap + c * M + m];
    }
  });
  const y = new Float32Array(sums.length);
  for (let i = 0; i < y.length; i++) y[i] = activate(Math.fround(sums[i]) + (bias ? bias[i % (C * M)] : 0), activation);
  return y;
}

/** Gradient of depthwiseConv2dRef (linear, no bias) with respect to x, given dy. */
export function depthwiseConv2dInputGradRef(dy: Float32Array, filter: Float32Array, g: ConvGeometry, multiplier: number): Float32Array {
  const C = g.inChannels;
  const M = multiplier;
  const sums = new Float64Array(g.batch * g.inHeight * g.inWidth * C);
  forEachTap(g, (n, oy, ox, ky, kx, iy, ix) => {
    const out = ((n * g.outHeight + oy) * g.outWidth + ox) * C * M;
    const inp = ((n * g.inHeight + iy) * g.inWidth + ix) * C;
    const tap = (ky * g.kernelWidth + kx) * C * M;
    for (let c = 0; c < C; c++) {
      for (let m = 0; m < M; m++) sums[inp + c] += dy[out + c * M + m] * filter[tap + c * M + m];
    }
  });
  return Float32Array.from(sums);
}

/** Gradient of depthwiseConv2dRef (linear, no bias) with respect to the filter, given dy. */
export function depthwiseConv2dFilterGradRef(x: Float32Array, dy: Float32Array, g: ConvGeometry, multiplier: number): Float32Array {
  const C = g.inChannels;
  const M = multiplier;
  const sums = new Float64Array(g.kernelHeight * g.kernelWidth * C * M);
  forEachTap(g, (n, oy, ox, ky, kx, iy, ix) => {
    const out = ((n * g.outHeight + oy) * g.outWidth + ox) * C * M;
    const inp = ((n * g.inHeight + iy) * g.inWidth + ix) * C;
    const tap = (ky * g.kernelWidth + kx) * C * M;
    for (let c = 0; c < C; c++) {
      for (let m = 0; m < M; m++) sums[tap + c * M + m] += x[inp + c] * dy[out + c * M + m];
    }
  });
  return Float32Array.from(sums);
}
