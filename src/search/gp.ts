// Bayesian optimization with a Gaussian process and expected improvement (Jones, Schonlau &
// Welch 1998; Snoek, Larochelle & Adams 2012). After `startupTrials` random points, each ask fits
// the GP (gp-model.ts: Matérn 5/2, ARD, marginal likelihood) to every told trial and returns the
// point of largest expected improvement over the best score, found among `candidates` points
// (half uniform in the unit cube, half around the best trials) and by a compass search (Kolda,
// Lewis & Torczon 2003) from the best few of them and from the incumbent. EI is ranked by its
// logarithm, which stays finite where EI underflows (far from the data in 20-d spaces).
//
// The GP sees points as their unit-cube coordinates: integer and categorical dimensions by the
// middle of their value's slice (candidates are moved there before they are scored), so a
// categorical dimension is modelled as ordered (one coordinate rather than one-hot; cheap, and
// the length scale still tells a relevant choice from an irrelevant one). A failed trial is
// modelled with the worst score seen among the completed ones, which steers the search away
// from it without inventing a value outside the data.
import { seededRandom } from "../util/random.js";
import { GaussianProcess } from "./gp-model.js";
import { gaussian, logExpectedImprovementFactor } from "./normal.js";
import type { Optimizer, OptimizerOptions, TrialResult } from "./optimizer.js";
import { pointFromUnit, type Point, type SearchSpace } from "./space.js";
import { snapUnit, uniformUnit, unitTrial, type UnitTrial } from "./unit-points.js";

export interface GpOptions extends OptimizerOptions {
  /** Completed trials drawn uniformly before the model is used. Default 10. */
  startupTrials?: number;
  /** Uniform candidates scored per ask. Default 1000. */
  candidates?: number;
  /** Candidates (besides the incumbent) a compass search starts from. Default 5. */
  refineStarts?: number;
  /** Compass-search iterations. Default 12. */
  refineSteps?: number;
  /** Random starts of the hyper-parameter fit besides the default and the previous fit. Default 2. */
  fitRestarts?: number;
}

/** The compass search's first step (unit-cube units) and the step at which it stops. */
const COMPASS_START = 0.1;
const COMPASS_MIN = 1e-3;
/** Candidates around the best trials: how many trials, and the perturbations' standard deviations. */
const ELITE_TRIALS = 5;
const PERTURBATION_SCALES = [0.02, 0.05, 0.1, 0.2];

interface Acquisition {
  (points: number[][]): Float64Array;
}

/** log EI(x) = log s + log h((μ − best)/s) for the maximisation of the score. */
function logExpectedImprovement(model: GaussianProcess, best: number): Acquisition {
  return (points) => {
    const { mean, variance } = model.predict(points);
    return mean.map((mu, t) => {
      const s = Math.sqrt(variance[t]);
      return Math.log(s) + logExpectedImprovementFactor((mu - best) / s);
    });
  };
}

/**
 * Compass search from each start: try ± step along every coordinate (all starts' moves in one
 * batch), move to the best improving one, halve the step when none improves.
 */
function compassSearch(space: SearchSpace, acquisition: Acquisition, starts: number[][], values: number[], steps: number): { unit: number[]; value: number } {
  const state = starts.map((unit, s) => ({ unit, value: values[s], step: COMPASS_START }));
  for (let iteration = 0; iteration < steps; iteration++) {
    const active = state.filter((s) => s.step >= COMPASS_MIN);
    if (active.length === 0) break;
    const moves = active.map((s) => s.unit.flatMap((_, j) => [-1, 1].map((sign) => {
      const next = [...s.unit];
      next[j] = Math.min(1, Math.max(0, next[j] + sign * s.step));
      return snapUnit(space, next);
    })));
    const scores = acquisition(moves.flat());
    let offset = 0;
    active.forEach((s, a) => {
      let bestMove = -1;
      for (let k = 0; k < moves[a].length; k++) if (scores[offset + k] > s.value && (bestMove < 0 || scores[offset + k] > scores[offset + bestMove])) bestMove = k;
      if (bestMove >= 0) {
        s.unit = moves[a][bestMove];
        s.value = scores[offset + bestMove];
      } else {
        s.step /= 2;
      }
      offset += moves[a].length;
    });
  }
  return state.reduce((a, b) => (b.value > a.value ? b : a));
}

