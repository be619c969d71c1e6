// The interface every learner implements (PocketFlow's AbstractLearner, reduced to what a chain
// and a search need): take a compressed model and data, return a new compressed model whose
// history ends with what this learner did. Learners chain because input and output are the same
// kind of value: prune, then quantize, and the quantizer keeps the pruner's masks.
// Each learner declares its options (defaults, valid ranges) once, for the library, the CLI and
// the checks alike, and the hyper-parameter space a search drives.
import type { Augmentation, Normalization } from "../data/batches.js";
import type { Dataset } from "../data/dataset.js";
import type { CompressedModel } from "../graph/compressed-model.js";
import type { TrainingOptimizerConfig } from "../train/optimizers.js";
import type { ScheduleOptions } from "../train/schedule.js";

export type { CompressedModel } from "../graph/compressed-model.js";

export interface LearnerData {
  train: Dataset;
  /** Measures accuracy during and after compression (PocketFlow splits 5000 training samples off). */
  validation?: Dataset;
  /** Pixel normalization the model was trained with (kept in the model's sidecar). */
  normalization?: Normalization;
  /** Training augmentation (random crop, flip). */
  augmentation?: Augmentation;
}

/**
 * 'fast': a short fine-tune, as run for every candidate inside a search;
 * 'full': the complete (re-)training given to the winner.
 */
export type LearnerMode = "fast" | "full";

/** One option of a learner, with its default and valid values. */
export type LearnerOptionSpec = { name: string; help: string } & (
  | { kind: "number" | "integer"; default?: number; min?: number; max?: number }
  | { kind: "choice"; choices: readonly string[]; default?: string }
  | { kind: "flag"; default?: boolean }
);

/** One dimension of the space a search explores (the search's optimizers read it). */
export interface HyperParameter {
  /** The learner option it sets. */
  option: string;
  kind: "continuous" | "integer" | "categorical";
  low?: number;
  high?: number;
  /** Sample on a log scale (learning rates). */
  log?: boolean;
  choices?: ReadonlyArray<string | number>;
  /** Node ids with one value each (per-layer ratios or bits); absent: one global value. */
  perLayer?: readonly string[];
}

/** The fields of the history entry a learner appends. */
export interface LearnerRecord {
  learner: string;
  mode: LearnerMode;
  options: Record<string, unknown>;
  /** Validation accuracy after the learner ran, when validation data was given. */
  validationAccuracy?: number;
  /** Steps trained. */
  steps: number;
  seconds: number;
}

/** A named setting of a learner's searched options (e.g. `{ ratios: { conv_2: 0.5, ... } }`). */
export interface SearchBaseline {
  name: string;
  options: Record<string, unknown>;
}

export interface Learner<Options> {
  /** PocketFlow's learner name, e.g. 'full-prec', 'channel', 'uniform'. */
  readonly name: string;
  /** One line for `pocketflow compress --help`. */
  readonly description: string;
  readonly options: readonly LearnerOptionSpec[];
  /**
   * The optimizer and learning-rate schedule the learner fine-tunes with when not given them,
   * where they differ from the net's fine-tune recipe (a quantizer's small Adam steps):
   * `pocketflow compress` uses them in the recipe's place, its --lr still setting the rate.
   */
  readonly trainingDefaults?: { optimizer?: TrainingOptimizerConfig; schedule?: ScheduleOptions };
  /** The hyper-parameters a search drives on this model, given the learner's other options (their defaults filled in). */
  searchSpace(model: CompressedModel, options?: Options): HyperParameter[];
  /**
   * The one-value-for-every-layer settings a search evaluates first (the uniform ratio, PocketFlow's
   * heuristic), as the searched options: a search then never ends below them on its reward.
   */
  searchBaselines?(model: CompressedModel, options: Options): SearchBaseline[];
  /**
   * A new compressed model (the input is left as it was) whose history ends with this learner's
   * record. Throws LearnerRefusedError when the input holds state this learner cannot keep.
   */
  compress(model: CompressedModel, data: LearnerData, options: Options): Promise<CompressedModel>;
}

/** A learner refused its input model because it would undo an earlier learner's work. */
export class LearnerRefusedError extends Error {
  constructor(readonly learner: string, reason: string) {
    super(`learner '${learner}' refuses this model: ${reason}`);
    this.name = "LearnerRefusedError";
  }
}

/** The record of a learner's run, as its history entry holds it. */
export function lastRecord(model: CompressedModel): LearnerRecord | undefined {
  const entry = model.history.at(-1);
  return entry !== undefined && typeof entry.learner === "string" ? (entry as unknown as LearnerRecord) : undefined;
}

/** A learner option outside its declared values; `option` and `rule` let a CLI name its flag. */
export class LearnerOptionError extends RangeError {
  constructor(readonly learner: string, readonly option: string, readonly rule: string, readonly value: unknown) {
    super(`learner '${learner}': option ${option} must be ${rule}, but got ${JSON.stringify(value)}`);
    this.name = "LearnerOptionError";
  }
}

function checkOption(learner: string, spec: LearnerOptionSpec, value: unknown): void {
  const fail = (rule: string): never => {
    throw new LearnerOptionError(learner, spec.name, rule, value);
  };
  if (spec.kind === "flag") {
    if (typeof value !== "boolean") fail("true or false");
  } else if (spec.kind === "choice") {
    if (typeof value !== "string" || !spec.choices.includes(value)) fail(`one of ${spec.choices.join(", ")}`);
  } else {
    const rule = `${spec.kind === "integer" ? "an integer" : "a number"}${spec.min === undefined ? "" : ` >= ${spec.min}`}${spec.max === undefined ? "" : ` <= ${spec.max}`}`;
    if (typeof value !== "number" || !Number.isFinite(value) || (spec.kind === "integer" && !Number.isInteger(value))) fail(rule);
    if ((spec.min !== undefined && (value as number) < spec.min) || (spec.max !== undefined && (value as number) > spec.max)) fail(rule);
  }
}

/**
 * The learner's options with defaults filled in, each declared one checked against its spec.
 * Options the learner does not declare pass through unchecked (typed by the learner: training
 * hooks, schedules).
 */
export function resolveOptions<Options>(learner: Pick<Learner<Options>, "name" | "options">, given: Partial<Options> | Record<string, unknown>): Options {
  const resolved: Record<string, unknown> = { ...given };
  for (const spec of learner.options) {
    if (resolved[spec.name] === undefined && spec.default !== undefined) resolved[spec.name] = spec.default;
    if (resolved[spec.name] !== undefined) checkOption(learner.name, spec, resolved[spec.name]);
  }
  return resolved as Options;
}
