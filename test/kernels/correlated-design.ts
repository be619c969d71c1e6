// Seeded correlated designs, as the inputs of a convolution are: every channel of a feature
// map is driven by a few shared factors, so columns of X are strongly correlated and the LASSO
// path is slow to converge. y is a sparse combination of columns plus noise. A channel
// selection is judged by the least-squares error of y on the columns it keeps.
import { leastSquares, type GramSystem } from "../../src/kernels/lasso.js";
import { mulberry32 } from "./random.js";

export interface CorrelatedDesign {
  /** X, samples × features, row-major: F·A + noise. */
  x: Float32Array;
  /** y = X·β + noise. */
  y: Float32Array;
  samples: number;
  features: number;
  /** The columns with a non-zero β, ascending. */
  support: number[];
}

export interface CorrelatedDesignOptions {
  samples: number;
  features: number;
  /** Shared factors driving every column (columns of F). Default 8. */
  factors?: number;
  /** Columns that y is made of. */
  activeColumns: number;
  /** Amplitude of the uniform noise added to every entry of X. Default 0.1. */
  columnNoise?: number;
  /** Amplitude of the uniform noise added to y. Default 0.1. */
  targetNoise?: number;
  seed: number;
}

/** Standard normal by Box-Muller, from a uniform generator. */
function gaussian(rand: () => number): number {
  const u = 1 - rand();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

/** X = F·A + noise with F [samples, factors] and A [factors, features] standard normal. */
function correlatedColumns(rand: () => number, samples: number, features: number, factors: number, noise: number): Float32Array {
  const loadings = Float64Array.from({ length: factors * features }, () => gaussian(rand));
  const x = new Float32Array(samples * features);
  const row = new Float64Array(factors);
  for (let i = 0; i < samples; i++) {
    for (let f = 0; f < factors; f++) row[f] = gaussian(rand);
    for (let j = 0; j < features; j++) {
      let s = noise * (rand() * 2 - 1);
      for (let f = 0; f < factors; f++) s += row[f] * loadings[f * features + j];
      x[i * features + j] = s;
    }
  }
  return x;
}

export function correlatedDesign(options: CorrelatedDesignOptions): CorrelatedDesign {
  const { samples, features, activeColumns, seed } = options;
  const rand = mulberry32(seed);
  const x = correlatedColumns(rand, samples, features, options.factors ?? 8, options.columnNoise ?? 0.1);
  const beta = new Float64Array(features);
  const support: number[] = [];
  while (support.length < activeColumns) {
    const j = Math.floor(rand() * features);
    if (beta[j] !== 0) continue;
    beta[j] = (rand() < 0.5 ? -1 : 1) * (0.5 + rand());
    support.push(j);
  }
  support.sort((a, b) => a - b);
  const targetNoise = options.targetNoise ?? 0.1;
  const y = new Float32Array(samples);
  for (let i = 0; i < samples; i++) {
    let s = targetNoise * (rand() * 2 - 1);
    for (const j of support) s += x[i * features + j] * beta[j];
    y[i] = s;
  }
  return { x, y, samples, features, support };
}

/** ‖y − X_S w‖² / n of the least-squares w on the columns S, solved by the leastSquares kernel. */
export function supportError(design: CorrelatedDesign, system: GramSystem, support: number[]): number {
  const p = design.features;
  const k = support.length;
  const subGram = new Float32Array(k * k);
  const subXty = new Float32Array(k);
  support.forEach((j, a) => {
    subXty[a] = system.xty[j];
    support.forEach((l, b) => (subGram[a * k + b] = system.gram[j * p + l]));
  });
  const { weights } = leastSquares({ gram: subGram, xty: subXty, features: k, targets: 1 });
  return residualError(design, support, weights);
}

/** ‖y − X_S w‖² / n, summed in f64 from X itself. */
export function residualError(design: CorrelatedDesign, support: number[], weights: ArrayLike<number>): number {
  const { x, y, samples: n, features: p } = design;
  let error = 0;
  for (let i = 0; i < n; i++) {
    let fit = 0;
    support.forEach((j, a) => (fit += x[i * p + j] * weights[a]));
    error += (y[i] - fit) ** 2;
  }
  return error / n;
}
