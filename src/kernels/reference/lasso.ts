// Reference twins of assembly/lasso.ts kernels: the Gram system, coordinate-descent LASSO,
// the search for the penalty that keeps k coefficients, and least squares by Cholesky.
// Plain f64 loops written for clarity; the same rules as the kernels so results compare.

/** Number of NaN and ±Infinity values (count_nonfinite_f32). */
export function countNonFiniteRef(x: ArrayLike<number>): number {
  let count = 0;
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i])) count++;
  return count;
}

export interface GramRef {
  /** XᵀX, p×p row-major. */
  gram: Float64Array;
  /** XᵀY, p×m row-major. */
  xty: Float64Array;
  /** Σ Y², the squared norm of the targets. */
  yty: number;
}

export function gramRef(x: Float32Array, n: number, p: number, y?: Float32Array, m = 1): GramRef {
  const targets = y ? m : 0;
  const gram = new Float64Array(p * p);
  const xty = new Float64Array(p * targets);
  let yty = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < p; j++) {
      const xij = x[i * p + j];
      for (let k = 0; k < p; k++) gram[j * p + k] += xij * x[i * p + k];
      for (let t = 0; t < targets; t++) xty[j * targets + t] += xij * y![i * targets + t];
    }
    for (let t = 0; t < targets; t++) yty += y![i * targets + t] ** 2;
  }
  return { gram, xty, yty };
}

/** What lassoRef needs: G = XᵀX (p×p), c = Xᵀy, yᵀy and the number of samples n. */
export interface LassoSystemRef {
  gram: ArrayLike<number>;
  xty: ArrayLike<number>;
  yty: number;
  samples: number;
}

export interface LassoOptionsRef {
  alpha: number;
  nonNegative?: boolean;
  warmStart?: ArrayLike<number>;
  tol?: number;
  maxIter?: number;
}

export interface LassoResultRef {
  coefficients: Float64Array;
  iterations: number;
  dualityGap: number;
  converged: boolean;
  nonZeros: number;
}

function dualityGapRef(c: ArrayLike<number>, yty: number, l1: number, nonNegative: boolean, beta: Float64Array, h: Float64Array): number {
  let betaC = 0;
  let betaH = 0;
  let l1Norm = 0;
  let dualNorm = 0;
  for (let k = 0; k < beta.length; k++) {
    betaC += beta[k] * c[k];
    betaH += beta[k] * h[k];
    l1Norm += Math.abs(beta[k]);
    const corr = c[k] - h[k];
    dualNorm = Math.max(dualNorm, nonNegative ? corr : Math.abs(corr));
  }
  const residual2 = yty - 2 * betaC + betaH;
  const scale = dualNorm > l1 ? l1 / dualNorm : 1;
  const gap = dualNorm > l1 ? 0.5 * residual2 * (1 + scale * scale) : residual2;
  return gap + l1 * l1Norm - scale * (yty - betaC);
}

/** Cyclic coordinate descent on min (1/(2n))‖y − Xβ‖² + α‖β‖₁, stopping as sklearn does. */
export function lassoRef(system: LassoSystemRef, options: LassoOptionsRef): LassoResultRef {
  const { gram, xty: c, yty, samples } = system;
  const p = c.length;
  const tol = options.tol ?? 1e-4;
  const maxIter = options.maxIter ?? 1000;
  const nonNegative = options.nonNegative ?? false;
  const l1 = options.alpha * samples;
  const beta = new Float64Array(p);
  if (options.warmStart) beta.set(Array.from(options.warmStart));
  const h = new Float64Array(p); // Gβ
  for (let j = 0; j < p; j++) if (beta[j] !== 0) for (let k = 0; k < p; k++) h[k] += beta[j] * gram[j * p + k];
  let gap = Infinity;
  let converged = false;
  let sweeps = 0;
  while (sweeps < maxIter) {
    let maxChange = 0;
    let maxAbs = 0;
    for (let j = 0; j < p; j++) {
      const gjj = gram[j * p + j];
      const old = beta[j];
      let next = 0;
      if (gjj > 0) {
        const rho = c[j] - h[j] + gjj * old;
        if (rho > l1) next = (rho - l1) / gjj;
        else if (rho < -l1 && !nonNegative) next = (rho + l1) / gjj;
      }
      if (next !== old) {
        for (let k = 0; k < p; k++) h[k] += (next - old) * gram[j * p + k];
        beta[j] = next;
        maxChange = Math.max(maxChange, Math.abs(next - old));
      }
      maxAbs = Math.max(maxAbs, Math.abs(next));
    }
    sweeps++;
    if (maxAbs === 0 || maxChange / maxAbs < tol || sweeps === maxIter) {
      gap = dualityGapRef(c, yty, l1, nonNegative, beta, h);
      if (gap <= tol * yty) {
        converged = true;
        break;
      }
    }
  }
  let nonZeros = 0;
  for (const b of beta) if (b !== 0) nonZeros++;
  return { coefficients: beta, iterations: sweeps, dualityGap: gap / samples, converged, nonZeros };
}

