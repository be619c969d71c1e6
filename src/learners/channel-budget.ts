// Which convolutions channel pruning may thin, and how many input channels each keeps. A layer
// is a conv2d whose input channels form a coupling group of their own: produced by convolutions,
// read by this conv alone, fixed by no model input or output. Thinning it removes those channels
// from the producer, its batch norm and activation too, so both convs get cheaper. (A group
// read by several layers, like a residual stream, is left whole: one selection cannot serve
// several consumers' reconstructions.) A FLOPs budget ("keep 50% of the MACs") becomes one
// uniform channel fraction, found by bisection on the exact MAC count of the thinned model.
import { graphCost } from "../graph/cost.js";
import type { CompressedModel } from "../graph/compressed-model.js";
import { couplingGroups, isPrunable, type CouplingGroup } from "../graph/coupling.js";
import type { Conv2DNode, Graph, Weight } from "../graph/ir.js";
import { shrinkCompressedModel } from "../graph/shrink.js";
import type { SearchBaseline } from "./learner.js";

export interface PrunableLayer {
  /** The conv2d whose input channels are selected. */
  id: string;
  group: CouplingGroup;
  channels: number;
}

/** The layers channel pruning may thin, in graph order. */
export function prunableLayers(graph: Graph): PrunableLayer[] {
  const ops = new Map(graph.nodes.map((node) => [node.id, node.op]));
  const layers: PrunableLayer[] = [];
  for (const group of couplingGroups(graph)) {
    const [consumer, ...others] = group.consumers;
    if (!isPrunable(group) || consumer === undefined || others.length > 0 || ops.get(consumer.id) !== "conv2d") continue;
    // a conv reading a concatenation reads several groups: one selection cannot serve them
    if (consumer.positions !== 1 || consumer.offset !== undefined || !group.producers.every((id) => ops.get(id) === "conv2d")) continue;
    layers.push({ id: consumer.id, group, channels: group.channels });
  }
  const order = new Map(graph.nodes.map((node, i) => [node.id, i]));
  return layers.sort((a, b) => (order.get(a.id) as number) - (order.get(b.id) as number));
}

/**
 * Channels kept at a fraction, rounded to a multiple of `multiple` (at least one multiple, at most
 * all channels): the SIMD kernels work on 4 lanes and 4×8 GEMM tiles, and a conv with 15 or 31
 * channels ran slower here than one with 32 (ResNet-20, batch 32), so unaligned counts would
 * spend the FLOPs saved. A layer of at most `multiple` channels is cut channel by channel.
 */
export function keptChannels(channels: number, fraction: number, multiple = 1): number {
  if (channels <= multiple) return keptChannels(channels, fraction, 1);
  const rounded = Math.round((channels * fraction) / multiple) * multiple;
  return Math.max(multiple, Math.min(channels, rounded));
}

/**
 * MACs of the graph with each layer's group thinned to `kept` channels: every node's MACs scale
 * by the kept fraction of its input group (consumers, pass-through members) and of its output
 * group (producers).
 */
export function thinnedMacs(graph: Graph, layers: readonly PrunableLayer[], kept: ReadonlyMap<string, number>): number {
  const scale = new Map<string, number>();
  const multiply = (id: string, factor: number) => scale.set(id, (scale.get(id) ?? 1) * factor);
  for (const layer of layers) {
    const fraction = (kept.get(layer.id) ?? layer.channels) / layer.channels;
    for (const id of layer.group.producers) multiply(id, fraction);
    for (const member of [...layer.group.passThrough, ...layer.group.consumers]) multiply(member.id, fraction);
  }
  return graphCost(graph).nodes.reduce((sum, node) => sum + node.macs * (scale.get(node.id) ?? 1), 0);
}

/** Kept channels per layer at one fraction. */
function uniform(layers: readonly PrunableLayer[], fraction: number, multiple: number): Map<string, number> {
  return new Map(layers.map((layer) => [layer.id, keptChannels(layer.channels, fraction, multiple)]));
}

