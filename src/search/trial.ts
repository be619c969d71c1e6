// One trial: the chain of learners builds a candidate from a point's options, in fast mode (a
// short fine-tune, or for channel pruning none: AMC's reward right after reconstruction), and the
// candidate is measured on the validation split (never the test set), with its cost. The winner's
// re-training runs the same chain in full mode and is measured on the test set too. The same code
// runs inside a trial worker (trial-worker.ts) and in-process (tests, fake learners).
import type { Dataset } from "../data/dataset.js";
import { latenciesMs } from "../deploy/latency.js";
import { measureModel } from "../learners/compress.js";
import { resolveOptions, type CompressedModel, type Learner, type LearnerData, type LearnerMode } from "../learners/learner.js";
import type { TrialMetrics } from "./trial-log.js";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each learner has its own options
type AnyLearner = Learner<any>;

/** A learner of the chain by name, with its options (plain data: it crosses to a worker). */
export interface ChainLearner {
  learner: string;
  options: Record<string, unknown>;
}

export interface TrialRequest {
  /** The trial's index (-1: the winner's re-training, the only one measured on the test set). */
  index: number;
  learners: readonly ChainLearner[];
  /** 'fast' inside the search, 'full' for the winner. */
  mode: LearnerMode;
  /** Measure latency at this batch (off by default: it is noisy). */
  latencyBatch?: number;
  /** Save the candidate to this model directory (the winner). */
  saveTo?: string;
}

export interface TrialOutcome {
  metrics?: TrialMetrics & { testAccuracy?: number };
  /** The candidate, when the trial ran in-process (a worker saves it instead). */
  model?: CompressedModel;
  seconds: number;
  error?: string;
}

/**
 * A learner's options for a mode: fast trials give learners that declare `mode` 'fast' and those
 * that declare `finetune` (the channel learners) 'none' unless the user chose one; the winner
 * gets 'full' for both.
 */
export function optionsForMode(learner: AnyLearner, options: Record<string, unknown>, mode: LearnerMode): Record<string, unknown> {
  const declares = (name: string) => learner.options.some((spec) => spec.name === name);
  const given: Record<string, unknown> = { ...options };
  if (declares("mode")) given.mode = mode;
  if (declares("finetune")) given.finetune = mode === "full" ? "full" : given.finetune ?? "none";
  return given;
}

/** Runs the chain in the request's mode on `model` and measures the candidate. */
export async function evaluateTrial(model: CompressedModel, data: LearnerData & { test?: Dataset }, request: TrialRequest, learnerByName: (name: string) => AnyLearner): Promise<TrialOutcome> {
  const started = performance.now();
  let current = model;
  for (const step of request.learners) {
    const learner = learnerByName(step.learner);
    current = await learner.compress(current, data, resolveOptions(learner, optionsForMode(learner, step.options, request.mode)));
  }
  const measured = measureModel(current, { validation: data.validation, test: request.index < 0 ? data.test : undefined, normalization: data.normalization });
  const { validationAccuracy, testAccuracy, macs, params, unprunedParams, weightBytes, sparseBytes, packedBytes } = measured;
  if (validationAccuracy === undefined) throw new Error("search: trials need a validation split to be measured on; hold some training samples out (--validation)");
  const metrics: TrialOutcome["metrics"] = { validationAccuracy, macs, params, unprunedParams, weightBytes, sparseBytes, packedBytes, ...(testAccuracy === undefined ? {} : { testAccuracy }) };
  if (request.latencyBatch !== undefined) [metrics.latencyMs] = await latenciesMs([current.graph], { batch: request.latencyBatch });
  return { metrics, model: current, seconds: (performance.now() - started) / 1000 };
}

/** An error as the trial log keeps it: its message, or what was thrown. */
export const errorText = (error: unknown): string => (error instanceof Error ? `${error.name}: ${error.message}` : String(error));
