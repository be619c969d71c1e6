// LASSO channel selection and least-squares reconstruction (He et al. 2017): the Gram system
// of a row-major design, coordinate descent on it, and a Cholesky solve with a ridge fallback.
//
// Gram: G = XᵀX and C = XᵀY are sums of n outer products. X is first packed into 8-column
// panels (one O(np) pass, split by rows), so that the micro-kernel streams both of its
// operands from contiguous 32-byte steps instead of striding down the rows of X (measured
// ~20% faster at 4096×512). A call then owns the column block [colStart, colEnd) of the
// symmetric G: it computes rows colStart.. of the upper triangle and mirrors them into the
// columns of the block, so calls over different blocks write disjoint memory and can run on
// different threads. The 4-row × 8-column register tile keeps 8 f32x4 accumulators plus the
// operands inside the 16 SIMD registers of x86. Rows are consumed in chunks small enough to
// stay in L2; each chunk's partial sums are added to G once, so an entry sums
// `chunk + n/chunk` f32 roundings instead of n (blockwise accumulation).
//
// Coordinate descent and Cholesky work in f64: the solution of a LASSO path or of a
// near-singular system loses digits that f32 cannot spare. G stays f32 in memory (half the
// bytes per sweep) and is promoted lane by lane.
import { axpyF64, dotF64 } from "./f64-vector";

// ---------------------------------------------------------------- Gram matrix

/** Rows of X per chunk: about 256 KiB of packed X, within 16..256 rows. */
// @ts-ignore: decorator
@inline
function chunkRows(p: i32): i32 {
  return max(16, min(256, 65536 / max(panelCols(p), 8)));
}

/** Columns rounded up to whole 8-column panels. */
// @ts-ignore: decorator
@inline
function panelCols(p: i32): i32 {
  return (p + 7) & ~7;
}

/** Bytes of packed X for gram_f32_pack: n rows of p columns padded to panels of 8. */
export function gram_f32_packed_bytes(n: i32, p: i32): usize {
  return (<usize>n * <usize>panelCols(p)) << 2;
}

/**
 * Packs rows [rowStart, rowEnd) of X (n×p, row-major) for gram_f32. Packed X is a sequence
 * of row chunks; inside a chunk, panel q holds columns 8q..8q+7 of each row in turn
 * (32 bytes a row, zero-padded past p). A 4-column group of G's rows and an 8-column
 * group of its columns are then both read from contiguous 32-byte steps.
 */
export function gram_f32_pack(x: usize, n: i32, p: i32, rowStart: i32, rowEnd: i32, packed: usize): void {
  const chunk = chunkRows(p);
  const panels = panelCols(p) >> 3;
  const full = p >> 3;
  const tail = p & 7;
  for (let i = rowStart; i < rowEnd; i++) {
    const c = i / chunk;
    const r = i - c * chunk;
    const rows = min(chunk, n - c * chunk);
    let dst = packed + <usize>c * <usize>chunk * <usize>panels * 32 + (<usize>r << 5);
    const panelBytes = <usize>rows << 5;
    let src = x + ((<usize>i * <usize>p) << 2);
    for (let q = 0; q < full; q++) {
      v128.store(dst, v128.load(src));
      v128.store(dst, v128.load(src, 16), 16);
      dst += panelBytes;
      src += 32;
    }
    if (tail > 0) {
      v128.store(dst, f32x4.splat(0));
      v128.store(dst, f32x4.splat(0), 16);
      for (let k = 0; k < tail; k++) store<f32>(dst + (<usize>k << 2), load<f32>(src + (<usize>k << 2)));
    }
  }
}

// @ts-ignore: decorator
@inline
function laneF32(v: v128, l: i32): f32 {
  return l == 0 ? f32x4.extract_lane(v, 0) : l == 1 ? f32x4.extract_lane(v, 1) : l == 2 ? f32x4.extract_lane(v, 2) : f32x4.extract_lane(v, 3);
}

