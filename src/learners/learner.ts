// The interface every learner implements (PocketFlow's AbstractLearner, reduced to what a search
// needs): take a model IR graph and data, return a compressed graph plus what was done to it.
// Learners chain because the output is again a graph: prune, then quantize.
import type { Augmentation, Normalization } from "../data/batches.js";
import type { Dataset } from "../data/dataset.js";
import type { Graph } from "../graph/ir.js";

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

/** One entry of a model's history, kept in its pocketflow.json sidecar. */
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

export interface CompressedModel {
  graph: Graph;
  record: LearnerRecord;
}

export interface Learner<Options> {
  /** PocketFlow's learner name, e.g. 'full-prec', 'channel', 'uniform'. */
  readonly name: string;
  compress(model: Graph, data: LearnerData, options: Options): Promise<CompressedModel>;
}
