// Channel coupling groups: the unit of channel pruning (the idea of Torch-Pruning's dependency
// graph, Fang et al. 2023). Removing output channel c of a conv removes channel c everywhere
// that channel flows: in the batch norms, depthwise convs, activations and pools it passes
// through, in the input channels of the convs and dense layers that read it, and, because a
// residual add sums channel c of all its inputs, in every other producer feeding the same add.
// Such a set of channels, all removed together, is one group; a learner scores and keeps
// channels per group, and shrinking applies its choice to every member.
// A concatenation makes no channels of its own: each of its channels is one channel of exactly
// one input, so its channel axis is its inputs' groups side by side, each at an offset. A node
// reading that axis (the concat itself, a batch norm or conv after it) is a member of every one
// of those groups, each time with the offset where that group's channels start and the width of
// the whole axis; groups themselves stay as they are, whole spaces of a union-find.
import { sizeOf, type Graph, type GraphNode } from "./ir.js";
import { inferShapes, type ShapeMap } from "./shapes.js";

/**
 * A node whose channel axis the group's channels index. After a flatten of an h×w×C map, the
 * features are NHWC-ordered, so channel c is every feature p·C + c for the h·w positions p.
 */
export interface ChannelMember {
  id: string;
  /** Group channel c is axis index p·width + offset + c for p in 0..positions-1 (1 unless after a flatten). */
  positions: number;
  /** Where the group's channels start on a concatenated channel axis; absent (0) elsewhere. */
  offset?: number;
  /** Channels per position of a concatenated axis (the width above); absent elsewhere, where it is the group's channels. */
  axisChannels?: number;
}

export interface CouplingGroup {
  /** Number of channels in the group (per position). */
  channels: number;
  /**
   * Nodes that create these channels: conv2d (filters), dense (units), depthwiseConv2d with a
   * depth multiplier above 1, the input, or (pinned) a concatenation of flattened features.
   * Pruning drops their output channels (kernel's last axis, bias). More than one when a residual
   * add joins them.
   */
  producers: string[];
  /**
   * Nodes that carry the channels through and must drop the same ones on their output axis:
   * batchNorm (its 4 vectors), depthwiseConv2d with multiplier 1 (kernel axis 2, bias), add, concatenate, and
   * the weightless relu, relu6, softmax, pools, zeroPad2d, dropout, globalAvgPool, flatten.
   */
  passThrough: ChannelMember[];
  /** Nodes whose input channels shrink: conv2d (kernel axis 2) and dense (kernel axis 0). */
  consumers: ChannelMember[];
  /** Why every channel must stay (empty when the group may be pruned). */
  pinned: string[];
}

/** One space on a channel axis, starting at `offset`. */
interface Segment {
  space: number;
  offset: number;
}

/** The channel axis of one node's output: its spaces side by side (one unless concatenated), its width and positions. */
interface Axis {
  segments: Segment[];
  channels: number;
  positions: number;
}

/** Union-find over channel spaces; a group is one root. */
class Spaces {
  private readonly parent: number[] = [];
  readonly channels: number[] = [];
  create(channels: number): number {
    this.parent.push(this.parent.length);
    this.channels.push(channels);
    return this.parent.length - 1;
  }
  find(space: number): number {
    while (this.parent[space] !== space) space = this.parent[space] = this.parent[this.parent[space]];
    return space;
  }
  join(a: number, b: number): void {
    const [rootA, rootB] = [this.find(a), this.find(b)];
    if (rootA !== rootB) this.parent[Math.max(rootA, rootB)] = Math.min(rootA, rootB);
  }
}

const PASS_THROUGH = new Set<GraphNode["op"]>(["batchNorm", "relu", "relu6", "softmax", "dropout", "maxPool", "avgPool", "zeroPad2d", "globalAvgPool"]);

/** The group field a node is listed in. */
type Role = "producers" | "passThrough" | "consumers";

interface Walk {
  spaces: Spaces;
  axes: Map<string, Axis>;
  roles: Array<{ space: number; role: Role; member: ChannelMember }>;
  pins: Array<{ space: number; reason: string }>;
}

function produce(walk: Walk, node: GraphNode, channels: number): Axis {
  const space = walk.spaces.create(channels);
  walk.roles.push({ space, role: "producers", member: { id: node.id, positions: 1 } });
  return { segments: [{ space, offset: 0 }], channels, positions: 1 };
}

/** The node as a member of every space on the axis, with offsets when the axis is a concatenation. */
function record(walk: Walk, node: GraphNode, axis: Axis, role: Role): void {
  for (const { space, offset } of axis.segments) {
    const placement = axis.segments.length > 1 ? { offset, axisChannels: axis.channels } : {};
    walk.roles.push({ space, role, member: { id: node.id, positions: axis.positions, ...placement } });
  }
}

function pin(walk: Walk, axis: Axis, reason: string): void {
  for (const { space } of axis.segments) walk.pins.push({ space, reason });
}

/**
 * The inputs' axes side by side, the concatenation a pass-through member of each space. Features
 * flattened from maps would sit at no single offset per position, so such a concatenation pins
 * its inputs and starts a pinned space of its own instead.
 */
