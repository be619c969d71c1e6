// Element-wise arithmetic and sum reductions over f32 (what batch normalization and its
// gradient spend their time on in training). Binary ops come in three broadcast shapes:
//   ew_binary_f32         out[i] = a[i] op b[i]                      (same shape)
//   ew_binary_scalar_f32  out[i] = a[i] op s, or s op a[i] (swap)    (one side a scalar)
//   ew_binary_row_f32     out[r, c] = a[r, c] op row[c], or row[c] op a[r, c] (swap)
// Each exported function switches once on the operation code and every case runs a loop
// specialised for its operation, so the loops carry no per-element branch.
// Sums accumulate f32 lanes over blocks of SUM_BLOCK values and add each block into f64
// accumulators, which keeps the error of long sums near that of an f64 sum.

const OP_ADD = 0;
const OP_SUB = 1;
const OP_MUL = 2;
const OP_DIV = 3;
const OP_MAX = 4;
const OP_MIN = 5;
const OP_SQDIFF = 6;

const UN_RELU = 0;
const UN_RELU6 = 1;
const UN_NEG = 2;
const UN_SQUARE = 3;
const UN_SQRT = 4;
const UN_RSQRT = 5;
const UN_STEP = 6;
const UN_ABS = 7;

const SUM_BLOCK = 64;

// ---------------------------------------------------------------------------------------------
// binary ops: one class per operation; the loops take the class as a type parameter, so each
// instantiation inlines its own arithmetic (the classes are never instantiated: the loops call
// their methods on a null reference, which no method reads).

class Add {
  // @ts-ignore: decorator
  @inline v(x: v128, y: v128): v128 { return f32x4.add(x, y); }
  // @ts-ignore: decorator
  @inline s(x: f32, y: f32): f32 { return x + y; }
}
class Sub {
  // @ts-ignore: decorator
  @inline v(x: v128, y: v128): v128 { return f32x4.sub(x, y); }
  // @ts-ignore: decorator
  @inline s(x: f32, y: f32): f32 { return x - y; }
}
class Mul {
  // @ts-ignore: decorator
  @inline v(x: v128, y: v128): v128 { return f32x4.mul(x, y); }
  // @ts-ignore: decorator
  @inline s(x: f32, y: f32): f32 { return x * y; }
}
class Div {
  // @ts-ignore: decorator
  @inline v(x: v128, y: v128): v128 { return f32x4.div(x, y); }
  // @ts-ignore: decorator
  @inline s(x: f32, y: f32): f32 { return x / y; }
}
// f32.max/min and f32x4.max/min return NaN when either side is NaN, as Math.max/min do
class Max {
  // @ts-ignore: decorator
  @inline v(x: v128, y: v128): v128 { return f32x4.max(x, y); }
  // @ts-ignore: decorator
  @inline s(x: f32, y: f32): f32 { return max(x, y); }
}
class Min {
  // @ts-ignore: decorator
  @inline v(x: v128, y: v128): v128 { return f32x4.min(x, y); }
  // @ts-ignore: decorator
  @inline s(x: f32, y: f32): f32 { return min(x, y); }
}
class SquaredDifference {
  // @ts-ignore: decorator
  @inline v(x: v128, y: v128): v128 { const d = f32x4.sub(x, y); return f32x4.mul(d, d); }
  // @ts-ignore: decorator
  @inline s(x: f32, y: f32): f32 { const d = x - y; return d * d; }
}
/** O with its operands swapped: y op x. */
class Swapped<O> {
  // @ts-ignore: decorator
  @inline v(x: v128, y: v128): v128 { return changetype<O>(0).v(y, x); }
  // @ts-ignore: decorator
  @inline s(x: f32, y: f32): f32 { return changetype<O>(0).s(y, x); }
}

