// Channel pruning for real: a smaller graph of the same family, in which every member of a
// chosen coupling group holds only the kept channels. PocketFlow's pruned models kept their full
// shapes (zeroed or gathered channels) and so ran no faster; here the removed channels leave the
// arrays, so the shrunk model is a plain model that any tfjs runs. The coupling groups
// (coupling.ts) say which axis of which node each channel occupies; this file only cuts.
import { couplingGroups, memberIndices, type ChannelMember, type CouplingGroup } from "./coupling.js";
import { sizeOf, weightsOf, type Graph, type GraphNode, type Weight } from "./ir.js";
import { inferShapes } from "./shapes.js";
import type { CompressedModel, WeightMask } from "./compressed-model.js";

/** Which channels of one coupling group stay: indices into the group's channels, ascending. */
export interface ChannelChoice {
  group: CouplingGroup;
  keep: number[];
}

/** Indices each node loses on its input channel axis and on its output channel axis. */
interface NodeCuts {
  input: Set<number>;
  output: Set<number>;
}

/** By node id: what a shrink removes, checked against the graph before anything is built. */
export type ShrinkPlan = Map<string, NodeCuts>;

type Side = keyof NodeCuts;

/** The weights (IR name, axis) that hold a node's input and output channels. */
function channelAxes(node: GraphNode): Record<Side, Array<[string, number]>> {
  switch (node.op) {
    case "conv2d":
      return { input: [["kernel", 2]], output: [["kernel", 3], ["bias", 0]] };
    case "dense":
      return { input: [["kernel", 0]], output: [["kernel", 1], ["bias", 0]] };
    case "depthwiseConv2d":
      // Only multiplier 1 reaches here (other multipliers pin their groups): channel in = out.
      return { input: [], output: [["depthwiseKernel", 2], ["bias", 0]] };
    case "batchNorm":
      return { input: [], output: [["gamma", 0], ["beta", 0], ["movingMean", 0], ["movingVariance", 0]] };
    default:
      return { input: [], output: [] };
  }
}

const WHERE = "shrinkChannels";
const describeGroup = (group: CouplingGroup): string => `the group of ${group.channels} channels produced by ${group.producers.join(" + ") || "nothing"}`;

/** The graph's own group equal to the one given, or an error saying where groups come from. */
function currentGroup(groups: CouplingGroup[], given: CouplingGroup, index: number, graphName: string): CouplingGroup {
  const text = JSON.stringify(given);
  const found = groups.find((group) => JSON.stringify(group) === text);
  if (found === undefined) {
    throw new RangeError(`${WHERE}: choices[${index}].group (${describeGroup(given)}) is not a coupling group of graph '${graphName}'; take groups from couplingGroups(graph) of this graph`);
  }
  return found;
}

function checkKeep(where: string, keep: unknown, channels: number): asserts keep is number[] {
  if (!Array.isArray(keep) || keep.length === 0) {
    throw new RangeError(`${where}: keep must list at least 1 channel, but got ${JSON.stringify(keep)}; keep one, or leave the group out of the choices to keep it whole`);
  }
  keep.forEach((channel: unknown, i) => {
    if (!Number.isInteger(channel) || (channel as number) < 0 || (channel as number) >= channels) {
      throw new RangeError(`${where}: keep[${i}] must be a channel index in 0..${channels - 1}, but got ${String(channel)}`);
    }
    if (i === 0) return;
    const previous = keep[i - 1] as number;
    if (channel === previous) throw new RangeError(`${where}: keep lists channel ${previous} twice; list each kept channel once`);
    if ((channel as number) < previous) throw new RangeError(`${where}: keep must be sorted ascending, but ${String(channel)} comes after ${previous}; sort it`);
  });
}

/** What each node of the graph loses, every choice checked first (pinned, foreign, repeated groups; keep lists). */
export function planShrink(graph: Graph, choices: readonly ChannelChoice[]): ShrinkPlan {
  const groups = couplingGroups(graph);
  const chosen = new Set<CouplingGroup>();
  const plan: ShrinkPlan = new Map();
  const cut = (id: string, side: Side, indices: number[]): void => {
    const cuts = plan.get(id) ?? { input: new Set<number>(), output: new Set<number>() };
    for (const index of indices) cuts[side].add(index);
    plan.set(id, cuts);
  };
  choices.forEach((choice, index) => {
    const group = currentGroup(groups, choice.group, index, graph.name);
    const where = `${WHERE}: choices[${index}] (${describeGroup(group)})`;
    if (group.pinned.length > 0) throw new RangeError(`${where}: the group is pinned, so every channel must stay: ${group.pinned.join("; ")}`);
    if (chosen.has(group)) throw new RangeError(`${where}: the group is chosen twice; give one keep list per group`);
    chosen.add(group);
    checkKeep(where, choice.keep, group.channels);
    const kept = new Set(choice.keep);
    const removed = Array.from({ length: group.channels }, (_, channel) => channel).filter((channel) => !kept.has(channel));
    const indicesOf = (member: ChannelMember): number[] => removed.flatMap((channel) => memberIndices(member, group.channels, channel));
    for (const id of group.producers) cut(id, "output", removed);
    for (const member of group.passThrough) cut(member.id, "output", indicesOf(member));
    for (const member of group.consumers) cut(member.id, "input", indicesOf(member));
  });
  return plan;
}

