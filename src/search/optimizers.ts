// Every optimizer by the name `--optimizer` takes. A plain map, so adding one is one line.
import { Ddpg, type DdpgOptions } from "./ddpg.js";
import { GpOptimizer } from "./gp.js";
import type { Optimizer, OptimizerOptions } from "./optimizer.js";
import { RandomSearch } from "./random-search.js";
import type { SearchSpace } from "./space.js";
import { TpeOptimizer } from "./tpe.js";

export type OptimizerFactory = (space: SearchSpace, options: OptimizerOptions) => Optimizer;

export const OPTIMIZERS: Record<string, OptimizerFactory> = {
  random: (space, options) => new RandomSearch(space, options),
  tpe: (space, options) => new TpeOptimizer(space, options),
  gp: (space, options) => new GpOptimizer(space, options),
  // walks the layers with the budget's constraint and their state when given them (DdpgOptions)
  ddpg: (space, options) => new Ddpg(space, options as DdpgOptions),
};

/** The optimizer of that name over the space; the error lists the names there are. */
export function optimizerByName(name: string, space: SearchSpace, options: OptimizerOptions = {}): Optimizer {
  const factory = Object.hasOwn(OPTIMIZERS, name) ? OPTIMIZERS[name] : undefined;
  if (factory === undefined) throw new RangeError(`optimizer must be one of ${Object.keys(OPTIMIZERS).join(", ")}, but got '${name}'`);
  return factory(space, options);
}