/** out[k] += lanes 0..count-1 of v (an edge tile: fewer than 4 valid columns). */
function addLanes(out: usize, v: v128, count: i32): void {
  if (count >= 4) {
    v128.store(out, f32x4.add(v128.load(out), v));
    return;
  }
  for (let l = 0; l < count; l++) store<f32>(out + (<usize>l << 2), load<f32>(out + (<usize>l << 2)) + laneF32(v, l));
}

/** Adds the 4×8 tile (rows r < rows, columns < cols) into out (row stride outStep bytes). */
// @ts-ignore: decorator
@inline
function addTile(
  out: usize, outStep: usize, rows: i32, cols: i32,
  a00: v128, a01: v128, a10: v128, a11: v128, a20: v128, a21: v128, a30: v128, a31: v128,
): void {
  const lo = min(cols, 4);
  const hi = cols - lo;
  addLanes(out, a00, lo);
  if (hi > 0) addLanes(out + 16, a01, hi);
  if (rows > 1) {
    addLanes(out + outStep, a10, lo);
    if (hi > 0) addLanes(out + outStep + 16, a11, hi);
  }
  if (rows > 2) {
    addLanes(out + 2 * outStep, a20, lo);
    if (hi > 0) addLanes(out + 2 * outStep + 16, a21, hi);
  }
  if (rows > 3) {
    addLanes(out + 3 * outStep, a30, lo);
    if (hi > 0) addLanes(out + 3 * outStep + 16, a31, hi);
  }
}

/**
 * G[j + r][k] += Σ_i X[i][j + r] · X[i][k] over one packed chunk, for r < 4 (rows < p) and
 * the panels from j's own on. A column group starts on a multiple of 4, so its 4 values sit in
 * one half of a panel row and load as 4 broadcasts; the 8 columns of a panel are 2 vectors.
 */
function gramRows4(chunk: usize, rows: i32, p: i32, j: i32, g: usize): void {
  const panelBytes = <usize>rows << 5;
  const panels = panelCols(p) >> 3;
  const aCol = chunk + <usize>(j >> 3) * panelBytes + (<usize>(j & 7) << 2);
  const validRows = min(4, p - j);
  const outStep = <usize>p << 2;
  for (let q = j >> 3; q < panels; q++) {
    let a00 = f32x4.splat(0), a01 = f32x4.splat(0), a10 = f32x4.splat(0), a11 = f32x4.splat(0);
    let a20 = f32x4.splat(0), a21 = f32x4.splat(0), a30 = f32x4.splat(0), a31 = f32x4.splat(0);
    let pa = aCol;
    let pb = chunk + <usize>q * panelBytes;
    for (let i = 0; i < rows; i++) {
      const b0 = v128.load(pb);
      const b1 = v128.load(pb, 16);
      let s = v128.load32_splat(pa);
      a00 = f32x4.add(a00, f32x4.mul(s, b0));
      a01 = f32x4.add(a01, f32x4.mul(s, b1));
      s = v128.load32_splat(pa, 4);
      a10 = f32x4.add(a10, f32x4.mul(s, b0));
      a11 = f32x4.add(a11, f32x4.mul(s, b1));
      s = v128.load32_splat(pa, 8);
      a20 = f32x4.add(a20, f32x4.mul(s, b0));
      a21 = f32x4.add(a21, f32x4.mul(s, b1));
      s = v128.load32_splat(pa, 12);
      a30 = f32x4.add(a30, f32x4.mul(s, b0));
      a31 = f32x4.add(a31, f32x4.mul(s, b1));
      pa += 32;
      pb += 32;
    }
    const k = q << 3;
    addTile(g + <usize>j * outStep + (<usize>k << 2), outStep, validRows, min(8, p - k), a00, a01, a10, a11, a20, a21, a30, a31);
  }
}

/**
 * C[j + r][t] += Σ_i X[i][j + r] · Y[i][t] over one packed chunk of X and the matching rows
 * of Y (row-major, m columns), for r < 4 (rows < p).
 */