function concatenate(walk: Walk, node: GraphNode, from: Axis[]): Axis {
  if (from.some((axis) => axis.positions > 1)) {
    const reason = `concatenate '${node.id}' joins flattened features`;
    for (const axis of from) pin(walk, axis, reason);
    const axis = produce(walk, node, from.reduce((sum, input) => sum + input.channels * input.positions, 0));
    pin(walk, axis, reason);
    return axis;
  }
  const segments: Segment[] = [];
  let offset = 0;
  for (const axis of from) {
    segments.push(...axis.segments.map((segment) => ({ space: segment.space, offset: offset + segment.offset })));
    offset += axis.channels;
  }
  const axis = { segments, channels: offset, positions: 1 };
  record(walk, node, axis, "passThrough");
  return axis;
}

/** An add sums channel c of every input: their spaces join, segment by segment when they split alike. */
function joinAdded(walk: Walk, node: GraphNode, from: Axis[]): void {
  const layout = (axis: Axis): string => axis.segments.map((segment) => `${segment.offset}+${walk.spaces.channels[segment.space]}`).join(",");
  for (const other of from.slice(1)) {
    if (layout(other) !== layout(from[0])) {
      // A space cut in two by the other input's concatenation would no longer be one group.
      for (const axis of [from[0], other]) pin(walk, axis, `add '${node.id}' sums a concatenation with channels split otherwise`);
      continue;
    }
    if (other.positions !== from[0].positions) pin(walk, other, `add '${node.id}' sums features flattened from different shapes`);
    other.segments.forEach((segment, i) => walk.spaces.join(from[0].segments[i].space, segment.space));
  }
}

/** The channel axis of the node's output, recording the node's role in the groups it touches. */
function visit(walk: Walk, node: GraphNode, shapes: ShapeMap): Axis {
  const shape = shapes.get(node.id) as number[];
  const from = node.inputs.map((id) => walk.axes.get(id) as Axis);
  switch (node.op) {
    case "input": {
      const axis = produce(walk, node, shape[shape.length - 1]);
      pin(walk, axis, `model input '${node.id}'`);
      return axis;
    }
    case "conv2d":
    case "dense":
      record(walk, node, from[0], "consumers");
      return produce(walk, node, shape[shape.length - 1]);
    case "depthwiseConv2d": {
      if (node.depthMultiplier === 1) break;
      // Output channel c·m + k comes from input channel c: pruning either side alone would need
      // a different multiplier per channel, which the layer cannot hold.
      const reason = `depthwiseConv2d '${node.id}' has depthMultiplier ${node.depthMultiplier}`;
      record(walk, node, from[0], "consumers");
      pin(walk, from[0], reason);
      const axis = produce(walk, node, shape[shape.length - 1]);
      pin(walk, axis, reason);
      return axis;
    }
    case "flatten": {
      // NHWC: the features of an h×w×C map are ordered position by position, channel fastest.
      const input = shapes.get(node.inputs[0]) as number[];
      const axis = { ...from[0], positions: (from[0].positions * sizeOf(input)) / input[input.length - 1] };
      record(walk, node, axis, "passThrough");
      return axis;
    }
    case "add":
      joinAdded(walk, node, from);
      break;
    case "concatenate":
      return concatenate(walk, node, from);
    default:
      if (!PASS_THROUGH.has(node.op)) throw new RangeError(`couplingGroups: ${node.op} '${node.id}' has no channel rule`);
  }
  record(walk, node, from[0], "passThrough");
  return from[0];
}

/**
 * The channel coupling groups of the graph, in the order of their first node. Every node with
 * a channel axis is in exactly one group as producer or pass-through, or, when its axis is a
 * concatenation, in each group on it (with offsets); convs and dense layers are also consumers
 * of their input's groups. Groups whose channels the model's inputs or
 * outputs fix are pinned, with the reason.
 */
export function couplingGroups(graph: Graph): CouplingGroup[] {
  const shapes = inferShapes(graph);
  const walk: Walk = { spaces: new Spaces(), axes: new Map(), roles: [], pins: [] };
  for (const node of graph.nodes) walk.axes.set(node.id, visit(walk, node, shapes));
  for (const id of graph.outputs) pin(walk, walk.axes.get(id) as Axis, `model output '${id}'`);
  const groups = new Map<number, CouplingGroup>();
  const groupOf = (space: number): CouplingGroup => {
    const root = walk.spaces.find(space);
    let group = groups.get(root);
    if (group === undefined) {
      group = { channels: walk.spaces.channels[root], producers: [], passThrough: [], consumers: [], pinned: [] };
      groups.set(root, group);
    }
    return group;
  };
  for (const { space, role, member } of walk.roles) {
    const group = groupOf(space);
    if (role === "producers") group.producers.push(member.id);
    else group[role].push(member);
  }
  for (const { space, reason } of walk.pins) {
    const group = groupOf(space);
    if (!group.pinned.includes(reason)) group.pinned.push(reason);
  }
  return [...groups.values()];
}

/** Indices on the member's channel axis that group channel `channel` occupies. */
export function memberIndices(member: ChannelMember, channels: number, channel: number): number[] {
  const width = member.axisChannels ?? channels;
  const offset = member.offset ?? 0;
  return Array.from({ length: member.positions }, (_, position) => position * width + offset + channel);
}

/** Whether a learner may remove channels of the group (how many it keeps is the learner's choice). */
export const isPrunable = (group: CouplingGroup): boolean => group.pinned.length === 0;
