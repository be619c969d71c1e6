// What a correct shrink must compute, written independently of src/graph/shrink.ts: the full
// model with the removed channels' consumers blind to them, arrays gathered at kept indices,
// seeded keep lists, and tfjs predictions to compare.
import * as tf from "@tensorflow/tfjs";
import { expect } from "vitest";
import { couplingGroups, isPrunable, memberIndices, type CouplingGroup } from "../../src/graph/coupling.js";
import { sizeOf, type Graph, type GraphNode, type Weight } from "../../src/graph/ir.js";
import type { ChannelChoice } from "../../src/graph/shrink.js";
import { buildTfjsModel } from "../../src/tfjs/tfjs-from-graph.js";
import { mulberry32, randomFloats } from "../kernels/random.js";

/** Index along `axis` of each flat position of an array of this shape. */
const axisIndex = (shape: readonly number[], axis: number, flat: number): number => Math.floor(flat / sizeOf(shape.slice(axis + 1))) % shape[axis];

/** The values at `indices` along `axis`, in that order. */
export function gatherAlong(weight: { shape: number[]; values: ArrayLike<number> }, axis: number, indices: number[]): number[] {
  const inner = sizeOf(weight.shape.slice(axis + 1));
  const outer = sizeOf(weight.shape.slice(0, axis));
  const out: number[] = [];
  for (let o = 0; o < outer; o++) {
    for (const index of indices) {
      for (let i = 0; i < inner; i++) out.push(weight.values[(o * weight.shape[axis] + index) * inner + i]);
    }
  }
  return out;
}

function zeroAlong(weight: Weight, axis: number, zero: ReadonlySet<number>): void {
  weight.values.forEach((_, flat) => { if (zero.has(axisIndex(weight.shape, axis, flat))) weight.values[flat] = 0; });
}

/** A copy of the graph whose consumers ignore every channel the choices remove: what the shrunk graph must predict. */
export function blindConsumers(graph: Graph, choices: readonly ChannelChoice[]): Graph {
  const blind = structuredClone(graph);
  const byId = new Map(blind.nodes.map((node) => [node.id, node]));
  for (const { group, keep } of choices) {
    const removed = Array.from({ length: group.channels }, (_, c) => c).filter((c) => !keep.includes(c));
    for (const member of group.consumers) {
      const node = byId.get(member.id) as Extract<GraphNode, { op: "conv2d" | "dense" }>;
      zeroAlong(node.weights.kernel, node.op === "dense" ? 0 : 2, new Set(removed.flatMap((c) => memberIndices(member, group.channels, c))));
    }
  }
  return blind;
}

/** A seeded random subset of ceil(channels · fraction) channels, ascending. */
export function seededKeep(channels: number, fraction: number, seed: number): number[] {
  const random = mulberry32(seed);
  const order = Array.from({ length: channels }, (_, c) => ({ c, key: random() }));
  order.sort((a, b) => a.key - b.key);
  return order.slice(0, Math.ceil(channels * fraction)).map(({ c }) => c).sort((a, b) => a - b);
}

/** Every prunable group of the graph keeps a seeded `fraction` of its channels. */
export function keepFractionEverywhere(graph: Graph, fraction: number): Array<{ group: CouplingGroup; keep: number[] }> {
  return couplingGroups(graph).filter(isPrunable).map((group, i) => ({ group, keep: seededKeep(group.channels, fraction, 100 + i) }));
}

/** Batch norms with seeded statistics, so a dropped or misplaced channel changes the predictions. */
export function randomizeBatchNorms(graph: Graph, seed: number): Graph {
  for (const node of graph.nodes) {
    if (node.op !== "batchNorm") continue;
    const channels = node.weights.movingMean.shape[0];
    node.weights = {
      gamma: { shape: [channels], values: randomFloats(channels, seed++, 0.5, 1) },
      beta: { shape: [channels], values: randomFloats(channels, seed++, 0.5) },
      movingMean: { shape: [channels], values: randomFloats(channels, seed++, 0.3) },
      movingVariance: { shape: [channels], values: randomFloats(channels, seed++, 0.5, 1) },
    };
  }
  return graph;
}

/** The graph's predictions on a seeded batch of 2 examples. */
export function predictionsOf(graph: Graph, seed: number, model = buildTfjsModel(graph)): Float32Array {
  const shape = (graph.nodes.find((node) => node.op === "input") as Extract<GraphNode, { op: "input" }>).shape;
  return tf.tidy(() => {
    const x = tf.tensor(randomFloats(2 * sizeOf(shape), seed), [2, ...shape]);
    return (model.predict(x) as tf.Tensor).dataSync() as Float32Array;
  });
}

export function maxDifference(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  return a.reduce((max, value, i) => Math.max(max, Math.abs(value - b[i])), 0);
}
