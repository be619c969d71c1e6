// Cholesky factorization A + λI = L Lᵀ and its triangular solves, f64, for the small dense
// symmetric positive-definite systems of the Gaussian-process optimizer (kernel matrices of a
// few hundred trials at most). f64 because a GP kernel matrix with near-zero noise has a
// condition number far beyond f32's 2^24. Rows of L are contiguous, so every inner product of
// the factorization and every update of the solves is a contiguous f64x2 loop with a scalar tail.
import { axpyF64, dotF64 } from "./f64-vector";

/** Pivots at or below this fraction of the largest diagonal are rounding noise of an f64 sum. */
const PIVOT_EPS: f64 = 1e-13;
/** First jitter tried when A itself does not factor, relative to its mean diagonal. */
const JITTER_START: f64 = 1e-10;
const MAX_JITTER_TRIES = 30;

/** v[k] *= s for k < len. */
function scaleRowF64(v: usize, len: i32, s: f64): void {
  for (let k = 0; k < len; k++) store<f64>(v + (<usize>k << 3), load<f64>(v + (<usize>k << 3)) * s);
}

/**
 * Row-by-row factorization of A + jitter·I (A read from its lower triangle) into factor, with
 * the strict upper triangle zeroed. False at the first pivot not above threshold.
 */
function factorRowsF64(a: usize, n: i32, jitter: f64, threshold: f64, factor: usize): bool {
  const rowBytes = <usize>n << 3;
  for (let i = 0; i < n; i++) {
    const li = factor + <usize>i * rowBytes;
    const ai = a + <usize>i * rowBytes;
    for (let j = 0; j < i; j++) {
      const lj = factor + <usize>j * rowBytes;
      const s = load<f64>(ai + (<usize>j << 3)) - dotF64(li, lj, j);
      store<f64>(li + (<usize>j << 3), s / load<f64>(lj + (<usize>j << 3)));
    }
    const pivot = load<f64>(ai + (<usize>i << 3)) + jitter - dotF64(li, li, i);
    if (!(pivot > threshold)) return false;
    store<f64>(li + (<usize>i << 3), sqrt<f64>(pivot));
    memory.fill(li + (<usize>(i + 1) << 3), 0, <usize>(n - i - 1) << 3);
  }
  return true;
}

/**
 * L with L Lᵀ = A + λI for A (f64 n×n, symmetric, row-major; only the lower triangle is read)
 * into factor (f64 n×n). λ starts at `jitter`; when a pivot is at most 1e-13 × max diag(A) the
 * matrix is taken as not positive definite and λ grows (first to 1e-10 · trace/n, then ×10).
 * Returns the λ used, or -1 when no λ made it factor.
 */
export function cholesky_f64(a: usize, n: i32, jitter: f64, factor: usize): f64 {
  let maxDiag = 0.0;
  let trace = 0.0;
  for (let i = 0; i < n; i++) {
    const d = load<f64>(a + ((<usize>i * <usize>(n + 1)) << 3));
    trace += d;
    if (d > maxDiag) maxDiag = d;
  }
  const threshold = PIVOT_EPS * maxDiag;
  const base = trace > 0 ? trace / n : 1.0;
  let lambda = jitter;
  let tries = 0;
  while (!factorRowsF64(a, n, lambda, threshold, factor)) {
    if (++tries > MAX_JITTER_TRIES) return -1;
    lambda = lambda > 0 ? lambda * 10 : JITTER_START * base;
  }
  return lambda;
}

/** Solves L Z = B in place (b: f64 n×m, row-major): forward substitution, rows as vectors. */
export function solve_lower_f64(factor: usize, n: i32, b: usize, m: i32): void {
  const rowBytes = <usize>n << 3;
  const rhsBytes = <usize>m << 3;
  for (let i = 0; i < n; i++) {
    const li = factor + <usize>i * rowBytes;
    const zi = b + <usize>i * rhsBytes;
    for (let k = 0; k < i; k++) axpyF64(zi, b + <usize>k * rhsBytes, m, -load<f64>(li + (<usize>k << 3)));
    scaleRowF64(zi, m, 1 / load<f64>(li + (<usize>i << 3)));
  }
}

/** Solves Lᵀ X = Z in place (b: f64 n×m, row-major): backward substitution. */
export function solve_upper_t_f64(factor: usize, n: i32, b: usize, m: i32): void {
  const rowBytes = <usize>n << 3;
  const rhsBytes = <usize>m << 3;
  for (let i = n - 1; i >= 0; i--) {
    const xi = b + <usize>i * rhsBytes;
    for (let k = i + 1; k < n; k++) {
      axpyF64(xi, b + <usize>k * rhsBytes, m, -load<f64>(factor + <usize>k * rowBytes + (<usize>i << 3)));
    }
    scaleRowF64(xi, m, 1 / load<f64>(factor + <usize>i * rowBytes + (<usize>i << 3)));
  }
}

/** Solves L Lᵀ X = B in place: both substitutions. */
export function cholesky_solve_f64(factor: usize, n: i32, b: usize, m: i32): void {
  solve_lower_f64(factor, n, b, m);
  solve_upper_t_f64(factor, n, b, m);
}
