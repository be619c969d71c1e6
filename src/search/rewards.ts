// Rewards a search maximizes, from what a trial measured on the validation split:
//   accuracy             validation accuracy (default; for channel pruning measured right after
//                        reconstruction, as AMC's FLOPs-constrained search)
//   accuracy-log-flops   −(1 − acc) · log(MACs): AMC's R_FLOPs, error weighed by the cost, for a
//                        search whose budget is not fixed by a constraint
//   pocketflow-flops     −max(0.15, 1 − acc) · log(MACs): PocketFlow's channel-pruning alternative,
//                        which stops rewarding accuracy above 85% and then only cuts MACs
//   accuracy-log-sparsity  acc · log(1 + sparsity): PocketFlow's multi-objective weight-sparse reward,
//                        sparsity = the share of parameters pruned
//   accuracy-per-byte    acc − 0.1 · log2(packed bytes / float bytes): bits and pruning traded for size
import type { TrialMetrics } from "./trial-log.js";

export const REWARD_NAMES = ["accuracy", "accuracy-log-flops", "pocketflow-flops", "accuracy-log-sparsity", "accuracy-per-byte"] as const;
export type RewardName = (typeof REWARD_NAMES)[number];

const REWARDS: Record<RewardName, (m: TrialMetrics) => number> = {
  accuracy: (m) => m.validationAccuracy,
  "accuracy-log-flops": (m) => -(1 - m.validationAccuracy) * Math.log(Math.max(1, m.macs)),
  "pocketflow-flops": (m) => -Math.max(0.15, 1 - m.validationAccuracy) * Math.log(Math.max(1, m.macs)),
  "accuracy-log-sparsity": (m) => m.validationAccuracy * Math.log(1 + (m.params - m.unprunedParams) / Math.max(1, m.params)),
  "accuracy-per-byte": (m) => m.validationAccuracy + 0.1 * Math.log2(m.weightBytes / Math.max(1, m.packedBytes)),
};

/** The reward of a trial's measurements under the named reward. */
export function reward(name: RewardName, metrics: TrialMetrics): number {
  const compute = REWARDS[name];
  if (compute === undefined) throw new RangeError(`search: reward must be one of ${REWARD_NAMES.join(", ")}, but got '${name}'`);
  return compute(metrics);
}
