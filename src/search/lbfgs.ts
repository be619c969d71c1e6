// Box-constrained L-BFGS by projection, small and deterministic, for the GP's hyper-parameters
// (a few dozen log-parameters). The two-loop recursion (Nocedal & Wright 2006, Algorithm 7.4)
// gives the direction; coordinates held at a bound with the direction pointing outwards are
// frozen for the step; a backtracking line search on the projected path enforces Armijo's
// sufficient decrease (N&W eq. 3.4). Not L-BFGS-B's Cauchy point, but enough for smooth,
// low-dimensional objectives whose optimum is usually interior.

export interface Objective {
  /** The value and gradient at x; a non-finite value counts as "too far" to the line search. */
  (x: Float64Array): { value: number; gradient: Float64Array };
}

export interface LbfgsOptions {
  maxIterations?: number;
  /** Correction pairs kept. */
  memory?: number;
  /** Stop when the value improves by less than this, relative to 1 + |value|. */
  relativeTolerance?: number;
  /** Stop when every projected gradient component is below this. */
  gradientTolerance?: number;
}

export interface LbfgsResult {
  x: Float64Array;
  value: number;
  iterations: number;
}

const ARMIJO = 1e-4;
const MAX_BACKTRACKS = 30;

const dot = (a: Float64Array, b: Float64Array): number => a.reduce((s, v, i) => s + v * b[i], 0);

/** −H g by the two-loop recursion over the stored pairs (s, y), scaled by sᵀy / yᵀy. */
function direction(gradient: Float64Array, pairs: Array<{ s: Float64Array; y: Float64Array; rho: number }>): Float64Array {
  const q = gradient.slice();
  const alphas: number[] = [];
  for (let k = pairs.length - 1; k >= 0; k--) {
    const { s, y, rho } = pairs[k];
    const a = rho * dot(s, q);
    alphas[k] = a;
    for (let i = 0; i < q.length; i++) q[i] -= a * y[i];
  }
  const last = pairs[pairs.length - 1];
  const gammaScale = last ? dot(last.s, last.y) / dot(last.y, last.y) : 1;
  for (let i = 0; i < q.length; i++) q[i] *= gammaScale;
  for (let k = 0; k < pairs.length; k++) {
    const { s, y, rho } = pairs[k];
    const b = rho * dot(y, q);
    for (let i = 0; i < q.length; i++) q[i] += s[i] * (alphas[k] - b);
  }
  return q.map((v) => -v);
}

/** The gradient with components that would push through an active bound set to 0. */
function projectedGradient(x: Float64Array, g: Float64Array, lower: Float64Array, upper: Float64Array): Float64Array {
  return g.map((v, i) => ((x[i] <= lower[i] && v > 0) || (x[i] >= upper[i] && v < 0) ? 0 : v));
}

/** Which coordinates sit on a bound, as a string key. */
const activeSet = (x: Float64Array, lower: Float64Array, upper: Float64Array): string =>
  Array.from(x, (v, i) => (v <= lower[i] ? "l" : v >= upper[i] ? "u" : "-")).join("");

/** Minimises f over the box [lower, upper] from x0. */
export function minimizeBoxLbfgs(f: Objective, x0: ArrayLike<number>, lower: Float64Array, upper: Float64Array, options: LbfgsOptions = {}): LbfgsResult {
  const maxIterations = options.maxIterations ?? 100;
  const memory = options.memory ?? 8;
  const relTol = options.relativeTolerance ?? 1e-9;
  const gradTol = options.gradientTolerance ?? 1e-6;
  const clamp = (v: number, i: number): number => Math.min(upper[i], Math.max(lower[i], v));
  let x: Float64Array = Float64Array.from(x0, clamp);
  let { value, gradient } = f(x);
  if (!Number.isFinite(value)) return { x, value, iterations: 0 };
  const pairs: Array<{ s: Float64Array; y: Float64Array; rho: number }> = [];
  let iterations = 0;
  for (; iterations < maxIterations; iterations++) {
    const pg = projectedGradient(x, gradient, lower, upper);
    if (pg.every((v) => Math.abs(v) < gradTol)) break;
    let d = projectedGradient(x, direction(gradient, pairs), lower, upper).map((v, i) => (pg[i] === 0 ? 0 : v));
    if (!(dot(d, pg) < 0)) {
      pairs.length = 0; // not a descent direction: restart from steepest descent
      d = pg.map((v) => -v);
    }
    // The first step of a run (no curvature yet) is scaled to move by about one unit.
    let t = pairs.length === 0 ? Math.min(1, 1 / Math.sqrt(dot(d, d))) : 1;
    let accepted: { x: Float64Array; value: number; gradient: Float64Array } | undefined;
    for (let k = 0; k < MAX_BACKTRACKS && !accepted; k++, t *= 0.5) {
      const next = x.map((v, i) => clamp(v + t * d[i], i));
      const step = next.map((v, i) => v - x[i]);
      const trial = f(next);
      if (Number.isFinite(trial.value) && trial.value <= value + ARMIJO * dot(gradient, step)) accepted = { x: next, ...trial };
    }
    if (!accepted) break;
    // Curvature pairs over the free coordinates only: a coordinate held on a bound keeps a
    // large gradient whose changes would swamp the scaling sᵀy / yᵀy.
    const free = (i: number): boolean => accepted.x[i] > lower[i] && accepted.x[i] < upper[i];
    const s = accepted.x.map((v, i) => (free(i) ? v - x[i] : 0));
    const y = accepted.gradient.map((v, i) => (free(i) ? v - gradient[i] : 0));
    const sy = dot(s, y);
    // Curvature seen while a coordinate was free misleads once it sits on a bound (and back).
    if (activeSet(accepted.x, lower, upper) !== activeSet(x, lower, upper)) pairs.length = 0;
    else if (sy > 1e-12) {
      pairs.push({ s, y, rho: 1 / sy });
      if (pairs.length > memory) pairs.shift();
    }
    const improvement = value - accepted.value;
    x = accepted.x;
    value = accepted.value;
    gradient = accepted.gradient;
    if (improvement < relTol * (1 + Math.abs(value))) {
      iterations++;
      break;
    }
  }
  return { x, value, iterations };
}
