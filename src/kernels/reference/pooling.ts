// Reference twins of assembly/pooling.ts, written as the definitions read. The window of
// output (oy, ox) holds the input positions iy = oy*sh - padTop + ky, ix = ox*sw - padLeft + kx
// (0 <= ky < kh, 0 <= kx < kw) that lie inside the input:
//   max:      y = the first greatest value over the window (row-major; NaN never wins;
//             -Infinity when nothing is greater)
//   avg:      y = sum over the window / number of positions in it
//   max grad: dx[p] = sum of dy over the windows whose first greatest value is at p
//   avg grad: dx[p] = scale * sum of dy over the windows holding p
// Sums run in f64 and round once to f32.
import type { ConvGeometry } from "../conv-geometry.js";

/** Calls visit(n, oy, ox, positions) with the input pixel indices (n*H + iy)*W + ix of every window, row-major. */
function forEachWindow(g: ConvGeometry, visit: (out: number, positions: number[]) => void): void {
  for (let n = 0; n < g.batch; n++) {
    for (let oy = 0; oy < g.outHeight; oy++) {
      for (let ox = 0; ox < g.outWidth; ox++) {
        const positions: number[] = [];
        for (let ky = 0; ky < g.kernelHeight; ky++) {
          const iy = oy * g.strideHeight - g.padTop + ky;
          if (iy < 0 || iy >= g.inHeight) continue;
          for (let kx = 0; kx < g.kernelWidth; kx++) {
            const ix = ox * g.strideWidth - g.padLeft + kx;
            if (ix >= 0 && ix < g.inWidth) positions.push((n * g.inHeight + iy) * g.inWidth + ix);
          }
        }
        visit((n * g.outHeight + oy) * g.outWidth + ox, positions);
      }
    }
  }
}

/** Index into `positions` of the first value greater than all before it, or -1. */
function argMax(x: Float32Array, positions: number[], C: number, c: number): number {
  let best = -Infinity;
  let at = -1;
  positions.forEach((p, i) => {
    if (x[p * C + c] > best) {
      best = x[p * C + c];
      at = i;
    }
  });
  return at;
}

export function maxPool2dRef(x: Float32Array, g: ConvGeometry): Float32Array {
  const C = g.inChannels;
  const y = new Float32Array(g.rows * C);
  forEachWindow(g, (out, positions) => {
    for (let c = 0; c < C; c++) {
      const at = argMax(x, positions, C, c);
      y[out * C + c] = at < 0 ? -Infinity : x[positions[at] * C + c];
    }
  });
  return y;
}

export function avgPool2dRef(x: Float32Array, g: ConvGeometry): Float32Array {
  const C = g.inChannels;
  const y = new Float32Array(g.rows * C);
  forEachWindow(g, (out, positions) => {
    for (let c = 0; c < C; c++) {
      let sum = 0;
      for (const p of positions) sum += x[p * C + c];
      y[out * C + c] = sum / positions.length;
    }
  });
  return y;
}

export function maxPool2dGradRef(x: Float32Array, dy: Float32Array, g: ConvGeometry): Float32Array {
  const C = g.inChannels;
  const sums = new Float64Array(x.length);
  forEachWindow(g, (out, positions) => {
    for (let c = 0; c < C; c++) {
      const at = argMax(x, positions, C, c);
      if (at >= 0) sums[positions[at] * C + c] += dy[out * C + c];
    }
  });
  return Float32Array.from(sums);
}

export function avgPool2dGradRef(dy: Float32Array, g: ConvGeometry, scale = 1 / (g.kernelHeight * g.kernelWidth)): Float32Array {
  const C = g.inChannels;
  const sums = new Float64Array(g.batch * g.inHeight * g.inWidth * C);
  forEachWindow(g, (out, positions) => {
    for (const p of positions) {
      for (let c = 0; c < C; c++) sums[p * C + c] += dy[out * C + c];
    }
  });
  return Float32Array.from(sums, (s) => s * scale);
}
