// Plain twin of assembly/cholesky.ts: Cholesky A + λI = L Lᵀ in f64 with the same jitter rule,
// and the triangular solves, one scalar loop each.

/** L (n×n, strict upper triangle zero) and the λ used, or undefined when no λ made A factor. */
export function choleskyF64Ref(a: ArrayLike<number>, n: number, jitter = 0): { factor: Float64Array; jitter: number } | undefined {
  let maxDiag = 0;
  let trace = 0;
  for (let i = 0; i < n; i++) {
    trace += a[i * n + i];
    maxDiag = Math.max(maxDiag, a[i * n + i]);
  }
  const threshold = 1e-13 * maxDiag;
  let lambda = jitter;
  for (let tries = 0; ; tries++) {
    const factor = factorRef(a, n, lambda, threshold);
    if (factor) return { factor, jitter: lambda };
    if (tries >= 30) return undefined;
    lambda = lambda > 0 ? lambda * 10 : 1e-10 * (trace > 0 ? trace / n : 1);
  }
}

function factorRef(a: ArrayLike<number>, n: number, jitter: number, threshold: number): Float64Array | undefined {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * n + j] + (i === j ? jitter : 0);
      for (let k = 0; k < j; k++) s -= l[i * n + k] * l[j * n + k];
      if (i === j) {
        if (!(s > threshold)) return undefined;
        l[i * n + i] = Math.sqrt(s);
      } else {
        l[i * n + j] = s / l[j * n + j];
      }
    }
  }
  return l;
}

/** Z with L Z = B (B n×m row-major). */
export function solveLowerF64Ref(factor: ArrayLike<number>, n: number, b: ArrayLike<number>, m: number): Float64Array {
  const z = Float64Array.from(Array.from(b));
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < i; k++) for (let t = 0; t < m; t++) z[i * m + t] -= factor[i * n + k] * z[k * m + t];
    for (let t = 0; t < m; t++) z[i * m + t] /= factor[i * n + i];
  }
  return z;
}

/** X with Lᵀ X = Z (Z n×m row-major). */
export function solveUpperTransposedF64Ref(factor: ArrayLike<number>, n: number, z: ArrayLike<number>, m: number): Float64Array {
  const x = Float64Array.from(Array.from(z));
  for (let i = n - 1; i >= 0; i--) {
    for (let k = i + 1; k < n; k++) for (let t = 0; t < m; t++) x[i * m + t] -= factor[k * n + i] * x[k * m + t];
    for (let t = 0; t < m; t++) x[i * m + t] /= factor[i * n + i];
  }
  return x;
}

/** X with L Lᵀ X = B. */
export const choleskySolveF64Ref = (factor: ArrayLike<number>, n: number, b: ArrayLike<number>, m: number): Float64Array =>
  solveUpperTransposedF64Ref(factor, n, solveLowerF64Ref(factor, n, b, m), m);