function checkCount(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) throw new RangeError(`gp: ${name} must be an integer >= ${min}, but got ${value}`);
  return value;
}

export class GpOptimizer implements Optimizer {
  readonly name = "gp";
  private readonly random: () => number;
  private readonly trials: UnitTrial[] = [];
  private readonly settings: Required<Omit<GpOptions, "seed">>;
  /** The previous fit's log-parameters: the next fit starts one run there. */
  private theta: Float64Array | undefined;

  constructor(readonly space: SearchSpace, options: GpOptions = {}) {
    this.random = seededRandom(options.seed ?? 0);
    this.settings = {
      startupTrials: checkCount("startupTrials", options.startupTrials ?? 10, 0),
      candidates: checkCount("candidates", options.candidates ?? 1000, 1),
      refineStarts: checkCount("refineStarts", options.refineStarts ?? 5, 0),
      refineSteps: checkCount("refineSteps", options.refineSteps ?? 12, 0),
      fitRestarts: checkCount("fitRestarts", options.fitRestarts ?? 2, 0),
    };
  }

  ask(): Point {
    const d = this.space.dimensions.length;
    const scores = this.trials.flatMap((trial) => (trial.score === undefined ? [] : [trial.score]));
    if (scores.length < Math.max(2, this.settings.startupTrials)) return pointFromUnit(this.space, uniformUnit(d, this.random));
    const worst = Math.min(...scores);
    const best = Math.max(...scores);
    const model = GaussianProcess.fit(this.trials.map((t) => t.unit), this.trials.map((t) => t.score ?? worst), {
      random: this.random, warmStart: this.theta, restarts: this.settings.fitRestarts,
    });
    this.theta = model.theta;
    const acquisition = logExpectedImprovement(model, best);
    const incumbent = this.trials.find((t) => t.score === best) as UnitTrial;
    const candidates = this.candidatePoints();
    const values = acquisition(candidates);
    const order = Array.from(values.keys()).sort((a, b) => values[b] - values[a] || a - b);
    const starts = [...order.slice(0, this.settings.refineStarts).map((i) => candidates[i]), incumbent.unit];
    const startValues = [...order.slice(0, this.settings.refineStarts).map((i) => values[i]), acquisition([incumbent.unit])[0]];
    const chosen = compassSearch(this.space, acquisition, starts, startValues, this.settings.refineSteps);
    const top = values[order[0]];
    return pointFromUnit(this.space, chosen.value >= top ? chosen.unit : candidates[order[0]]);
  }

  /**
   * Half the candidates uniform, half Gaussian perturbations of the best trials (BoTorch's
   * "sample around best"): in 20-d, uniform draws are all far from the data, where EI is
   * largest mostly because the variance is, and a search fed only those explores the corners.
   */
  private candidatePoints(): number[][] {
    const d = this.space.dimensions.length;
    const elite = this.trials.filter((t) => t.score !== undefined).sort((a, b) => (b.score as number) - (a.score as number))
      .slice(0, ELITE_TRIALS);
    return Array.from({ length: this.settings.candidates }, (_, k) => {
      if (k % 2 === 0) return snapUnit(this.space, uniformUnit(d, this.random));
      const centre = elite[Math.floor(this.random() * elite.length)].unit;
      const scale = PERTURBATION_SCALES[Math.floor(this.random() * PERTURBATION_SCALES.length)];
      return snapUnit(this.space, centre.map((u) => Math.min(1, Math.max(0, u + scale * gaussian(this.random)))));
    });
  }

  tell(result: TrialResult): void {
    this.trials.push(unitTrial(this.space, result));
  }
}
