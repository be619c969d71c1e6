// The search: a plain loop over ask → repair (the budget) → trial (the chain builds a candidate in
// fast mode, measured on the validation split) → reward → tell, every finished trial appended to
// trials.jsonl before the optimizer hears of it. A search started again with `resume` replays the
// log through ask and tell (optimizers are deterministic for a seed) and checks that each re-asked
// point is the logged one, so it repeats no finished trial and ends where an uninterrupted run
// ends. The space is the first learner of the chain that declares one (channel in
// `channel,uniform-tf`); the other learners run with their options as given.
import { existsSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../io/file-handler.js";
import { resolveOptions, type CompressedModel, type Learner } from "../learners/learner.js";
import { constraintFor, type LayerConstraint } from "./constraints.js";
import type { DdpgOptions } from "./ddpg.js";
import { layerFeatures } from "./layer-state.js";
import type { Optimizer } from "./optimizer.js";
import { optimizerByName } from "./optimizers.js";
import { reward as rewardOf, type RewardName } from "./rewards.js";
import { optionsOfPoint, pointOfOptions, spaceOfHyperParameters, type Point, type SearchSpace } from "./space.js";
import { appendTrial, readTrials, TRIAL_LOG, type TrialRecord } from "./trial-log.js";
import type { TrialRunner } from "./trial-runner.js";
import type { ChainLearner, TrialOutcome } from "./trial.js";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each learner has its own options
type AnyLearner = Learner<any>;

export const SEARCH_CONFIG = "search.json";

/** What is searched: the space of one learner of the chain, and the budget its points are repaired to. */
export interface SearchPlan {
  space: SearchSpace;
  /** Index in the chain of the learner whose space is searched. */
  learnerIndex: number;
  constraint?: LayerConstraint;
  /** AMC's static state of each dimension's layer, for DDPG. */
  features: number[][];
  /** The learner's baselines as points of the space, evaluated before the optimizer asks. */
  baselines: Array<{ name: string; point: Point }>;
}

/** The space of the chain's first learner that declares one, its budget from that learner's options (defaults filled in). */
export function planSearch(model: CompressedModel, learners: readonly ChainLearner[], learnerByName: (name: string) => AnyLearner): SearchPlan {
  for (const [learnerIndex, step] of learners.entries()) {
    const learner = learnerByName(step.learner);
    const options = resolveOptions(learner, step.options) as Record<string, unknown>;
    const parameters = learner.searchSpace(model, options);
    if (parameters.length === 0) continue;
    const space = spaceOfHyperParameters(parameters);
    const baselines = (learner.searchBaselines?.(model, options) ?? []).map(({ name, options: values }) => ({ name, point: pointOfOptions(space, values) }));
    return { space, learnerIndex, constraint: constraintFor(space, model.graph, options), features: layerFeatures(model.graph, space), baselines };
  }
  throw new RangeError(`search: none of the learners ${learners.map((step) => step.learner).join(", ")} declares a search space; search channel, dis-chn, weight-sparse, uniform or non-uniform`);
}

/** The chain with a point's options set on the searched learner (over its own). */
export function trialLearners(plan: SearchPlan, learners: readonly ChainLearner[], point: Point): ChainLearner[] {
  return learners.map((step, i) => (i === plan.learnerIndex ? { learner: step.learner, options: { ...step.options, ...optionsOfPoint(plan.space, point) } } : step));
}

/** The optimizer of that name: ddpg walks the plan's layers with its constraint; the others see the space alone. */
export function makeOptimizer(name: string, plan: SearchPlan, seed: number, ddpg: Omit<DdpgOptions, "seed" | "constraint" | "layerFeatures"> = {}): Optimizer {
  const options: DdpgOptions = name === "ddpg" ? { ...ddpg, seed, constraint: plan.constraint, layerFeatures: plan.features } : { seed };
  return optimizerByName(name, plan.space, options);
}

export interface SearchOptions {
  model: CompressedModel;
  learners: readonly ChainLearner[];
  learnerByName: (name: string) => AnyLearner;
  optimizer: string;
  trials: number;
  /** Seed of the optimizer (default 0). */
  seed?: number;
  reward?: RewardName;
  /** Directory of trials.jsonl and search.json (the command's --out). */
  dir: string;
  /** Continue the log in `dir` (without it, a log there is an error). */
  resume?: boolean;
  runner: TrialRunner;
  /** Measure every candidate's latency at this batch (off by default: it is noisy). */
  latencyBatch?: number;
  /** DDPG's settings beside the seed (warm-up, noise). */
  ddpg?: Omit<DdpgOptions, "seed" | "constraint" | "layerFeatures">;
  /** Evaluate the learner's baselines first (default true); they count among the trials. */
  baselines?: boolean;
  onTrial?(progress: SearchProgress): void;
}

export interface SearchProgress {
  record: TrialRecord;
  best?: TrialRecord;
  /** Trials finished (replayed ones included) and asked for. */
  done: number;
  total: number;
  /** The trial came from the log of a resumed search. */
  replayed: boolean;
}

export interface SearchResult {
  plan: SearchPlan;
  trials: TrialRecord[];
  /** The trial of the highest reward. */
  best: TrialRecord;
  /** Trials replayed from the log. */
  replayed: number;
}

/** The settings a resumed search must share with the log it continues (trials may grow). */
const configOf = (options: SearchOptions) => ({ optimizer: options.optimizer, seed: options.seed ?? 0, reward: options.reward ?? "accuracy", learners: options.learners, latencyBatch: options.latencyBatch ?? null, ddpg: options.optimizer === "ddpg" ? options.ddpg ?? {} : null, baselines: options.baselines ?? true });

/** The baselines a search starts with (none when turned off), at most its trials. */
const baselinesOf = (plan: SearchPlan, options: SearchOptions) => (options.baselines === false ? [] : plan.baselines.slice(0, options.trials));

/** Writes search.json (whole or not at all) or, when resuming, checks that the settings are the log's. */
async function checkConfig(options: SearchOptions, logged: number): Promise<void> {
  const path = join(options.dir, SEARCH_CONFIG);
  const config = JSON.parse(JSON.stringify(configOf(options))) as Record<string, unknown>;
  if (!options.resume && logged > 0) throw new Error(`search: ${join(options.dir, TRIAL_LOG)} already holds ${logged} trials; pass --resume to continue that search, --force to start it over, or another --out`);
  if (options.resume && existsSync(path)) {
    const previous = JSON.parse(await readFile(path, "utf8")) as Record<string, unknown>;
    const changed = Object.keys(config).filter((key) => JSON.stringify(previous[key]) !== JSON.stringify(config[key]));
    if (changed.length > 0) throw new Error(`search --resume: ${changed.map((key) => `${key} was ${JSON.stringify(previous[key])}, now ${JSON.stringify(config[key])}`).join("; ")}: resume with the settings of the logged search, or start a new one in another --out`);
  }
  await writeFileAtomic(path, `${JSON.stringify(config, null, 2)}\n`);
}

const better = (a: TrialRecord, b: TrialRecord | undefined): boolean => a.score !== undefined && (b?.score === undefined || a.score > b.score);

/** Replays the log through ask and tell, checking each re-asked point (and each baseline's); the trials replayed. */
function replay(optimizer: Optimizer, logged: readonly TrialRecord[], options: SearchOptions, baselines: SearchPlan["baselines"], onRecord: (record: TrialRecord) => void): void {
  for (const record of logged.slice(0, options.trials)) {
    const asked = record.index < baselines.length ? baselines[record.index].point : optimizer.ask();
    if (JSON.stringify(asked) !== JSON.stringify(record.point)) {
      throw new Error(`search --resume: trial ${record.index} of the log was asked at ${JSON.stringify(record.point)} but the optimizer now asks ${JSON.stringify(asked)}: the seed, optimizer, learner options or model differ from the logged search's; resume with the same ones, or start a new search in another --out`);
    }
    optimizer.tell({ point: record.repaired, score: record.score });
    onRecord(record);
  }
}

/** One trial: its record, from the runner's outcome and the reward. */
async function runTrial(options: SearchOptions, plan: SearchPlan, index: number, point: Point, baseline?: string): Promise<TrialRecord> {
  const repaired = plan.constraint === undefined ? point : plan.constraint.repair(point);
  const outcome: TrialOutcome = await options.runner.run({ index, learners: trialLearners(plan, options.learners, repaired), mode: "fast", latencyBatch: options.latencyBatch });
  const score = outcome.metrics === undefined ? undefined : rewardOf(options.reward ?? "accuracy", outcome.metrics);
  const metrics = outcome.metrics === undefined ? undefined : { ...outcome.metrics, testAccuracy: undefined };
  const failed = outcome.error ?? (score === undefined || !Number.isFinite(score) ? `the reward is ${score}` : undefined);
  return {
    index, point, repaired, ...(failed === undefined ? { score } : {}), ...(metrics === undefined ? {} : { metrics }), seconds: outcome.seconds,
    ...(failed === undefined ? {} : { error: failed }), ...(baseline === undefined ? {} : { baseline }),
  };
}

/** Runs (or resumes) the search; see the header. Throws when no trial succeeded. */
export async function runSearch(options: SearchOptions): Promise<SearchResult> {
  if (!(Number.isInteger(options.trials) && options.trials >= 1)) throw new RangeError(`search: trials must be an integer >= 1, but got ${options.trials}`);
  await mkdir(options.dir, { recursive: true });
  const log = join(options.dir, TRIAL_LOG);
  const logged = await readTrials(log, { repair: options.resume === true });
  await checkConfig(options, logged.length);
  const plan = planSearch(options.model, options.learners, options.learnerByName);
  const optimizer = makeOptimizer(options.optimizer, plan, options.seed ?? 0, options.ddpg);
  const trials: TrialRecord[] = [];
  let best: TrialRecord | undefined;
  const record = (trial: TrialRecord, replayed: boolean) => {
    trials.push(trial);
    if (better(trial, best)) best = trial;
    options.onTrial?.({ record: trial, best, done: trials.length, total: options.trials, replayed });
  };
  const baselines = baselinesOf(plan, options);
  try {
    replay(optimizer, logged, options, baselines, (trial) => record(trial, true));
    for (let index = trials.length; index < options.trials; index++) {
      // the baselines first, told as if asked; then the optimizer's points
      const baseline = baselines[index];
      const point = baseline?.point ?? optimizer.ask();
      const trial = await runTrial(options, plan, index, point, baseline?.name);
      appendTrial(log, trial);
      optimizer.tell({ point: trial.repaired, score: trial.score });
      record(trial, false);
    }
  } finally {
    (optimizer as { dispose?(): void }).dispose?.();
  }
  if (best === undefined) throw new Error(`search: all ${trials.length} trials failed (first error: ${trials[0]?.error}); see ${log}`);
  return { plan, trials, best, replayed: Math.min(logged.length, options.trials) };
}

/** The winner re-trained: the chain in full mode (or fast: as the search built it) with the best point's options, saved to `saveTo` by the runner. */
export function retrainBest(options: Pick<SearchOptions, "learners" | "runner" | "latencyBatch">, plan: SearchPlan, best: TrialRecord, saveTo: string, mode: "fast" | "full" = "full"): Promise<TrialOutcome> {
  return options.runner.run({ index: -1, learners: trialLearners(plan, options.learners, best.repaired), mode, latencyBatch: options.latencyBatch, saveTo });
}

/** The per-layer values of a point (the searched option's map), for the summary and the report. */
export function layerValues(plan: SearchPlan, point: Point): Array<{ layer: string; option: string; value: number | string }> {
  return plan.space.dimensions.filter((dimension) => dimension.layer !== undefined).map((dimension) => ({ layer: dimension.layer as string, option: dimension.option, value: point[dimension.name] }));
}