function crossRows4(chunk: usize, rows: i32, p: i32, j: i32, y: usize, m: i32, xty: usize): void {
  const panelBytes = <usize>rows << 5;
  const aCol = chunk + <usize>(j >> 3) * panelBytes + (<usize>(j & 7) << 2);
  const validRows = min(4, p - j);
  const yStep = <usize>m << 2;
  const out = xty + <usize>j * yStep;
  let t = 0;
  for (; t + 8 <= m; t += 8) {
    let a00 = f32x4.splat(0), a01 = f32x4.splat(0), a10 = f32x4.splat(0), a11 = f32x4.splat(0);
    let a20 = f32x4.splat(0), a21 = f32x4.splat(0), a30 = f32x4.splat(0), a31 = f32x4.splat(0);
    let pa = aCol;
    let pb = y + (<usize>t << 2);
    for (let i = 0; i < rows; i++) {
      const b0 = v128.load(pb);
      const b1 = v128.load(pb, 16);
      let s = v128.load32_splat(pa);
      a00 = f32x4.add(a00, f32x4.mul(s, b0));
      a01 = f32x4.add(a01, f32x4.mul(s, b1));
      s = v128.load32_splat(pa, 4);
      a10 = f32x4.add(a10, f32x4.mul(s, b0));
      a11 = f32x4.add(a11, f32x4.mul(s, b1));
      s = v128.load32_splat(pa, 8);
      a20 = f32x4.add(a20, f32x4.mul(s, b0));
      a21 = f32x4.add(a21, f32x4.mul(s, b1));
      s = v128.load32_splat(pa, 12);
      a30 = f32x4.add(a30, f32x4.mul(s, b0));
      a31 = f32x4.add(a31, f32x4.mul(s, b1));
      pa += 32;
      pb += yStep;
    }
    addTile(out + (<usize>t << 2), yStep, validRows, 8, a00, a01, a10, a11, a20, a21, a30, a31);
  }
  // Remaining targets one at a time (all of them when m < 8): the 4 rows are the lanes.
  for (; t < m; t++) {
    let acc = f32x4.splat(0);
    let pa = aCol;
    let pb = y + (<usize>t << 2);
    for (let i = 0; i < rows; i++) {
      acc = f32x4.add(acc, f32x4.mul(v128.load(pa), v128.load32_splat(pb)));
      pa += 32;
      pb += yStep;
    }
    const o = out + (<usize>t << 2);
    for (let r = 0; r < validRows; r++) {
      const at = o + <usize>r * yStep;
      store<f32>(at, load<f32>(at) + laneF32(acc, r));
    }
  }
}

/**
 * Column block [colStart, colEnd) of G = XᵀX (p×p, f32, row-major) and rows [colStart, colEnd)
 * of C = XᵀY (p×m), from X packed by gram_f32_pack and Y (n×m, row-major; m = 0 skips C).
 * Writes rows colStart..colEnd-1 of G from column colStart on, and columns colStart..colEnd-1
 * below them, so calls over different blocks never overlap. Blocks start on multiples of 8
 * (a panel), or the row tiles would reach into the previous block's columns.
 */
export function gram_f32(
  packed: usize, n: i32, p: i32, y: usize, m: i32, colStart: i32, colEnd: i32, g: usize, xty: usize,
): void {
  const rowBytes = <usize>p << 2;
  for (let j = colStart; j < colEnd; j++) {
    memory.fill(g + <usize>j * rowBytes + (<usize>colStart << 2), 0, <usize>(p - colStart) << 2);
  }
  if (m > 0) memory.fill(xty + ((<usize>colStart * <usize>m) << 2), 0, (<usize>(colEnd - colStart) * <usize>m) << 2);
  const chunk = chunkRows(p);
  const chunkBytes = (<usize>chunk * <usize>panelCols(p)) << 2;
  let xc = packed;
  for (let i0 = 0; i0 < n; i0 += chunk) {
    const rows = min(chunk, n - i0);
    const yc = y + ((<usize>i0 * <usize>m) << 2);
    for (let j = colStart; j < colEnd; j += 4) {
      gramRows4(xc, rows, p, j, g);
      if (m > 0) crossRows4(xc, rows, p, j, yc, m, xty);
    }
    xc += chunkBytes;
  }
  // Mirror the block's upper rows into its columns (this also fills the lower part of the
  // diagonal block, which the row tiles only partly computed).
  for (let j = colStart; j < colEnd; j++) {
    const row = g + <usize>j * rowBytes;
    for (let k = j + 1; k < p; k++) {
      store<f32>(g + <usize>k * rowBytes + (<usize>j << 2), load<f32>(row + (<usize>k << 2)));
    }
  }
}

