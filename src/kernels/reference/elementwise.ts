// Reference twins of assembly/elementwise.ts, written as the definitions read. Element-wise
// results round once to f32 (Math.fround of the f64 result equals the f32 operation for +, -,
// *, / and sqrt); sums run in f64 and round once.
import type { BinaryOp, SumAxis, UnaryOp } from "../elementwise.js";

const f = Math.fround;

/** x op y in f32; NaN wins in max and min. */
export function binaryScalarRef(op: BinaryOp, x: number, y: number): number {
  switch (op) {
    case "add": return f(x + y);
    case "sub": return f(x - y);
    case "mul": return f(x * y);
    case "div": return f(x / y);
    case "max": return Math.max(x, y);
    case "min": return Math.min(x, y);
    case "squaredDifference": {
      const d = f(x - y);
      return f(d * d);
    }
  }
}

export function unaryScalarRef(op: UnaryOp, x: number, alpha = 0): number {
  switch (op) {
    case "relu": return Number.isNaN(x) ? x : Math.max(x, 0);
    case "relu6": return Number.isNaN(x) ? x : Math.min(Math.max(x, 0), 6);
    case "neg": return -x;
    case "square": return f(x * x);
    case "sqrt": return f(Math.sqrt(x));
    case "rsqrt": return f(1 / f(Math.sqrt(x)));
    case "abs": return Math.abs(x);
    case "step": return Number.isNaN(x) ? x : x > 0 ? 1 : f(alpha);
  }
}

/** out[i] = a[i] op b[i]. */
export function binaryRef(op: BinaryOp, a: Float32Array, b: Float32Array): Float32Array {
  return a.map((x, i) => binaryScalarRef(op, x, b[i]));
}

/** out[i] = a[i] op s, or s op a[i] when scalarFirst. */
export function binaryScalarOpRef(op: BinaryOp, a: Float32Array, s: number, scalarFirst: boolean): Float32Array {
  const sf = f(s);
  return a.map((x) => (scalarFirst ? binaryScalarRef(op, sf, x) : binaryScalarRef(op, x, sf)));
}

/** out[r, c] = a[r, c] op row[c], or row[c] op a[r, c] when rowFirst. */
export function binaryRowRef(op: BinaryOp, a: Float32Array, row: Float32Array, rowFirst: boolean): Float32Array {
  return a.map((x, i) => {
    const y = row[i % row.length];
    return rowFirst ? binaryScalarRef(op, y, x) : binaryScalarRef(op, x, y);
  });
}

/** a as [blocks, rows, cols], row as [blocks, cols]: out[k, r, c] = a[k, r, c] op row[k, c] (swapped when rowFirst). */
export function binaryBlockRowRef(op: BinaryOp, a: Float32Array, row: Float32Array, blocks: number, rowFirst: boolean): Float32Array {
  const cols = row.length / blocks;
  const rows = a.length / row.length;
  return a.map((x, i) => {
    const y = row[Math.floor(i / (rows * cols)) * cols + (i % cols)];
    return rowFirst ? binaryScalarRef(op, y, x) : binaryScalarRef(op, x, y);
  });
}

export function unaryRef(op: UnaryOp, x: Float32Array, alpha = 0): Float32Array {
  return x.map((v) => unaryScalarRef(op, v, alpha));
}

/** Relu's gradient dy·step(x), as tfjs composes it. */
export function reluGradRef(dy: Float32Array, x: Float32Array): Float32Array {
  return dy.map((d, i) => binaryScalarRef("mul", d, unaryScalarRef("step", x[i])));
}

/** x clipped to [lo, hi] as tfjs's cpu ClipByValue writes it: hi above, lo below, x otherwise (NaN, -0). */
export function clipRef(x: Float32Array, lo: number, hi: number): Float32Array {
  const [l, h] = [f(lo), f(hi)];
  return x.map((v) => (v > h ? h : v < l ? l : v));
}

/** ClipByValue's gradient as tfjs composes it: where(x >= lo and x <= hi, dy, 0). */
export function clipGradRef(dy: Float32Array, x: Float32Array, lo: number, hi: number): Float32Array {
  const [l, h] = [f(lo), f(hi)];
  return dy.map((d, i) => (x[i] >= l && x[i] <= h ? d : 0));
}

/** scale * the sums of a [rows, cols] matrix over its rows ([cols]), its columns ([rows]) or all of it ([1]). */
export function sumRef(x: Float32Array, rows: number, cols: number, over: SumAxis, scale = 1): Float32Array {
  const out = new Float64Array(over === "rows" ? cols : over === "columns" ? rows : 1);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) out[over === "rows" ? c : over === "columns" ? r : 0] += x[r * cols + c];
  }
  return Float32Array.from(out, (s) => s * scale);
}

/** scale * the sums over the middle axis of [blocks, rows, cols]: out [blocks, cols]. */
export function sumMiddleRef(x: Float32Array, blocks: number, rows: number, cols: number, scale = 1): Float32Array {
  const out = new Float64Array(blocks * cols);
  for (let k = 0; k < blocks; k++) {
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[k * cols + c] += x[(k * rows + r) * cols + c];
  }
  return Float32Array.from(out, (s) => s * scale);
}