export interface NonZeroSearchRef extends LassoResultRef {
  alpha: number;
  exact: boolean;
  steps: number;
}

/**
 * The penalty that leaves exactly `keep` non-zeros: from α_max = max|c|/n walk down by
 * decades until at least `keep` are non-zero, then bisect on log α, each solve warm-started
 * from the nearest α solved so far. Falls back to the closest solution with ≥ keep non-zeros.
 */
export function lassoForNonZerosRef(
  system: LassoSystemRef,
  options: { keep: number; nonNegative?: boolean; tol?: number; maxIter?: number; maxSteps?: number },
): NonZeroSearchRef {
  const p = system.xty.length;
  const nonNegative = options.nonNegative ?? false;
  let top = 0;
  for (let j = 0; j < p; j++) top = Math.max(top, nonNegative ? system.xty[j] : Math.abs(system.xty[j]));
  const alphaMax = top / system.samples;
  type Point = LassoResultRef & { alpha: number };
  let hi: Point = { alpha: alphaMax, coefficients: new Float64Array(p), iterations: 0, dualityGap: 0, converged: true, nonZeros: 0 };
  const solved: Point[] = [hi];
  let lo: Point | undefined;
  let steps = 0;
  const maxSteps = options.maxSteps ?? 60;
  const solve = (alpha: number): Point => {
    // nearest in log α; on a tie (bisection midpoints) the most recent solve
    let warm = hi;
    let best = Infinity;
    for (const s of solved) {
      const distance = Math.abs(Math.log(s.alpha / alpha));
      if (distance <= best * (1 + 1e-9)) {
        warm = s;
        best = distance;
      }
    }
    const r = lassoRef(system, { alpha, nonNegative, tol: options.tol, maxIter: options.maxIter, warmStart: warm.coefficients });
    steps++;
    const point = { ...r, alpha };
    solved.push(point);
    return point;
  };
  const done = (point: Point, exact: boolean): NonZeroSearchRef => ({ ...point, exact, steps });
  if (alphaMax > 0) {
    while (!lo && steps < maxSteps && hi.alpha > alphaMax * 1e-12) {
      const point = solve(hi.alpha / 10);
      if (point.nonZeros === options.keep) return done(point, true);
      if (point.nonZeros > options.keep) lo = point;
      else hi = point;
    }
    while (lo && steps < maxSteps && Math.log(hi.alpha / lo.alpha) > 1e-9) {
      const point = solve(Math.sqrt(hi.alpha * lo.alpha));
      if (point.nonZeros === options.keep) return done(point, true);
      if (point.nonZeros > options.keep) lo = point;
      else hi = point;
    }
  }
  return done(lo ?? hi, false);
}

/** Solves (G + λI) W = B by Cholesky in f64 with the kernels' ridge rule; returns W (p×m) and λ. */
export function leastSquaresRef(
  gram: ArrayLike<number>, xty: ArrayLike<number>, p: number, m: number, ridge = 0,
): { weights: Float64Array; ridge: number } {
  let maxDiag = 0;
  let trace = 0;
  for (let i = 0; i < p; i++) {
    trace += gram[i * p + i];
    maxDiag = Math.max(maxDiag, gram[i * p + i]);
  }
  const threshold = 2 ** -23 * maxDiag;
  let lambda = ridge;
  let factor = choleskyRef(gram, p, lambda, threshold);
  for (let tries = 0; !factor; tries++) {
    if (tries >= 40) throw new Error("leastSquaresRef: no ridge made the matrix factor");
    lambda = lambda > 0 ? lambda * 10 : 1e-10 * (trace > 0 ? trace / p : 1);
    factor = choleskyRef(gram, p, lambda, threshold);
  }
  const w = Float64Array.from(Array.from(xty));
  for (let i = 0; i < p; i++) {
    for (let k = 0; k < i; k++) for (let t = 0; t < m; t++) w[i * m + t] -= factor[i * p + k] * w[k * m + t];
    for (let t = 0; t < m; t++) w[i * m + t] /= factor[i * p + i];
  }
  for (let i = p - 1; i >= 0; i--) {
    for (let k = i + 1; k < p; k++) for (let t = 0; t < m; t++) w[i * m + t] -= factor[k * p + i] * w[k * m + t];
    for (let t = 0; t < m; t++) w[i * m + t] /= factor[i * p + i];
  }
  return { weights: w, ridge: lambda };
}

function choleskyRef(gram: ArrayLike<number>, p: number, ridge: number, threshold: number): Float64Array | undefined {
  const l = new Float64Array(p * p);
  for (let i = 0; i < p; i++) {
    for (let j = 0; j <= i; j++) {
      let s = gram[i * p + j] + (i === j ? ridge : 0);
      for (let k = 0; k < j; k++) s -= l[i * p + k] * l[j * p + k];
      if (i === j) {
        if (!(s > threshold)) return undefined;
        l[i * p + i] = Math.sqrt(s);
      } else {
        l[i * p + j] = s / l[j * p + j];
      }
    }
  }
  return l;
}
