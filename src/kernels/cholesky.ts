// Cholesky factorization and triangular solves of small dense symmetric positive-definite f64
// systems (assembly/cholesky.ts): the Gaussian-process optimizer factors its kernel matrix with
// them, solves for the weights α = K⁻¹y and K⁻¹ itself (the likelihood gradient), and the
// predictive variances of its candidates through L⁻¹k*. Each is described once as a
// KernelOperation; the plain functions run it inline.
import { checkInteger, checkLength, fail } from "../util/check.js";
import { kernels } from "./core.js";
import { runInline, type OperationBuilder } from "./operation.js";

// Rough single-thread costs; these systems are small, so they never pay for the pool.
const NS_PER_MULTIPLY_ADD = 0.5;

export interface CholeskyOptions {
  /** λ added to the diagonal from the start (a GP's noise variance goes in A itself). Default 0. */
  jitter?: number;
}

/** L with L Lᵀ = A + λI. */
export interface CholeskyFactor {
  /** L, n×n row-major f64, strict upper triangle zero. */
  factor: Float64Array;
  n: number;
  /** The λ used: the requested jitter, or larger when A was not positive definite. */
  jitter: number;
}

/** Which substitutions a solve runs: L Z = B, Lᵀ X = B, or both (A X = B). */
export type TriangularSolve = "lower" | "upperTransposed" | "both";

const SOLVE_KERNEL: Record<TriangularSolve, string> = {
  lower: "solve_lower_f64",
  upperTransposed: "solve_upper_t_f64",
  both: "cholesky_solve_f64",
};

function checkFiniteF64(where: string, name: string, values: Float64Array): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) fail(where, `${name} must be finite, but ${name}[${i}] is ${values[i]}`);
  }
}

/**
 * L with L Lᵀ = A + λI of a symmetric A (n×n row-major f64; only its lower triangle is read).
 * λ starts at `jitter`; when A does not factor, λ grows from 1e-10 · trace/n by ×10 until it
 * does, and the factor reports the λ used.
 */
export function choleskyOp(matrix: Float64Array, n: number, options: CholeskyOptions = {}): OperationBuilder<CholeskyFactor> {
  const where = "cholesky";
  checkInteger(where, "n", n, 1);
  checkLength(where, `matrix (n × n = ${n} × ${n})`, matrix.length, n * n);
  checkFiniteF64(where, "matrix", matrix);
  for (let i = 0; i < n; i++) {
    if (matrix[i * n + i] < 0) fail(where, `matrix must be positive semi-definite with a non-negative diagonal, but matrix[${i}][${i}] is ${matrix[i * n + i]}`);
  }
  const jitter = options.jitter ?? 0;
  if (!(jitter >= 0 && Number.isFinite(jitter))) fail(where, `jitter must be a finite number >= 0, but got ${jitter}`);
  return (core) => {
    const staging = core.staging();
    const factor = new Float64Array(n * n);
    const pa = staging.input(matrix);
    const pl = staging.output(factor);
    return {
      phases: [[["cholesky_f64", [pa, n, jitter, pl]]]],
      costNs: (n * n * n / 6) * NS_PER_MULTIPLY_ADD,
      finish(results) {
        const used = results[0][0];
        if (used < 0) fail(where, "matrix did not become positive definite for any jitter up to 1e20 × trace/n; it is not a covariance matrix");
        staging.copyBack(pl, factor);
        return { factor, n, jitter: used };
      },
      release: () => staging.release(),
    };
  };
}

/** L with L Lᵀ = A + λI; see choleskyOp. */
export const cholesky = (matrix: Float64Array, n: number, options?: CholeskyOptions): CholeskyFactor =>
  runInline(kernels(), choleskyOp(matrix, n, options));

/** X (n×m row-major f64) solving the chosen triangular system(s) of a factor for B (n×m). */
export function choleskySolveOp(factor: CholeskyFactor, rhs: Float64Array, m: number, solve: TriangularSolve = "both"): OperationBuilder<Float64Array> {
  const where = "choleskySolve";
  const { n } = factor;
  checkInteger(where, "m", m, 1);
  checkLength(where, `factor (n × n = ${n} × ${n})`, factor.factor.length, n * n);
  checkLength(where, `rhs (n × m = ${n} × ${m})`, rhs.length, n * m);
  const kernel = SOLVE_KERNEL[solve];
  if (kernel === undefined) fail(where, `solve must be one of ${Object.keys(SOLVE_KERNEL).join(", ")}, but got ${solve}`);
  return (core) => {
    const staging = core.staging();
    const out = new Float64Array(n * m);
    const pl = staging.input(factor.factor);
    // The solve runs in place: always on a copy, so a resident rhs is left as it was.
    const pb = staging.scratch(rhs.byteLength);
    core.view(Float64Array, pb, n * m).set(rhs);
    return {
      phases: [[[kernel, [pl, n, pb, m]]]],
      costNs: n * n * m * (solve === "both" ? 1 : 0.5) * NS_PER_MULTIPLY_ADD,
      finish() {
        staging.copyBack(pb, out);
        return out;
      },
      release: () => staging.release(),
    };
  };
}

/** X solving L Lᵀ X = B (solve "both"), L Z = B ("lower") or Lᵀ X = B ("upperTransposed"). */
export const choleskySolve = (factor: CholeskyFactor, rhs: Float64Array, m: number, solve?: TriangularSolve): Float64Array =>
  runInline(kernels(), choleskySolveOp(factor, rhs, m, solve));
