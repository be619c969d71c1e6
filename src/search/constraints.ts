// Budgets a search must meet, as repairs: a constraint maps an asked point to the feasible point
// actually evaluated, and the loop tells the optimizer the repaired point. A budget is never met
// by rejecting a trial (a model-based optimizer would learn nothing from a rejection), but by
// walking the per-layer values in graph order and clipping each one to what the budget still
// allows (AMC, He et al. 2018): even if every later layer took its smallest value the total stays
// within the budget, and even if every later layer took its largest the total reaches it. DDPG
// applies the same clip step by step as its episode walks the layers.
//   channel, dis-chn   `ratios`        keep fractions under a MACs budget (preserveRatio)
//   weight-sparse      `layerSparsity` sparsities whose weighted mean is the target, to the weight
//   uniform, non-uniform `layerBits`   bits under an average-bits budget (PocketFlow's bit optimizer)
// Costs come from the graph (graph/cost, graph/coupling); no learner code is imported: the option
// names are the learners' declared search space.
import { graphCost } from "../graph/cost.js";
import { couplingGroups } from "../graph/coupling.js";
import { weightsOf, type Graph } from "../graph/ir.js";
import type { Point, SearchSpace } from "./space.js";

export interface LayerConstraint {
  /** One line for the log and the report: the rule and its budget. */
  readonly description: string;
  /** Indices into the space's dimensions of the constrained ones, in walk (graph) order. */
  readonly dimensions: readonly number[];
  /**
   * The feasible value nearest `value` for the step-th constrained dimension, given the (feasible)
   * values already chosen for the steps before it.
   */
  clip(step: number, value: number, chosen: readonly number[]): number;
  /** For an agent's state: [cost removed so far, cost still free to remove after this step], as fractions of the total. */
  budgetState(step: number, chosen: readonly number[]): [number, number];
  /** The feasible point evaluated for an asked one (other dimensions pass through). */
  repair(point: Point): Point;
}

/** The learner options a constraint reads its budget from. */
export type BudgetOptions = Record<string, unknown>;

/** Walks the constrained dimensions in order, clipping each: the default repair. */
export function walkRepair(space: SearchSpace, constraint: Omit<LayerConstraint, "repair">, point: Point): Point {
  const chosen: number[] = [];
  const repaired: Point = { ...point };
  constraint.dimensions.forEach((index, step) => {
    const name = space.dimensions[index].name;
    const value = constraint.clip(step, point[name] as number, chosen);
    chosen.push(value);
    repaired[name] = value;
  });
  return repaired;
}

/** The dimensions of a space that set `option`, per layer, and their node ids. */
function layerDimensions(space: SearchSpace, option: string): { indices: number[]; layers: string[] } {
  const indices = space.dimensions.flatMap((dimension, i) => (dimension.option === option && dimension.layer !== undefined ? [i] : []));
  return { indices, layers: indices.map((i) => space.dimensions[i].layer as string) };
}

/**
 * The constraint of a space's per-layer option, with its budget from the learner's options; none
 * when the space has no budgeted option. Throws when the budget cannot be met at all.
 */
export function constraintFor(space: SearchSpace, graph: Graph, options: BudgetOptions): LayerConstraint | undefined {
  const has = (option: string) => layerDimensions(space, option).indices.length > 0;
  if (has("ratios")) return channelBudget(space, graph, (options.preserveRatio as number | undefined) ?? 0.5, (options.channelMultiple as number | undefined) ?? 8);
  if (has("layerSparsity")) return sparsityTarget(space, graph, (options.sparsity as number | undefined) ?? 0.75);
  if (has("layerBits")) return bitsBudget(space, graph, (options.averageBits as number | undefined) ?? (options.weightBits as number | undefined) ?? 4);
  return undefined;
}

// ------------------------------------------------------------------ channel pruning: MACs

/** Channels kept at a fraction, as the channel learners round them (channel-budget.ts keptChannels). */
export function keptChannelCount(channels: number, fraction: number, multiple: number): number {
  if (channels <= multiple) return keptChannelCount(channels, fraction, 1);
  return Math.max(multiple, Math.min(channels, Math.round((channels * fraction) / multiple) * multiple));
}

/** The MACs of the graph as a function of each layer's kept fraction: a node scales by the fractions of the groups it touches. */
export function macsModel(graph: Graph, layers: readonly string[]): { channels: number[]; total: number; macs(fractions: readonly number[]): number } {
  const groups = couplingGroups(graph);
  const factors = new Map<string, number[]>();
  const channels = layers.map((id, layer) => {
    const group = groups.find((candidate) => candidate.consumers.length === 1 && candidate.consumers[0].id === id);
    if (group === undefined) throw new RangeError(`search: '${id}' is not a conv whose input channels can be pruned; search the space the learner declares`);
    const members = [...group.producers, ...group.passThrough.map((member) => member.id), ...group.consumers.map((member) => member.id)];
    for (const member of new Set(members)) factors.set(member, [...(factors.get(member) ?? []), layer]);
    return group.channels;
  });
  const nodes = graphCost(graph).nodes.filter((node) => node.macs > 0).map((node) => ({ macs: node.macs, layers: factors.get(node.id) ?? [] }));
  const macs = (fractions: readonly number[]) => nodes.reduce((sum, node) => sum + node.layers.reduce((m, layer) => m * fractions[layer], node.macs), 0);
  return { channels, total: macs(layers.map(() => 1)), macs };
}

