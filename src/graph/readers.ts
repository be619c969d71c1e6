// Who reads a node's output: what layer fusion, channel pruning's residual correction and
// dis-chn's auxiliary heads all ask of the graph.
import type { Graph, GraphNode } from "./ir.js";

/** For each node id, the nodes reading its output, each once, in graph order. */
export function readersOf(graph: Graph): Map<string, GraphNode[]> {
  const readers = new Map<string, GraphNode[]>();
  for (const node of graph.nodes) {
    if (node.op === "input") continue;
    for (const id of new Set(node.inputs)) readers.set(id, [...(readers.get(id) ?? []), node]);
  }
  return readers;
}

/** The node that alone reads `id`'s output, unless `id` is a model output. */
export function soleReader(graph: Graph, id: string, readers: Map<string, GraphNode[]> = readersOf(graph)): GraphNode | undefined {
  const [reader, ...others] = readers.get(id) ?? [];
  return others.length === 0 && !graph.outputs.includes(id) ? reader : undefined;
}
