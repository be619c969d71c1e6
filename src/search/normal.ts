// The standard normal distribution as the model-based optimizers need it: density, CDF with
// small relative error far into the lower tail (expected improvement and truncated-Gaussian
// normalizers live there), the log of expected improvement's h(z) = φ(z) + zΦ(z) without
// underflow, and Gaussian draws from the project's seeded uniform generator.

const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

/**
 * erfc(x) by the Chebyshev fit of Press et al., Numerical Recipes §6.2: fractional error below
 * 1.2e-7 for every x, so Φ(z) keeps its relative accuracy at z = -8 where 1 - erf(x) does not.
 */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const poly = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807
    + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  const r = t * Math.exp(-z * z + poly);
  return x >= 0 ? r : 2 - r;
}

export const normalLogPdf = (z: number): number => -0.5 * z * z - LOG_SQRT_2PI;
export const normalPdf = (z: number): number => Math.exp(normalLogPdf(z));
export const normalCdf = (z: number): number => 0.5 * erfc(-z / Math.SQRT2);

/**
 * log h(z), h(z) = φ(z) + zΦ(z), so that EI = s·h((μ − best)/s). Below z = -6, h underflows
 * relative to its terms (catastrophic cancellation), so the asymptotic series of the Mills
 * ratio is used there: h(z) = φ(z)/z² · (1 − 3/z² + 15/z⁴ − …) (Abramowitz & Stegun 7.1.23).
 */
export function logExpectedImprovementFactor(z: number): number {
  if (z > -6) return Math.log(Math.max(normalPdf(z) + z * normalCdf(z), 1e-300));
  const w = 1 / (z * z);
  return normalLogPdf(z) + Math.log(w) + Math.log1p(w * (-3 + w * (15 - 105 * w)));
}

/** A draw of N(0, 1) by Box–Muller from a uniform generator on [0, 1). */
export function gaussian(random: () => number): number {
  const u = 1 - random(); // (0, 1]: log(u) is finite
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}