// @ts-ignore: decorator
@inline
function sameRun<O>(a: usize, b: usize, out: usize, n: i32): void {
  const op = changetype<O>(0);
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const off = <usize>i << 2;
    const pa = a + off;
    const pb = b + off;
    const po = out + off;
    v128.store(po, op.v(v128.load(pa), v128.load(pb)));
    v128.store(po, op.v(v128.load(pa, 16), v128.load(pb, 16)), 16);
    v128.store(po, op.v(v128.load(pa, 32), v128.load(pb, 32)), 32);
    v128.store(po, op.v(v128.load(pa, 48), v128.load(pb, 48)), 48);
  }
  for (; i + 4 <= n; i += 4) {
    const off = <usize>i << 2;
    v128.store(out + off, op.v(v128.load(a + off), v128.load(b + off)));
  }
  for (; i < n; i++) {
    const off = <usize>i << 2;
    store<f32>(out + off, op.s(load<f32>(a + off), load<f32>(b + off)));
  }
}

/** out[i] = a[i] op b[i] for i in [start, end). */
export function ew_binary_f32(op: i32, a: usize, b: usize, out: usize, start: i32, end: i32): void {
  const off = <usize>start << 2;
  const n = end - start;
  a += off;
  b += off;
  out += off;
  switch (op) {
    case OP_ADD: sameRun<Add>(a, b, out, n); break;
    case OP_SUB: sameRun<Sub>(a, b, out, n); break;
    case OP_MUL: sameRun<Mul>(a, b, out, n); break;
    case OP_DIV: sameRun<Div>(a, b, out, n); break;
    case OP_MAX: sameRun<Max>(a, b, out, n); break;
    case OP_MIN: sameRun<Min>(a, b, out, n); break;
    default: sameRun<SquaredDifference>(a, b, out, n); break;
  }
}

// @ts-ignore: decorator
@inline
function scalarRun<O>(a: usize, s: f32, out: usize, n: i32): void {
  const op = changetype<O>(0);
  const vs = f32x4.splat(s);
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const off = <usize>i << 2;
    const pa = a + off;
    const po = out + off;
    v128.store(po, op.v(v128.load(pa), vs));
    v128.store(po, op.v(v128.load(pa, 16), vs), 16);
    v128.store(po, op.v(v128.load(pa, 32), vs), 32);
    v128.store(po, op.v(v128.load(pa, 48), vs), 48);
  }
  for (; i + 4 <= n; i += 4) {
    const off = <usize>i << 2;
    v128.store(out + off, op.v(v128.load(a + off), vs));
  }
  for (; i < n; i++) {
    const off = <usize>i << 2;
    store<f32>(out + off, op.s(load<f32>(a + off), s));
  }
}

// @ts-ignore: decorator
@inline
function scalarEither<O>(swap: bool, a: usize, s: f32, out: usize, n: i32): void {
  if (swap) scalarRun<Swapped<O>>(a, s, out, n);
  else scalarRun<O>(a, s, out, n);
}

/** out[i] = a[i] op s (swap == 0) or s op a[i] (swap != 0) for i in [start, end). */
export function ew_binary_scalar_f32(op: i32, a: usize, s: f32, swap: i32, out: usize, start: i32, end: i32): void {
  const off = <usize>start << 2;
  const n = end - start;
  a += off;
  out += off;
  const sw = swap != 0;
  switch (op) {
    case OP_ADD: scalarEither<Add>(sw, a, s, out, n); break;
    case OP_SUB: scalarEither<Sub>(sw, a, s, out, n); break;
    case OP_MUL: scalarEither<Mul>(sw, a, s, out, n); break;
    case OP_DIV: scalarEither<Div>(sw, a, s, out, n); break;
    case OP_MAX: scalarEither<Max>(sw, a, s, out, n); break;
    case OP_MIN: scalarEither<Min>(sw, a, s, out, n); break;
    default: scalarEither<SquaredDifference>(sw, a, s, out, n); break;
  }
}