/**
 * Keep fractions under a MACs budget (AMC's action clipping, both ways): walking the layers, each
 * layer keeps the channel count (a multiple of `multiple`, as the learner rounds) nearest the asked
 * one such that the model lands on the budget whatever later layers choose within their bounds.
 * Counts are discrete, so the total lands at most one channel multiple of one layer under it.
 */
export function channelBudget(space: SearchSpace, graph: Graph, preserveRatio: number, multiple: number): LayerConstraint {
  const { indices, layers } = layerDimensions(space, "ratios");
  const model = macsModel(graph, layers);
  const budget = preserveRatio * model.total;
  const allowed = indices.map((index, layer) => {
    const channels = model.channels[layer];
    const low = keptChannelCount(channels, (space.dimensions[index].low as number) ?? 0, multiple);
    const counts = new Set<number>([channels]);
    for (let kept = low; kept < channels; kept += channels <= multiple ? 1 : multiple) counts.add(kept);
    return [...counts].sort((a, b) => a - b).map((kept) => kept / channels);
  });
  const fewest = allowed.map((values) => values[0]);
  const most = allowed.map((values) => values.at(-1) as number);
  if (model.macs(fewest) > budget * (1 + 1e-12)) {
    throw new RangeError(`search: keeping ${(100 * preserveRatio).toFixed(1)}% of the MACs cannot be met: with the fewest channels the search allows in each of the ${layers.length} layers the model keeps ${(100 * model.macs(fewest) / model.total).toFixed(1)}%; raise --preserve-ratio`);
  }
  const macsWith = (chosen: readonly number[], step: number, value: number, rest: readonly number[]) => model.macs([...chosen, value, ...rest.slice(step + 1)]);
  const clip = (step: number, value: number, chosen: readonly number[]): number => {
    const values = allowed[step];
    const fits = values.filter((v) => macsWith(chosen, step, v, fewest) <= budget * (1 + 1e-12));
    const high = fits.length > 0 ? (fits.at(-1) as number) : values[0];
    const reaches = values.find((v) => macsWith(chosen, step, v, most) >= budget * (1 - 1e-12));
    const low = reaches === undefined || reaches > high ? high : reaches;
    const asked = keptChannelCount(model.channels[step], value, multiple) / model.channels[step];
    return Math.min(high, Math.max(low, asked));
  };
  const budgetState = (step: number, chosen: readonly number[]): [number, number] => {
    const removed = model.total - model.macs([...chosen, ...most.slice(step)]);
    const free = model.macs([...chosen, ...most.slice(step)]) - model.macs([...chosen, ...fewest.slice(step)]);
    return [removed / model.total, free / model.total];
  };
  const constraint = { description: `channel keep ratios clipped to keep ${(100 * preserveRatio).toFixed(1)}% of the MACs (${layers.length} layers, counts in multiples of ${multiple})`, dimensions: indices, clip, budgetState };
  return { ...constraint, repair: (point) => walkRepair(space, constraint, point) };
}

// ------------------------------------------------------------------ weight-sparse: pruned weights

/** The size of the weight a per-layer option applies to (the kernel of a conv or dense, the depthwise kernel). */
function weightSize(graph: Graph, id: string): number {
  const node = graph.nodes.find((candidate) => candidate.id === id);
  const weight = node === undefined ? undefined : weightsOf(node).find(([name]) => name === "kernel" || name === "depthwiseKernel");
  if (weight === undefined) throw new RangeError(`search: '${id}' has no kernel to prune or quantize; search the space the learner declares`);
  return weight[1].values.length;
}

/** Counts apportioned to a total by largest remainders, each within [0, cap]. */
function apportion(shares: readonly number[], caps: readonly number[], total: number): number[] {
  const counts = shares.map((share, i) => Math.min(caps[i], Math.floor(share)));
  let left = total - counts.reduce((sum, count) => sum + count, 0);
  const order = shares.map((share, i) => i).sort((a, b) => (shares[b] - Math.floor(shares[b])) - (shares[a] - Math.floor(shares[a])) || a - b);
  while (left > 0) {
    const before = left;
    for (const i of order) if (left > 0 && counts[i] < caps[i]) { counts[i] += 1; left -= 1; }
    if (left === before) break;
  }
  return counts;
}

/**
 * Per-layer sparsities whose pruned weights total round(sparsity · N) of the N weights of the
 * searched layers, exactly (the learner rounds each layer's count as apportioned here), each
 * within its dimension's [low, high]. A point is rescaled (the layers' proportions kept, each
 * held within its bounds); an agent walking the layers is clipped so that the later layers can
 * still meet the target (PocketFlow raises the lower bound the same way).
 */
