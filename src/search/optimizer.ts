// One ask/tell interface for every optimizer (Optuna's primitive): the search loop asks for a
// point, evaluates it however long that takes (a fine-tune, a worker process), and tells the
// optimizer the result. An optimizer sees only the space and the trials told so far, and is
// deterministic for its seed: the same asks and tells give the same points, which is how a
// killed search resumes (the loop replays the trial log through ask and tell).
import type { Point, SearchSpace } from "./space.js";

/** A finished trial as an optimizer is told it: its score (higher is better), or its failure. */
export interface TrialResult {
  point: Point;
  /** The reward; undefined when the trial failed (crashed, ran out of memory). */
  score?: number;
}

export interface Optimizer {
  /** The name `--optimizer` takes. */
  readonly name: string;
  readonly space: SearchSpace;
  /** The next point to evaluate. */
  ask(): Point;
  /** The result of a point that ask returned (or the point actually evaluated, after a repair). */
  tell(result: TrialResult): void;
}

export interface OptimizerOptions {
  /** Seed of every random choice (default 0). */
  seed?: number;
}