/**
 * The kept channels per layer of one uniform fraction whose thinned model keeps at most
 * `preserveRatio` of the MACs (as close to it as channel counts allow). Throws when even one
 * channel per layer keeps more.
 */
export function channelsForBudget(graph: Graph, layers: readonly PrunableLayer[], preserveRatio: number, multiple = 1): Map<string, number> {
  if (!(preserveRatio > 0 && preserveRatio <= 1)) throw new RangeError(`channel pruning: preserveRatio must be in (0, 1], but got ${preserveRatio}`);
  const total = graphCost(graph).macs;
  const budget = preserveRatio * total;
  const floor = thinnedMacs(graph, layers, uniform(layers, 0, multiple));
  if (floor > budget) {
    throw new RangeError(`channel pruning: keeping ${(100 * preserveRatio).toFixed(1)}% of the MACs cannot be met: with the fewest channels in each of the ${layers.length} prunable layers the model keeps ${(100 * floor / total).toFixed(1)}%; raise preserveRatio`);
  }
  let [lo, hi] = [0, 1];
  for (let i = 0; i < 40; i++) {
    const mid = (lo + hi) / 2;
    if (thinnedMacs(graph, layers, uniform(layers, mid, multiple)) <= budget) lo = mid;
    else hi = mid;
  }
  return uniform(layers, lo, multiple);
}

/**
 * The kept channel count per layer a pruning learner's options ask for: `ratios` (a keep fraction
 * per named layer, the others left whole) or else the FLOPs budget `preserveRatio`, counts in
 * multiples of `multiple`. Errors name the learner, the layer and the rule.
 */
export function keptChannelsOf(learner: string, graph: Graph, layers: readonly PrunableLayer[], preserveRatio: number, ratios: Record<string, number> | undefined, multiple = 1): Map<string, number> {
  if (ratios === undefined) return channelsForBudget(graph, layers, preserveRatio, multiple);
  const byId = new Map(layers.map((layer) => [layer.id, layer]));
  return new Map(Object.entries(ratios).map(([id, ratio]) => {
    const layer = byId.get(id);
    if (layer === undefined) throw new RangeError(`learner '${learner}': ratios names '${id}', which is not a prunable layer (prunable: ${[...byId.keys()].join(", ")})`);
    if (!(ratio > 0 && ratio <= 1)) throw new RangeError(`learner '${learner}': the ratio of '${id}' must be in (0, 1], but got ${ratio}`);
    return [id, keptChannels(layer.channels, ratio, multiple)];
  }));
}

/**
 * The model with only the `kept` input channels of prunable layer `id` (and the channels of its
 * producers, batch norms and activations that carry them), removed for real; and the layer's
 * thinned kernel, for a learner to overwrite with reconstructed weights.
 */
export function thinLayerInputs(learner: string, model: CompressedModel, id: string, kept: number[]): { model: CompressedModel; kernel: Weight } {
  const group = couplingGroups(model.graph).find((candidate) => candidate.consumers.length === 1 && candidate.consumers[0].id === id);
  if (group === undefined) throw new Error(`${learner}: the input group of '${id}' is gone`);
  const shrunk = shrinkCompressedModel(model, [{ group, keep: kept }]);
  return { model: shrunk, kernel: (shrunk.graph.nodes.find((node) => node.id === id) as Conv2DNode).weights.kernel };
}

/** The search's baseline: every layer at the one fraction channelsForBudget gives (what preserveRatio alone prunes). */
export function uniformRatiosBaseline(graph: Graph, preserveRatio: number, multiple: number): SearchBaseline {
  const layers = prunableLayers(graph);
  const kept = channelsForBudget(graph, layers, preserveRatio, multiple);
  return { name: "uniform", options: { ratios: Object.fromEntries(layers.map((layer) => [layer.id, (kept.get(layer.id) ?? layer.channels) / layer.channels])) } };
}