// @ts-ignore: decorator
@inline
function rowRun<O>(a: usize, row: usize, cols: i32, out: usize, rows: i32): void {
  const op = changetype<O>(0);
  const rowBytes = <usize>cols << 2;
  for (let r = 0; r < rows; r++) {
    let c = 0;
    for (; c + 16 <= cols; c += 16) {
      const off = <usize>c << 2;
      const pa = a + off;
      const pr = row + off;
      const po = out + off;
      v128.store(po, op.v(v128.load(pa), v128.load(pr)));
      v128.store(po, op.v(v128.load(pa, 16), v128.load(pr, 16)), 16);
      v128.store(po, op.v(v128.load(pa, 32), v128.load(pr, 32)), 32);
      v128.store(po, op.v(v128.load(pa, 48), v128.load(pr, 48)), 48);
    }
    for (; c + 4 <= cols; c += 4) {
      const off = <usize>c << 2;
      v128.store(out + off, op.v(v128.load(a + off), v128.load(row + off)));
    }
    for (; c < cols; c++) {
      const off = <usize>c << 2;
      store<f32>(out + off, op.s(load<f32>(a + off), load<f32>(row + off)));
    }
    a += rowBytes;
    out += rowBytes;
  }
}

// @ts-ignore: decorator
@inline
function rowEither<O>(swap: bool, a: usize, row: usize, cols: i32, out: usize, rows: i32): void {
  if (swap) rowRun<Swapped<O>>(a, row, cols, out, rows);
  else rowRun<O>(a, row, cols, out, rows);
}

/**
 * out[r, c] = a[r, c] op row[c] (swap == 0) or row[c] op a[r, c] (swap != 0) for the rows
 * [rowStart, rowEnd) of a [rows, cols] matrix.
 */
export function ew_binary_row_f32(op: i32, a: usize, row: usize, cols: i32, swap: i32, out: usize, rowStart: i32, rowEnd: i32): void {
  const off = <usize>rowStart * (<usize>cols << 2);
  const rows = rowEnd - rowStart;
  a += off;
  out += off;
  const sw = swap != 0;
  switch (op) {
    case OP_ADD: rowEither<Add>(sw, a, row, cols, out, rows); break;
    case OP_SUB: rowEither<Sub>(sw, a, row, cols, out, rows); break;
    case OP_MUL: rowEither<Mul>(sw, a, row, cols, out, rows); break;
    case OP_DIV: rowEither<Div>(sw, a, row, cols, out, rows); break;
    case OP_MAX: rowEither<Max>(sw, a, row, cols, out, rows); break;
    case OP_MIN: rowEither<Min>(sw, a, row, cols, out, rows); break;
    default: rowEither<SquaredDifference>(sw, a, row, cols, out, rows); break;
  }
}

// ---------------------------------------------------------------------------------------------
// unary ops (same scheme; alpha is step's value for x <= 0, unused by the others)

// Relu and Relu6 clamp with pmax/pmin (x < 0 ? 0 : x, then 6 < y ? 6 : y): one maxps/minps
// each on x86, where f32x4.max/min need a NaN- and signed-zero-exact sequence of several; a NaN
// x still gives NaN, as Math.max/min would, and -0 stays -0 (equal to 0).
class Relu {
  // @ts-ignore: decorator
  @inline v(x: v128, alpha: v128): v128 { return f32x4.pmax(x, f32x4.splat(0)); }
  // @ts-ignore: decorator
  @inline s(x: f32, alpha: f32): f32 { return x < 0 ? 0 : x; }
}
class Relu6 {
  // @ts-ignore: decorator
  @inline v(x: v128, alpha: v128): v128 { return clipF32x4(x, f32x4.splat(0), f32x4.splat(6)); }
  // @ts-ignore: decorator
  @inline s(x: f32, alpha: f32): f32 { return clipF32(x, 0, 6); }
}
class Neg {
  // @ts-ignore: decorator
  @inline v(x: v128, alpha: v128): v128 { return f32x4.neg(x); }
  // @ts-ignore: decorator
  @inline s(x: f32, alpha: f32): f32 { return -x; }
}
class Square {
  // @ts-ignore: decorator
  @inline v(x: v128, alpha: v128): v128 { return f32x4.mul(x, x); }
  // @ts-ignore: decorator
  @inline s(x: f32, alpha: f32): f32 { return x * x; }
}
class Sqrt {
  // @ts-ignore: decorator
  @inline v(x: v128, alpha: v128): v128 { return f32x4.sqrt(x); }
  // @ts-ignore: decorator
  @inline s(x: f32, alpha: f32): f32 { return sqrt(x); }
}
class Rsqrt {
  // @ts-ignore: decorator
  @inline v(x: v128, alpha: v128): v128 { return f32x4.div(f32x4.splat(1), f32x4.sqrt(x)); }
  // @ts-ignore: decorator
  @inline s(x: f32, alpha: f32): f32 { return 1 / sqrt(x); }
}
class Abs {
  // @ts-ignore: decorator
  @inline v(x: v128, alpha: v128): v128 { return f32x4.abs(x); }
  // @ts-ignore: decorator
  @inline s(x: f32, alpha: f32): f32 { return abs(x); }
}
/** 1 where x > 0, alpha where x <= 0, NaN where x is NaN. */
class Step {
  // @ts-ignore: decorator
  @inline v(x: v128, alpha: v128): v128 {
    const v = v128.bitselect(f32x4.splat(1), alpha, f32x4.gt(x, f32x4.splat(0)));
    return v128.bitselect(v, x, f32x4.eq(x, x));
  }
  // @ts-ignore: decorator
  @inline s(x: f32, alpha: f32): f32 { return x != x ? x : x > 0 ? 1 : alpha; }
}

