// Learners by the name `pocketflow compress --learner` takes. Each learner issue adds its own.
import { ChannelPrunedLearner } from "./channel-pruned.js";
import { DisChnPrunedLearner } from "./dis-chn-pruned.js";
import { FullPrecLearner } from "./full-prec.js";
import type { Learner } from "./learner.js";
import { NonUniformQuantLearner } from "./non-uniform-quant.js";
import { UniformQuantLearner } from "./uniform-quant.js";
import { UniformQuantTFLearner } from "./uniform-quant-tf.js";
import { WeightSparseLearner } from "./weight-sparse.js";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each learner has its own options
type AnyLearner = Learner<any>;

const LEARNERS = new Map<string, () => AnyLearner>([
  ["full-prec", () => new FullPrecLearner()],
  ["weight-sparse", () => new WeightSparseLearner()],
  ["channel", () => new ChannelPrunedLearner()],
  ["dis-chn", () => new DisChnPrunedLearner()],
  ["uniform", () => new UniformQuantLearner()],
  ["uniform-tf", () => new UniformQuantTFLearner()],
  ["non-uniform", () => new NonUniformQuantLearner()],
]);

/** The names `--learner` takes. */
export const learnerNames = (): string[] => [...LEARNERS.keys()];

/** A new learner of that name, or an error listing the names there are. */
export function learnerByName(name: string): AnyLearner {
  const make = LEARNERS.get(name);
  if (make === undefined) throw new RangeError(`unknown learner '${name}'; the learners are: ${learnerNames().join(", ")}`);
  return make();
}
