// What an agent that walks the layers (DDPG, as AMC) knows of each layer before it acts: AMC's
// static state (He et al. 2018, section 3.2): input and output channels, input height and width,
// stride, kernel size and the layer's MACs, read from the graph. The dynamic part (the budget
// spent and left) comes from the constraint as the walk goes. A dimension with no layer (a global
// option) gets zeros.
import { graphCost } from "../graph/cost.js";
import type { Graph } from "../graph/ir.js";
import { inferShapes } from "../graph/shapes.js";
import type { SearchSpace } from "./space.js";

export const LAYER_FEATURES = ["inChannels", "outChannels", "height", "width", "stride", "kernel", "macs", "params"] as const;

/** One row of LAYER_FEATURES per dimension of the space, unnormalized. */
export function layerFeatures(graph: Graph, space: SearchSpace): number[][] {
  const shapes = inferShapes(graph);
  const costs = new Map(graphCost(graph).nodes.map((node) => [node.id, node]));
  return space.dimensions.map((dimension) => {
    const node = dimension.layer === undefined ? undefined : graph.nodes.find((candidate) => candidate.id === dimension.layer);
    if (node === undefined) return LAYER_FEATURES.map(() => 0);
    const input = shapes.get(node.inputs[0] ?? "") ?? [];
    const output = shapes.get(node.id) ?? [];
    const window = "kernelSize" in node ? node : undefined;
    const cost = costs.get(node.id);
    return [
      input.at(-1) ?? 0, output.at(-1) ?? 0, input.length === 3 ? input[0] : 1, input.length === 3 ? input[1] : 1,
      window?.strides[0] ?? 1, window?.kernelSize[0] ?? 1, cost?.macs ?? 0, cost?.params ?? 0,
    ];
  });
}

/** Each column divided by its largest magnitude (AMC normalizes the state to [0, 1] per feature). */
export function normalizeColumns(rows: readonly number[][]): number[][] {
  const columns = rows[0]?.length ?? 0;
  const scale = Array.from({ length: columns }, (_, c) => Math.max(1e-12, ...rows.map((row) => Math.abs(row[c]))));
  return rows.map((row) => row.map((value, c) => value / scale[c]));
}
