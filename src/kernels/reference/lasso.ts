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

export interface NonZeroSearchOptionsRef {
  keep: number;
  nonNegative?: boolean;
  tol?: number;
  maxIter?: number;
  maxSteps?: number;
  tightenLevels?: number;
}

type SearchPointRef = LassoResultRef & { alpha: number; level: number };

/** hi: the smallest α with fewer than keep non-zeros; lo: the largest α below it with more. */
function bracketRef(trusted: SearchPointRef[], keep: number): { hi: SearchPointRef; lo?: SearchPointRef } {
  let hi = trusted[0];
  for (const s of trusted) if (s.nonZeros < keep && s.alpha < hi.alpha) hi = s;
  let lo: SearchPointRef | undefined;
  for (const s of trusted) if (s.nonZeros > keep && s.alpha < hi.alpha && (!lo || s.alpha > lo.alpha)) lo = s;
  return { hi, lo };
}

/**
 * The penalty that leaves exactly `keep` non-zeros: from α_max = max|c|/n walk down by
 * decades until more than `keep` are non-zero, then bisect on log α, each solve warm-started
 * from the nearest α solved so far. Only counts solved at the current level (tol / 100^level,
 * maxIter × 10^level) or tighter are used; a solve that runs out of sweeps is redone a level
 * tighter, and a bracket narrower than 1e-4 in log α, or a smaller α with fewer non-zeros than
 * a larger one, moves the search a level up (at most `tightenLevels`, default 2), re-solving
 * both ends of the bracket. Falls back to the closest solution with
 * more than `keep` non-zeros.
 */
export function lassoForNonZerosRef(system: LassoSystemRef, options: NonZeroSearchOptionsRef): NonZeroSearchRef {
  const p = system.xty.length;
  const nonNegative = options.nonNegative ?? false;
  let top = 0;
  for (let j = 0; j < p; j++) top = Math.max(top, nonNegative ? system.xty[j] : Math.abs(system.xty[j]));
  const alphaMax = top / system.samples;
  const maxSteps = options.maxSteps ?? 60;
  const maxLevel = options.tightenLevels ?? 2;
  const solved: SearchPointRef[] = [
    { alpha: alphaMax, coefficients: new Float64Array(p), iterations: 0, dualityGap: 0, converged: true, nonZeros: 0, level: Infinity },
  ];
  let level = 0;
  let steps = 0;
  const solveOnce = (alpha: number, at: number, warmStart: Float64Array): SearchPointRef => {
    const tol = (options.tol ?? 1e-4) / 100 ** at;
    const maxIter = (options.maxIter ?? 1000) * 10 ** at;
    const point = { ...lassoRef(system, { alpha, nonNegative, tol, maxIter, warmStart }), alpha, level: at };
    steps++;
    solved.push(point);
    return point;
  };
  const solve = (alpha: number, warmStart: Float64Array): SearchPointRef => {
    let at = level;
    let point = solveOnce(alpha, at, warmStart);
    while (!point.converged && at < maxLevel && steps < maxSteps) point = solveOnce(alpha, ++at, point.coefficients);
    return point;
  };
  const bracket = () => bracketRef(solved.filter((s) => s.level >= level), options.keep);
  while (alphaMax > 0 && steps < maxSteps) {
    const { hi, lo } = bracket();
    let alpha: number;
    if (!lo) {
      if (hi.alpha <= alphaMax * 1e-12) break;
      alpha = hi.alpha / 10;
    } else if (Math.log(hi.alpha / lo.alpha) > (level < maxLevel ? 1e-4 : 1e-9)) {
      alpha = Math.sqrt(hi.alpha * lo.alpha);
    } else if (level < maxLevel) {
      level++;
      for (const end of [hi, lo]) if (end.level < level && steps < maxSteps) solve(end.alpha, end.coefficients);
      continue;
    } else {
      break;
    }
    const point = solve(alpha, nearestRef(solved, alpha).coefficients);
    const inverted = level < maxLevel && solved.some((o) => o.level >= level && o !== point &&
      ((o.alpha > point.alpha && o.nonZeros > point.nonZeros) || (o.alpha < point.alpha && o.nonZeros < point.nonZeros)));
    if (inverted) {
      const ends = bracket();
      level++;
      for (const end of [ends.hi, ends.lo]) if (end && end.level < level && steps < maxSteps) solve(end.alpha, end.coefficients);
    } else if (point.nonZeros === options.keep) {
      return searchResultRef(point, true, steps);
    }
  }
  const { hi, lo } = bracket();
  return searchResultRef(lo ?? hi, false, steps);
}

function searchResultRef(point: SearchPointRef, exact: boolean, steps: number): NonZeroSearchRef {
  const { level: _level, ...result } = point;
  return { ...result, exact, steps };
}

/** The solved point nearest to alpha in log α; on a tie (bisection midpoints) the most recent. */
function nearestRef(solved: SearchPointRef[], alpha: number): SearchPointRef {
  let nearest = solved[0];
  let best = Infinity;
  for (const s of solved) {
    const distance = Math.abs(Math.log(s.alpha / alpha));
    if (distance <= best * (1 + 1e-9)) {
      nearest = s;
      best = distance;
    }
  }
  return nearest;
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