/** The array without the given indices along `axis` (row-major, last axis fastest). */
export function dropAlongAxis<T extends Float32Array | Uint8Array>(shape: readonly number[], values: T, axis: number, drop: ReadonlySet<number>): { shape: number[]; values: T } {
  const length = shape[axis];
  const inner = sizeOf(shape.slice(axis + 1));
  const kept = values.filter((_, i) => !drop.has(Math.floor(i / inner) % length)) as T;
  const newShape = [...shape];
  newShape[axis] = length - [...drop].filter((index) => index < length).length;
  return { shape: newShape, values: kept };
}

/** The (weight name, axis, indices) cuts of one node: what its weights and its masks lose. */
function weightCuts(node: GraphNode, cuts: NodeCuts): Array<[string, number, Set<number>]> {
  const axes = channelAxes(node);
  return (["input", "output"] as const).flatMap((side) =>
    cuts[side].size === 0 ? [] : axes[side].map(([name, axis]): [string, number, Set<number>] => [name, axis, cuts[side]]));
}

function shrinkNode(node: GraphNode, cuts: NodeCuts): void {
  const weights = new Map(weightsOf(node));
  for (const [name, axis, drop] of weightCuts(node, cuts)) {
    const weight = weights.get(name);
    if (weight === undefined) continue; // a bias or batch-norm vector the node does without
    const { shape, values } = dropAlongAxis(weight.shape, weight.values, axis, drop);
    Object.assign(weight, { shape, values } satisfies Weight);
  }
  if (node.op === "conv2d") node.filters = node.weights.kernel.shape[3];
  if (node.op === "dense") node.units = node.weights.kernel.shape[1];
}

function applyPlan(graph: Graph, plan: ShrinkPlan): Graph {
  const shrunk = structuredClone(graph);
  for (const node of shrunk.nodes) {
    const cuts = plan.get(node.id);
    if (cuts !== undefined) shrinkNode(node, cuts);
  }
  inferShapes(shrunk);
  return shrunk;
}

/**
 * A new graph in which each chosen group keeps only its `keep` channels in every member:
 * producers' output channels (conv2d filters, dense units, with their biases), pass-through
 * members (batch-norm vectors, depthwise kernels of multiplier 1, weightless ops), and the input
 * channels of its consumers, at every position after a flatten and at its offset in a
 * concatenation. Attributes follow (filters, units). The input graph is left as it was. A choice
 * whose group is pinned, not a group of this graph, chosen twice, or whose keep list is empty,
 * out of range, repeated or unsorted is an error raised before anything is built.
 */
export function shrinkChannels(graph: Graph, choices: readonly ChannelChoice[]): Graph {
  return applyPlan(graph, planShrink(graph, choices));
}

function shrinkMask(mask: WeightMask, cuts: Array<[number, Set<number>]>): WeightMask {
  let shrunk = { shape: [...mask.shape], values: Uint8Array.from(mask.kept) };
  for (const [axis, drop] of cuts) shrunk = dropAlongAxis(shrunk.shape, shrunk.values, axis, drop);
  return { shape: shrunk.shape, kept: shrunk.values };
}

/** Weight quantization is per tensor, channel or bucket of the full weight: refuse to guess it for a cut one. */
function checkNoQuantizedCuts(model: CompressedModel, plan: ShrinkPlan): void {
  for (const node of model.graph.nodes) {
    const cuts = plan.get(node.id);
    if (cuts === undefined) continue;
    const cutNames = new Set(weightCuts(node, cuts).map(([name]) => name));
    const quantized = Object.keys(model.quantization[node.id]?.weights ?? {}).filter((name) => cutNames.has(name));
    if (quantized.length > 0) {
      throw new Error(`shrinkCompressedModel: ${node.op} '${node.id}' has quantized weights (${quantized.join(", ")}) that the shrink would cut, and their quantization parameters cannot follow; shrink before quantizing (prune, then quantize)`);
    }
  }
}

/**
 * shrinkChannels on the model's graph, with its masks cut along the same axes. Activation
 * quantization stays (a range over a tensor holds for the channels left); quantized weights of a
 * node the shrink cuts are an error. History is kept as it is: the learner records its step.
 */
export function shrinkCompressedModel(model: CompressedModel, choices: readonly ChannelChoice[]): CompressedModel {
  const plan = planShrink(model.graph, choices);
  checkNoQuantizedCuts(model, plan);
  const graph = applyPlan(model.graph, plan);
  const masks: CompressedModel["masks"] = {};
  for (const [id, byWeight] of Object.entries(model.masks)) {
    const node = model.graph.nodes.find((candidate) => candidate.id === id);
    const cuts = node === undefined ? [] : weightCuts(node, plan.get(id) ?? { input: new Set(), output: new Set() });
    masks[id] = Object.fromEntries(Object.entries(byWeight).map(([name, mask]) => [
      name, shrinkMask(mask, cuts.filter(([cutName]) => cutName === name).map(([, axis, drop]): [number, Set<number>] => [axis, drop])),
    ]));
  }
  return { ...model, graph, masks, quantization: structuredClone(model.quantization), history: [...model.history] };
}
