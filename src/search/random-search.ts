// Random search: every point drawn uniformly from the unit cube (log dimensions uniform in
// their log). The baseline every model-based optimizer must beat (Bergstra & Bengio 2012).
import { seededRandom } from "../util/random.js";
import type { Optimizer, OptimizerOptions, TrialResult } from "./optimizer.js";
import { pointFromUnit, type Point, type SearchSpace } from "./space.js";

export class RandomSearch implements Optimizer {
  readonly name = "random";
  private readonly random: () => number;

  constructor(readonly space: SearchSpace, options: OptimizerOptions = {}) {
    this.random = seededRandom(options.seed ?? 0);
  }

  ask(): Point {
    return pointFromUnit(this.space, this.space.dimensions.map(() => this.random()));
  }

  tell(_result: TrialResult): void {
    // Random search learns nothing from results.
  }
}
