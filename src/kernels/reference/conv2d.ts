// Reference twins of the training convolutions in ../conv2d.ts, written as the definitions
// read, as direct loops over NHWC tensors and HWIO weights, without im2col:
//   y[n, oy, ox, co]  = act(bias[co] + Σ_{ky,kx,c} x[n, iy, ix, c] · w[ky, kx, c, co])
//   dx[n, iy, ix, c]  = Σ_{oy,ox,ky,kx,co : iy = oy·sh - padTop + ky·dh, ...} dy[n, oy, ox, co] · w[ky, kx, c, co]
//   dw[ky, kx, c, co] = Σ_{n,oy,ox} x[n, iy, ix, c] · dy[n, oy, ox, co]
// with (iy, ix) outside the input contributing nothing. Sums run in f64 and round once.
import type { Activation, Epilogue } from "../conv2d.js";
import type { ConvGeometry } from "../conv-geometry.js";

/** The input pixel read by output (oy, ox) at tap (ky, kx), or undefined when it is padding. */
function tapInside(g: ConvGeometry, oy: number, ox: number, ky: number, kx: number): [number, number] | undefined {
  const iy = oy * g.strideHeight - g.padTop + ky * g.dilationHeight;
  const ix = ox * g.strideWidth - g.padLeft + kx * g.dilationWidth;
  return iy >= 0 && iy < g.inHeight && ix >= 0 && ix < g.inWidth ? [iy, ix] : undefined;
}

const xIndex = (g: ConvGeometry, n: number, iy: number, ix: number, c: number): number =>
  ((n * g.inHeight + iy) * g.inWidth + ix) * g.inChannels + c;
const yIndex = (g: ConvGeometry, n: number, oy: number, ox: number, co: number, outChannels: number): number =>
  ((n * g.outHeight + oy) * g.outWidth + ox) * outChannels + co;
const wIndex = (g: ConvGeometry, ky: number, kx: number, c: number, co: number, outChannels: number): number =>
  ((ky * g.kernelWidth + kx) * g.inChannels + c) * outChannels + co;

/** Visits every (n, oy, ox, ky, kx) whose tap lies inside the input, with that input pixel. */
function forEachTap(g: ConvGeometry, visit: (n: number, oy: number, ox: number, ky: number, kx: number, iy: number, ix: number) => void): void {
  for (let n = 0; n < g.batch; n++) {
    for (let oy = 0; oy < g.outHeight; oy++) {
      for (let ox = 0; ox < g.outWidth; ox++) {
        for (let ky = 0; ky < g.kernelHeight; ky++) {
          for (let kx = 0; kx < g.kernelWidth; kx++) {
            const pixel = tapInside(g, oy, ox, ky, kx);
            if (pixel) visit(n, oy, ox, ky, kx, pixel[0], pixel[1]);
          }
        }
      }
    }
  }
}

/** An activation as tfjs defines it; `slope` is the leakyrelu alpha or the prelu weight. */
export function activationRef(activation: Activation, v: number, slope: number): number {
  switch (activation) {
    case "linear": return v;
    case "relu": return Math.max(v, 0);
    case "relu6": return Math.min(Math.max(v, 0), 6);
    case "elu": return v >= 0 ? v : Math.exp(v) - 1;
    case "leakyrelu":
    case "prelu": return v < 0 ? slope * v : v;
    case "sigmoid": return 1 / (1 + Math.exp(-v));
  }
}

/** Forward convolution with bias and activation. */
export function conv2dForwardRef(x: Float32Array, w: Float32Array, g: ConvGeometry, outChannels: number, epilogue: Epilogue = {}): Float32Array {
  const sums = new Float64Array(g.rows * outChannels);
  forEachTap(g, (n, oy, ox, ky, kx, iy, ix) => {
    for (let c = 0; c < g.inChannels; c++) {
      const xv = x[xIndex(g, n, iy, ix, c)];
      for (let co = 0; co < outChannels; co++) sums[yIndex(g, n, oy, ox, co, outChannels)] += xv * w[wIndex(g, ky, kx, c, co, outChannels)];
    }
  });
  const at = (v: Float32Array | undefined, co: number): number => (v === undefined ? 0 : v.length === 1 ? v[0] : v[co]);
  const activation = epilogue.activation ?? "linear";
  return Float32Array.from(sums, (sum, i) => {
    const co = i % outChannels;
    const v = Math.fround(Math.fround(sum) + at(epilogue.bias, co));
    const slope = activation === "prelu" ? at(epilogue.preluWeights, co) : epilogue.leakyreluAlpha ?? 0.2;
    return activationRef(activation, v, slope);
  });
}

/** Gradient of the convolution's input. */
export function conv2dBackpropInputRef(dy: Float32Array, w: Float32Array, g: ConvGeometry, outChannels: number): Float32Array {
  const sums = new Float64Array(g.batch * g.inHeight * g.inWidth * g.inChannels);
  forEachTap(g, (n, oy, ox, ky, kx, iy, ix) => {
    for (let c = 0; c < g.inChannels; c++) {
      let sum = 0;
      for (let co = 0; co < outChannels; co++) sum += dy[yIndex(g, n, oy, ox, co, outChannels)] * w[wIndex(g, ky, kx, c, co, outChannels)];
      sums[xIndex(g, n, iy, ix, c)] += sum;
    }
  });
  return Float32Array.from(sums);
}

/** Gradient of the convolution's HWIO filter. */
export function conv2dBackpropFilterRef(x: Float32Array, dy: Float32Array, g: ConvGeometry, outChannels: number): Float32Array {
  const sums = new Float64Array(g.patchSize * outChannels);
  forEachTap(g, (n, oy, ox, ky, kx, iy, ix) => {
    for (let c = 0; c < g.inChannels; c++) {
      const xv = x[xIndex(g, n, iy, ix, c)];
      for (let co = 0; co < outChannels; co++) sums[wIndex(g, ky, kx, c, co, outChannels)] += xv * dy[yIndex(g, n, oy, ox, co, outChannels)];
    }
  });
  return Float32Array.from(sums);
}