/** dy·step(x): dy where x > 0, dy·0 where x <= 0, NaN where x is NaN (relu's gradient). */
class ReluGrad {
  // @ts-ignore: decorator
  @inline v(dy: v128, x: v128): v128 { return f32x4.mul(dy, changetype<Step>(0).v(x, f32x4.splat(0))); }
  // @ts-ignore: decorator
  @inline s(dy: f32, x: f32): f32 { return dy * changetype<Step>(0).s(x, 0); }
}

/**
 * out[i] = dy[i]·step(x[i]) for i in [start, end): relu's gradient in one pass over dy and x,
 * where tfjs runs step (one pass) and a multiply (another, over its output).
 */
export function ew_relu_grad_f32(dy: usize, x: usize, out: usize, start: i32, end: i32): void {
  const off = <usize>start << 2;
  sameRun<ReluGrad>(dy + off, x + off, out + off, end - start);
}

/**
 * min(max(v, lo), hi) as the pseudo min/max instructions compute it: v < lo gives lo, hi < v
 * gives hi, anything else (NaN, -0 with lo = 0) stays v; one maxps and one minps on x86. The
 * clamp of ClipByValue, and of a relu (lo 0) or relu6 (lo 0, hi 6) fused into another kernel.
 */
// @ts-ignore: decorator
@inline
export function clipF32x4(v: v128, lo: v128, hi: v128): v128 {
  return f32x4.pmin(f32x4.pmax(v, lo), hi);
}

/** clipF32x4 of one value. */
// @ts-ignore: decorator
@inline
export function clipF32(v: f32, lo: f32, hi: f32): f32 {
  const low = v < lo ? lo : v;
  return hi < low ? hi : low;
}

/**
 * out[i] = min(max(x[i], lo), hi) for i in [start, end), as tfjs's ClipByValue computes it:
 * x > hi gives hi, x < lo gives lo, anything else (NaN, -0 with lo = 0) stays x. The pseudo
 * min/max instructions are exactly those comparisons.
 */
export function ew_clip_f32(x: usize, lo: f32, hi: f32, out: usize, start: i32, end: i32): void {
  const off = <usize>start << 2;
  const n = end - start;
  x += off;
  out += off;
  const vlo = f32x4.splat(lo);
  const vhi = f32x4.splat(hi);
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const o = <usize>i << 2;
    v128.store(out + o, clipF32x4(v128.load(x + o), vlo, vhi));
    v128.store(out + o, clipF32x4(v128.load(x + o, 16), vlo, vhi), 16);
  }
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, clipF32x4(v128.load(x + o), vlo, vhi));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, clipF32(load<f32>(x + o), lo, hi));
  }
}

