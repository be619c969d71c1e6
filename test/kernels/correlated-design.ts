// Seeded correlated designs, as the inputs of a convolution are: every channel of a feature
// map is driven by a few shared factors, so columns of X are strongly correlated and the LASSO
// path is slow to converge. y is a sparse combination of columns plus noise.
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