export function sparsityTarget(space: SearchSpace, graph: Graph, sparsity: number): LayerConstraint {
  const { indices, layers } = layerDimensions(space, "layerSparsity");
  const sizes = layers.map((id) => weightSize(graph, id));
  const caps = indices.map((index, i) => Math.floor((space.dimensions[index].high as number) * sizes[i]));
  const floors = indices.map((index, i) => Math.min(caps[i], Math.ceil((space.dimensions[index].low as number) * sizes[i])));
  const total = sizes.reduce((sum, size) => sum + size, 0);
  const target = Math.round(sparsity * total);
  if (caps.reduce((sum, cap) => sum + cap, 0) < target) throw new RangeError(`search: sparsity ${sparsity} cannot be met with every layer at its largest searched sparsity; lower --sparsity`);
  if (floors.reduce((sum, floor) => sum + floor, 0) > target) throw new RangeError(`search: sparsity ${sparsity} is below what every layer at its smallest searched sparsity prunes; raise --sparsity`);
  const pruned = (chosen: readonly number[]) => chosen.reduce((sum, value, i) => sum + Math.round(value * sizes[i]), 0);
  const after = (bounds: readonly number[], step: number) => bounds.slice(step + 1).reduce((sum, bound) => sum + bound, 0);
  const clip = (step: number, value: number, chosen: readonly number[]): number => {
    const left = target - pruned(chosen);
    const high = Math.min(caps[step], left - after(floors, step));
    const low = Math.max(floors[step], Math.min(high, left - after(caps, step)));
    return Math.min(high, Math.max(low, Math.round(value * sizes[step]))) / sizes[step];
  };
  const budgetState = (step: number, chosen: readonly number[]): [number, number] => [pruned(chosen) / total, (target - pruned(chosen)) / total];
  const repair = (point: Point): Point => {
    const asked = indices.map((index) => Math.max(0, point[space.dimensions[index].name] as number));
    const counts = apportion(rescaledShares(asked, sizes, floors, caps, target), caps, target);
    const repaired: Point = { ...point };
    indices.forEach((index, i) => { repaired[space.dimensions[index].name] = counts[i] / sizes[i]; });
    return repaired;
  };
  return { description: `layer sparsities rescaled to prune ${target} of ${total} weights (${(100 * sparsity).toFixed(1)}%)`, dimensions: indices, clip, budgetState, repair };
}

/** Pruned-weight shares α·s_i·n_i (each within [floor, cap]), α found by bisection so that they sum to the target; all zero: uniform. */
function rescaledShares(asked: readonly number[], sizes: readonly number[], floors: readonly number[], caps: readonly number[], target: number): number[] {
  const weights = asked.every((value) => value === 0) ? asked.map(() => 1) : asked;
  const shares = (alpha: number) => weights.map((value, i) => Math.min(caps[i], Math.max(floors[i], alpha * value * sizes[i])));
  const sum = (alpha: number) => shares(alpha).reduce((s, share) => s + share, 0);
  let [lo, hi] = [0, 1];
  while (sum(hi) < target && hi < 1e12) hi *= 2;
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2;
    if (sum(mid) < target) lo = mid;
    else hi = mid;
  }
  return shares(hi);
}

// ------------------------------------------------------------------ quantization: average bits

export const MIN_SEARCH_BITS = 2;
export const MAX_SEARCH_BITS = 8;

/**
 * PocketFlow's bit optimizer: with B = averageBits · N over the N weights of the searched layers,
 * each layer in order gets bits = min(asked, 2 + floor(duty / n_i), 8), duty = B − used − 2 · (weights
 * from this layer on), so later layers can always take 2 bits; the last layer takes what is left
 * (at most 8). The weighted average never exceeds the budget. (PocketFlow walks the layers in a
 * random order per roll-out; we walk graph order, so a point means the same bits every time.)
 */
export function bitsBudget(space: SearchSpace, graph: Graph, averageBits: number): LayerConstraint {
  const { indices, layers } = layerDimensions(space, "layerBits");
  const sizes = layers.map((id) => weightSize(graph, id));
  const total = sizes.reduce((sum, size) => sum + size, 0);
  const budget = averageBits * total;
  const used = (chosen: readonly number[]) => chosen.reduce((sum, bits, i) => sum + bits * sizes[i], 0);
  const clip = (step: number, value: number, chosen: readonly number[]): number => {
    const after = sizes.slice(step + 1).reduce((sum, size) => sum + size, 0);
    const duty = budget - used(chosen) - MIN_SEARCH_BITS * (after + sizes[step]);
    const most = Math.min(MAX_SEARCH_BITS, MIN_SEARCH_BITS + Math.floor(duty / sizes[step] + 1e-9));
    const asked = step === sizes.length - 1 ? most : Math.round(value);
    return Math.max(MIN_SEARCH_BITS, Math.min(asked, most));
  };
  const budgetState = (step: number, chosen: readonly number[]): [number, number] => [used(chosen) / (MAX_SEARCH_BITS * total), (budget - used(chosen)) / (MAX_SEARCH_BITS * total)];
  const constraint = { description: `layer bits within an average of ${averageBits} bits over ${total} weights (${layers.length} layers)`, dimensions: indices, clip, budgetState };
  return { ...constraint, repair: (point) => walkRepair(space, constraint, point) };
}