// ---------------------------------------------------------------- input checks

/** Number of NaN and ±Infinity values among n f32 at x: x − x is NaN exactly for those. */
export function count_nonfinite_f32(x: usize, n: i32): i32 {
  let bad = i32x4.splat(0);
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const a = v128.load(x + (<usize>i << 2));
    const b = v128.load(x + (<usize>i << 2), 16);
    const da = f32x4.sub(a, a);
    const db = f32x4.sub(b, b);
    bad = i32x4.sub(i32x4.sub(bad, f32x4.ne(da, da)), f32x4.ne(db, db));
  }
  let count = i32x4.extract_lane(bad, 0) + i32x4.extract_lane(bad, 1) + i32x4.extract_lane(bad, 2) + i32x4.extract_lane(bad, 3);
  for (; i < n; i++) {
    const v = load<f32>(x + (<usize>i << 2));
    if (v - v != 0) count++;
  }
  return count;
}

// ---------------------------------------------------------------- LASSO (coordinate descent)

/** h[k] += d · row[k] for k < p: h f64, row f32 (a row of G, which is also its column). */
function axpyRowF64(h: usize, row: usize, p: i32, d: f64): void {
  const dv = f64x2.splat(d);
  let k = 0;
  for (; k + 8 <= p; k += 8) {
    const g0 = v128.load(row + (<usize>k << 2));
    const g1 = v128.load(row + (<usize>k << 2), 16);
    const ph = h + (<usize>k << 3);
    v128.store(ph, f64x2.add(v128.load(ph), f64x2.mul(dv, f64x2.promote_low_f32x4(g0))));
    v128.store(ph, f64x2.add(v128.load(ph, 16), f64x2.mul(dv, f64x2.promote_low_f32x4(v128.shuffle<f32>(g0, g0, 2, 3, 2, 3)))), 16);
    v128.store(ph, f64x2.add(v128.load(ph, 32), f64x2.mul(dv, f64x2.promote_low_f32x4(g1))), 32);
    v128.store(ph, f64x2.add(v128.load(ph, 48), f64x2.mul(dv, f64x2.promote_low_f32x4(v128.shuffle<f32>(g1, g1, 2, 3, 2, 3)))), 48);
  }
  for (; k < p; k++) {
    const ph = h + (<usize>k << 3);
    store<f64>(ph, load<f64>(ph) + d * <f64>load<f32>(row + (<usize>k << 2)));
  }
}

/**
 * Duality gap of ½‖y − Xβ‖² + l1‖β‖₁ (the objective times n) from G, c = Xᵀy, yᵀy and
 * h = Gβ, with the dual point rescaled into the feasible set (as sklearn's cd_fast does).
 */
function dualityGap(xty: usize, p: i32, yty: f64, l1: f64, nonNegative: i32, beta: usize, h: usize): f64 {
  let betaC = 0.0;
  let betaH = 0.0;
  let l1Norm = 0.0;
  let dualNorm = 0.0;
  for (let k = 0; k < p; k++) {
    const b = load<f64>(beta + (<usize>k << 3));
    const hk = load<f64>(h + (<usize>k << 3));
    const ck = <f64>load<f32>(xty + (<usize>k << 2));
    betaC += b * ck;
    betaH += b * hk;
    l1Norm += abs<f64>(b);
    const corr = ck - hk; // Xᵀ(y − Xβ)
    const bound = nonNegative ? corr : abs<f64>(corr);
    if (bound > dualNorm) dualNorm = bound;
  }
  const residual2 = yty - 2 * betaC + betaH;
  let scale = 1.0;
  let gap = residual2;
  if (dualNorm > l1) {
    scale = l1 / dualNorm;
    gap = 0.5 * residual2 * (1 + scale * scale);
  }
  return gap + l1 * l1Norm - scale * (yty - betaC);
}

