// Options the channel-pruning learners (channel, dis-chn) share, declared once: the FLOPs budget
// and channel alignment, the sampling of layer activations, and the fine-tune after pruning.
import type { LearnerOptionSpec } from "./learner.js";

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
