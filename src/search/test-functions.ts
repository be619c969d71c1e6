// Standard test functions of black-box optimization (Surjanovic & Bingham's library of
// simulation experiments), declared as search spaces with their known global minima: the
// optimizers' tests and benchmark minimise them (score = −f). Branin is smooth and 2-d with three
// minima, Hartmann-6 is multimodal in 6-d, Levy-20 is rugged in 20-d (as TuRBO's benchmarks).
import { searchSpace, type Point, type SearchSpace } from "./space.js";

export interface TestFunction {
  readonly name: string;
  readonly space: SearchSpace;
  /** The known global minimum value. */
  readonly minimum: number;
  /** A point where the minimum is reached. */
  readonly minimizer: Point;
  evaluate(point: Point): number;
}

const coordinates = (point: Point, d: number): number[] => Array.from({ length: d }, (_, i) => point[`x${i + 1}`] as number);
const continuous = (bounds: ReadonlyArray<readonly [number, number]>): SearchSpace =>
  searchSpace(bounds.map(([low, high], i) => ({ name: `x${i + 1}`, option: `x${i + 1}`, kind: "continuous", low, high })));
const pointOf = (x: readonly number[]): Point => Object.fromEntries(x.map((v, i) => [`x${i + 1}`, v]));

/** Branin–Hoo on [-5, 10] × [0, 15]: minimum 0.397887 at (−π, 12.275), (π, 2.275), (9.42478, 2.475). */
export function braninValue(x1: number, x2: number): number {
  const b = 5.1 / (4 * Math.PI * Math.PI);
  const c = 5 / Math.PI;
  const t = 1 / (8 * Math.PI);
  return (x2 - b * x1 * x1 + c * x1 - 6) ** 2 + 10 * (1 - t) * Math.cos(x1) + 10;
}

export const branin: TestFunction = {
  name: "branin",
  space: continuous([[-5, 10], [0, 15]]),
  minimum: 0.397887,
  minimizer: pointOf([Math.PI, 2.275]),
  evaluate: (point) => braninValue(point.x1 as number, point.x2 as number),
};

const HARTMANN_ALPHA = [1.0, 1.2, 3.0, 3.2];
const HARTMANN_A = [
  [10, 3, 17, 3.5, 1.7, 8],
  [0.05, 10, 17, 0.1, 8, 14],
  [3, 3.5, 1.7, 10, 17, 8],
  [17, 8, 0.05, 10, 0.1, 14],
];
const HARTMANN_P = [
  [1312, 1696, 5569, 124, 8283, 5886],
  [2329, 4135, 8307, 3736, 1004, 9991],
  [2348, 1451, 3522, 2883, 3047, 6650],
  [4047, 8828, 8732, 5743, 1091, 381],
].map((row) => row.map((v) => v * 1e-4));

/** Hartmann-6 on [0, 1]⁶: minimum −3.32237 at (0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573). */
export function hartmann6Value(x: readonly number[]): number {
  let f = 0;
  for (let i = 0; i < 4; i++) {
    let s = 0;
    for (let j = 0; j < 6; j++) s += HARTMANN_A[i][j] * (x[j] - HARTMANN_P[i][j]) ** 2;
    f -= HARTMANN_ALPHA[i] * Math.exp(-s);
  }
  return f;
}

export const hartmann6: TestFunction = {
  name: "hartmann6",
  space: continuous(Array.from({ length: 6 }, () => [0, 1] as const)),
  minimum: -3.32237,
  minimizer: pointOf([0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573]),
  evaluate: (point) => hartmann6Value(coordinates(point, 6)),
};

/** Levy in d dimensions: minimum 0 at (1, …, 1). */
export function levyValue(x: readonly number[]): number {
  const w = x.map((v) => 1 + (v - 1) / 4);
  const d = w.length;
  let f = Math.sin(Math.PI * w[0]) ** 2;
  for (let i = 0; i < d - 1; i++) f += (w[i] - 1) ** 2 * (1 + 10 * Math.sin(Math.PI * w[i] + 1) ** 2);
  return f + (w[d - 1] - 1) ** 2 * (1 + Math.sin(2 * Math.PI * w[d - 1]) ** 2);
}

/** Levy-20 on [-10, 10]²⁰ (the unit cube of the space, scaled): minimum 0 at (1, …, 1). */
export const levy20: TestFunction = {
  name: "levy20",
  space: continuous(Array.from({ length: 20 }, () => [-10, 10] as const)),
  minimum: 0,
  minimizer: pointOf(new Array<number>(20).fill(1)),
  evaluate: (point) => levyValue(coordinates(point, 20)),
};

export const testFunctions: readonly TestFunction[] = [branin, hartmann6, levy20];