/**
 * Cyclic coordinate descent for min (1/(2n))‖y − Xβ‖² + α‖β‖₁ on G = XᵀX (p×p f32),
 * c = Xᵀy (f32[p]) and yᵀy, with β ≥ 0 when nonNegative != 0. beta (f64[p]) holds the warm
 * start and receives the solution; gramBeta is f64[p] scratch for Gβ, kept up to date with one
 * axpy over a row of G per changed coordinate. Stops as sklearn does: when the largest
 * coordinate change falls below tol × max|β|, the duality gap must also be below tol · yᵀy
 * (objective × n units). stats (f64[2]) receives the final gap in objective units and 1 when
 * converged. Returns the number of sweeps.
 */
export function lasso_cd_gram_f32(
  gram: usize, xty: usize, p: i32, samples: f64, alpha: f64, yty: f64, nonNegative: i32,
  tol: f64, maxIter: i32, beta: usize, gramBeta: usize, stats: usize,
): i32 {
  const rowBytes = <usize>p << 2;
  const l1 = alpha * samples;
  const gapTol = tol * yty;
  memory.fill(gramBeta, 0, <usize>p << 3);
  for (let j = 0; j < p; j++) {
    const b = load<f64>(beta + (<usize>j << 3));
    if (b != 0) axpyRowF64(gramBeta, gram + <usize>j * rowBytes, p, b);
  }
  let gap = Infinity;
  let converged = 0;
  let sweeps = 0;
  while (sweeps < maxIter) {
    let maxChange = 0.0;
    let maxAbs = 0.0;
    for (let j = 0; j < p; j++) {
      const row = gram + <usize>j * rowBytes;
      const pb = beta + (<usize>j << 3);
      const gjj = <f64>load<f32>(row + (<usize>j << 2));
      const old = load<f64>(pb);
      let next = 0.0;
      if (gjj > 0) {
        // ρ = c_j − (Gβ)_j + G_jj β_j: the correlation of column j with the partial residual
        const rho = <f64>load<f32>(xty + (<usize>j << 2)) - load<f64>(gramBeta + (<usize>j << 3)) + gjj * old;
        if (rho > l1) next = (rho - l1) / gjj;
        else if (rho < -l1 && !nonNegative) next = (rho + l1) / gjj;
      }
      if (next != old) {
        axpyRowF64(gramBeta, row, p, next - old);
        store<f64>(pb, next);
        const change = abs<f64>(next - old);
        if (change > maxChange) maxChange = change;
      }
      const size = abs<f64>(next);
      if (size > maxAbs) maxAbs = size;
    }
    sweeps++;
    if (maxAbs == 0 || maxChange / maxAbs < tol || sweeps == maxIter) {
      gap = dualityGap(xty, p, yty, l1, nonNegative, beta, gramBeta);
      if (gap <= gapTol) {
        converged = 1;
        break;
      }
    }
  }
  store<f64>(stats, gap / samples);
  store<f64>(stats, <f64>converged, 8);
  return sweeps;
}

// ---------------------------------------------------------------- least squares (Cholesky)

/** Pivots below this fraction of the largest diagonal are rounding noise of an f32 Gram matrix. */
const PIVOT_EPS: f64 = 1.1920928955078125e-7; // 2^-23, f32 epsilon
const RIDGE_START: f64 = 1e-10;
const MAX_RIDGE_TRIES = 40;

/**
 * Row-by-row Cholesky G + ridge·I = L Lᵀ into factor (f64 p×p, lower triangle, rows contiguous
 * so every inner product is a contiguous SIMD dot). Returns false at the first pivot that is
 * not above threshold.
 */