/**
 * out[i] = dy[i] where lo <= x[i] <= hi, else 0, for i in [start, end): ClipByValue's gradient
 * in one pass (tfjs: greaterEqual, lessEqual, logicalAnd, zerosLike and where). NaN x gives 0.
 */
export function ew_clip_grad_f32(dy: usize, x: usize, lo: f32, hi: f32, out: usize, start: i32, end: i32): void {
  const off = <usize>start << 2;
  const n = end - start;
  dy += off;
  x += off;
  out += off;
  const vlo = f32x4.splat(lo);
  const vhi = f32x4.splat(hi);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const v = v128.load(x + o);
    const inside = v128.and(f32x4.ge(v, vlo), f32x4.le(v, vhi));
    v128.store(out + o, v128.and(v128.load(dy + o), inside));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(x + o);
    store<f32>(out + o, v >= lo && v <= hi ? load<f32>(dy + o) : 0);
  }
}

// @ts-ignore: decorator
@inline
function unaryRun<O>(x: usize, alpha: f32, out: usize, n: i32): void {
  const op = changetype<O>(0);
  const va = f32x4.splat(alpha);
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const off = <usize>i << 2;
    const px = x + off;
    const po = out + off;
    v128.store(po, op.v(v128.load(px), va));
    v128.store(po, op.v(v128.load(px, 16), va), 16);
    v128.store(po, op.v(v128.load(px, 32), va), 32);
    v128.store(po, op.v(v128.load(px, 48), va), 48);
  }
  for (; i + 4 <= n; i += 4) {
    const off = <usize>i << 2;
    v128.store(out + off, op.v(v128.load(x + off), va));
  }
  for (; i < n; i++) {
    const off = <usize>i << 2;
    store<f32>(out + off, op.s(load<f32>(x + off), alpha));
  }
}

/** out[i] = f(x[i]) for i in [start, end). */
export function ew_unary_f32(op: i32, x: usize, alpha: f32, out: usize, start: i32, end: i32): void {
  const off = <usize>start << 2;
  const n = end - start;
  x += off;
  out += off;
  switch (op) {
    case UN_RELU: unaryRun<Relu>(x, alpha, out, n); break;
    case UN_RELU6: unaryRun<Relu6>(x, alpha, out, n); break;
    case UN_NEG: unaryRun<Neg>(x, alpha, out, n); break;
    case UN_SQUARE: unaryRun<Square>(x, alpha, out, n); break;
    case UN_SQRT: unaryRun<Sqrt>(x, alpha, out, n); break;
    case UN_RSQRT: unaryRun<Rsqrt>(x, alpha, out, n); break;
    case UN_ABS: unaryRun<Abs>(x, alpha, out, n); break;
    default: unaryRun<Step>(x, alpha, out, n); break;
  }
}

// ---------------------------------------------------------------------------------------------
// sums

// @ts-ignore: decorator
@inline
function lanesToF64(v: v128): f64 {
  const lo = f64x2.promote_low_f32x4(v);
  const hi = f64x2.promote_low_f32x4(v128.shuffle<u32>(v, v, 2, 3, 0, 1));
  const s = f64x2.add(lo, hi);
  return f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1);
}

/** The sum of x[start, end), accumulated in f32 blocks added into f64. */
function sumRange(x: usize, start: i32, end: i32): f64 {
  let total: f64 = 0;
  let i = start;
  while (i + 16 <= end) {
    const blockEnd = min(end, i + SUM_BLOCK * 4);
    let s0 = f32x4.splat(0);
    let s1 = f32x4.splat(0);
    let s2 = f32x4.splat(0);
    let s3 = f32x4.splat(0);
    for (; i + 16 <= blockEnd; i += 16) {
      const p = x + (<usize>i << 2);
      s0 = f32x4.add(s0, v128.load(p));
      s1 = f32x4.add(s1, v128.load(p, 16));
      s2 = f32x4.add(s2, v128.load(p, 32));
      s3 = f32x4.add(s3, v128.load(p, 48));
    }
    total += lanesToF64(f32x4.add(f32x4.add(s0, s1), f32x4.add(s2, s3)));
  }
  for (; i < end; i++) total += <f64>load<f32>(x + (<usize>i << 2));
  return total;
}

