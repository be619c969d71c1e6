// What the channel-pruning learners (channel, dis-chn) share, declared once: the FLOPs budget
// and channel alignment, the sampling of layer activations, and the fine-tune after pruning.
import type { CompressedModel } from "../graph/compressed-model.js";
import type { Graph } from "../graph/ir.js";
import { FullPrecLearner, type FullPrecOptions } from "./full-prec.js";
import type { LearnerData, LearnerOptionSpec } from "./learner.js";

/** The options of both channel-pruning learners, beside their own and the fine-tune's. */
export interface ChannelPruningOptions {
  /** Fraction of the model's MACs to keep (PocketFlow's prune ratio, as a preserve ratio), default 0.5. */
  preserveRatio?: number;
  /** Channel keep fractions per prunable conv (the search's); overrides preserveRatio. */
  ratios?: Record<string, number>;
  /** Kept channel counts are multiples of this (default 8: SIMD- and GEMM-tile-aligned, see channel-budget.ts). */
  channelMultiple?: number;
  /** Images sampled per layer (default 400) and output positions per image (default 10). */
  samples?: number;
  positionsPerImage?: number;
  /** 'none' skips the fine-tune after pruning (the search's reward right after it, as AMC). */
  finetune?: "none" | "fast" | "full";
  /** Distil from the original model while fine-tuning (default true). */
  distill?: boolean;
  /** Told of each layer as it is pruned. */
  progress?(message: string): void;
}

export const BUDGET_OPTIONS: readonly LearnerOptionSpec[] = [
  { name: "preserveRatio", kind: "number", min: 0, max: 1, default: 0.5, help: "fraction of the MACs to keep" },
  { name: "channelMultiple", kind: "integer", min: 1, default: 8, help: "kept channel counts are multiples of this (fast kernels)" },
];

export const SAMPLING_OPTIONS: readonly LearnerOptionSpec[] = [
  { name: "samples", kind: "integer", min: 1, default: 400, help: "images sampled per layer" },
  { name: "positionsPerImage", kind: "integer", min: 1, default: 10, help: "output positions sampled per image" },
];

export const FINETUNE_OPTIONS: readonly LearnerOptionSpec[] = [
  { name: "finetune", kind: "choice", choices: ["none", "fast", "full"], default: "fast", help: "fine-tune after pruning" },
  { name: "distill", kind: "flag", default: true, help: "distil from the original model while fine-tuning" },
  { name: "fastSteps", kind: "integer", min: 1, default: 100, help: "steps of a fast fine-tune" },
  { name: "epochs", kind: "integer", min: 1, help: "epochs of a full fine-tune" },
];

/** The learner's own options (its declared ones FullPrecLearner does not take, ratios, progress): not the fine-tune's. */
function ownOptionNames(specs: readonly LearnerOptionSpec[]): Set<string> {
  const fineTune = new Set(new FullPrecLearner().options.map((spec) => spec.name));
  return new Set([...specs.map((spec) => spec.name).filter((name) => !fineTune.has(name)), "ratios", "progress"]);
}

/**
 * The fine-tune after pruning: FullPrecLearner on the pruned model with the learner's training
 * options (its own removed, `specs` says which are declared), the original as the teacher.
 */
export function fineTunePruned(original: Graph, pruned: CompressedModel, data: LearnerData, options: ChannelPruningOptions, specs: readonly LearnerOptionSpec[]): Promise<CompressedModel> {
  const { finetune = "fast", distill = true } = options;
  if (finetune === "none") return Promise.resolve(pruned);
  const own = ownOptionNames(specs);
  const training = Object.fromEntries(Object.entries(options as Record<string, unknown>).filter(([name]) => !own.has(name))) as Partial<FullPrecOptions>;
  return new FullPrecLearner().compress(pruned, data, {
    ...training, epochs: training.epochs ?? 1, batchSize: training.batchSize ?? 64, mode: finetune,
    distillation: distill ? {} : undefined, teacherGraph: original,
  } as FullPrecOptions);
}