function choleskyF64(gram: usize, p: i32, ridge: f64, threshold: f64, factor: usize): bool {
  const rowBytes = <usize>p << 3;
  for (let i = 0; i < p; i++) {
    const li = factor + <usize>i * rowBytes;
    const gi = gram + ((<usize>i * <usize>p) << 2);
    for (let j = 0; j < i; j++) {
      const lj = factor + <usize>j * rowBytes;
      const s = <f64>load<f32>(gi + (<usize>j << 2)) - dotF64(li, lj, j);
      store<f64>(li + (<usize>j << 3), s / load<f64>(lj + (<usize>j << 3)));
    }
    const pivot = <f64>load<f32>(gi + (<usize>i << 2)) + ridge - dotF64(li, li, i);
    if (!(pivot > threshold)) return false;
    store<f64>(li + (<usize>i << 3), sqrt<f64>(pivot));
  }
  return true;
}

/** Solves L Lᵀ W = B in place in work (f64 p×m): forward, then backward substitution. */
function solveFactored(factor: usize, p: i32, m: i32, work: usize): void {
  const rowBytes = <usize>p << 3;
  const rhsBytes = <usize>m << 3;
  for (let i = 0; i < p; i++) {
    const li = factor + <usize>i * rowBytes;
    const zi = work + <usize>i * rhsBytes;
    for (let k = 0; k < i; k++) axpyF64(zi, work + <usize>k * rhsBytes, m, -load<f64>(li + (<usize>k << 3)));
    scaleF64(zi, m, 1 / load<f64>(li + (<usize>i << 3)));
  }
  for (let i = p - 1; i >= 0; i--) {
    const wi = work + <usize>i * rhsBytes;
    for (let k = i + 1; k < p; k++) {
      axpyF64(wi, work + <usize>k * rhsBytes, m, -load<f64>(factor + <usize>k * rowBytes + (<usize>i << 3)));
    }
    scaleF64(wi, m, 1 / load<f64>(factor + <usize>i * rowBytes + (<usize>i << 3)));
  }
}

function scaleF64(v: usize, len: i32, s: f64): void {
  for (let k = 0; k < len; k++) store<f64>(v + (<usize>k << 3), load<f64>(v + (<usize>k << 3)) * s);
}

/**
 * Solves (G + λI) W = B for W (p×m, f32 out) with G (p×p f32, symmetric) and B = XᵀY (p×m
 * f32). λ starts at `ridge`; whenever a pivot is at most PIVOT_EPS × max diag(G) the matrix is
 * taken as singular and λ grows (first to 1e-10·trace/p, then ×10). factor is f64[p·p] and
 * work f64[p·m] scratch. Returns the λ used, or -1 when no λ made it factor.
 */
export function cholesky_solve_f32(
  gram: usize, rhs: usize, p: i32, m: i32, ridge: f64, out: usize, factor: usize, work: usize,
): f64 {
  let maxDiag = 0.0;
  let trace = 0.0;
  for (let i = 0; i < p; i++) {
    const d = <f64>load<f32>(gram + ((<usize>i * <usize>(p + 1)) << 2));
    trace += d;
    if (d > maxDiag) maxDiag = d;
  }
  const threshold = PIVOT_EPS * maxDiag;
  const base = trace > 0 ? trace / p : 1.0;
  let lambda = ridge;
  let tries = 0;
  while (!choleskyF64(gram, p, lambda, threshold, factor)) {
    if (++tries > MAX_RIDGE_TRIES) return -1;
    lambda = lambda > 0 ? lambda * 10 : RIDGE_START * base;
  }
  const total = p * m;
  for (let k = 0; k < total; k++) store<f64>(work + (<usize>k << 3), <f64>load<f32>(rhs + (<usize>k << 2)));
  solveFactored(factor, p, m, work);
  for (let k = 0; k < total; k++) store<f32>(out + (<usize>k << 2), <f32>load<f64>(work + (<usize>k << 3)));
  return lambda;
}