/** The sum of x[start, end), as f64 (the parts of a full reduction). */
export function ew_sum_f32(x: usize, start: i32, end: i32): f64 {
  return sumRange(x, start, end);
}

/** out[r] = scale * sum of row r of a [rows, cols] matrix, for r in [rowStart, rowEnd). */
export function ew_sum_rows_f32(x: usize, cols: i32, scale: f64, rowStart: i32, rowEnd: i32, out: usize): void {
  for (let r = rowStart; r < rowEnd; r++) {
    const base = x + <usize>r * (<usize>cols << 2);
    store<f32>(out + (<usize>r << 2), <f32>(sumRange(base, 0, cols) * scale));
  }
}

// @ts-ignore: decorator
@inline
function addF64(acc: usize, v: v128): void {
  v128.store(acc, f64x2.add(v128.load(acc), f64x2.promote_low_f32x4(v)));
  v128.store(acc, f64x2.add(v128.load(acc, 16), f64x2.promote_low_f32x4(v128.shuffle<u32>(v, v, 2, 3, 0, 1))), 16);
}

/**
 * Column sums of the rows [rowStart, rowEnd) of a [rows, cols] matrix, times scale:
 * out[c] = scale * sum over r of x[r, c], for c in [0, cols). `acc` is scratch for cols f64.
 */
export function ew_sum_columns_f32(x: usize, cols: i32, scale: f64, rowStart: i32, rowEnd: i32, acc: usize, out: usize): void {
  const rowBytes = <usize>cols << 2;
  for (let c = 0; c < cols; c++) store<f64>(acc + (<usize>c << 3), 0);
  let r = rowStart;
  while (r < rowEnd) {
    const blockEnd = min(rowEnd, r + SUM_BLOCK);
    const first = x + <usize>r * rowBytes;
    let c = 0;
    for (; c + 16 <= cols; c += 16) {
      let s0 = f32x4.splat(0);
      let s1 = f32x4.splat(0);
      let s2 = f32x4.splat(0);
      let s3 = f32x4.splat(0);
      let p = first + (<usize>c << 2);
      for (let i = r; i < blockEnd; i++) {
        s0 = f32x4.add(s0, v128.load(p));
        s1 = f32x4.add(s1, v128.load(p, 16));
        s2 = f32x4.add(s2, v128.load(p, 32));
        s3 = f32x4.add(s3, v128.load(p, 48));
        p += rowBytes;
      }
      const a = acc + (<usize>c << 3);
      addF64(a, s0);
      addF64(a + 32, s1);
      addF64(a + 64, s2);
      addF64(a + 96, s3);
    }
    for (; c + 4 <= cols; c += 4) {
      let s = f32x4.splat(0);
      let p = first + (<usize>c << 2);
      for (let i = r; i < blockEnd; i++) {
        s = f32x4.add(s, v128.load(p));
        p += rowBytes;
      }
      addF64(acc + (<usize>c << 3), s);
    }
    for (; c < cols; c++) {
      let s: f32 = 0;
      let p = first + (<usize>c << 2);
      for (let i = r; i < blockEnd; i++) {
        s += load<f32>(p);
        p += rowBytes;
      }
      const a = acc + (<usize>c << 3);
      store<f64>(a, load<f64>(a) + <f64>s);
    }
    r = blockEnd;
  }
  for (let c = 0; c < cols; c++) store<f32>(out + (<usize>c << 2), <f32>(load<f64>(acc + (<usize>c << 3)) * scale));
}

/** out[c] = sum over p of partials[p, c], for c in [colStart, colEnd): adds the parts' column sums. */
export function ew_sum_partials_f32(partials: usize, count: i32, cols: i32, colStart: i32, colEnd: i32, out: usize): void {
  for (let c = colStart; c < colEnd; c++) {
    let s: f64 = 0;
    for (let p = 0; p < count; p++) s += <f64>load<f32>(partials + ((<usize>p * <usize>cols + <usize>c) << 2));
    store<f32>(out + (<usize>c << 2), <f32>s);
  }
}
