// Compute and size of a graph: multiply-accumulates (MACs, the "FLOPs" of the pruning papers)
// and parameter counts, per node and in total. Only convolutions and dense layers are counted
// as MACs (bias adds, batch-norm, activations and pooling are not), as He et al. 2016 and
// PocketFlow count. Parameters are counted as Keras counts them: batch-norm has 4 per channel,
// of which gamma and beta (2) are trainable and the moving mean and variance are not.
import { sizeOf, weightsOf, type Graph, type GraphNode } from "./ir.js";
import { inferShapes, type ShapeMap } from "./shapes.js";

export interface NodeCost {
  id: string;
  op: GraphNode["op"];
  /** Output shape, without the batch. */
  outputShape: number[];
  /** Multiply-accumulates for one example. */
  macs: number;
  /** All weights, trainable or not. */
  params: number;
  /** Weights a training step updates (batch-norm moving statistics excluded). */
  trainableParams: number;
}

export interface GraphCost {
  nodes: NodeCost[];
  macs: number;
  params: number;
  trainableParams: number;
}

const NON_TRAINABLE = new Set(["movingMean", "movingVariance"]);

function macsOf(node: GraphNode, shapes: ShapeMap): number {
  const output = shapes.get(node.id) as number[];
  switch (node.op) {
    case "conv2d": {
      const [kh, kw, inChannels, filters] = node.weights.kernel.shape;
      return output[0] * output[1] * kh * kw * inChannels * filters;
    }
    case "depthwiseConv2d": {
      const [kh, kw, channels, multiplier] = node.weights.depthwiseKernel.shape;
      return output[0] * output[1] * kh * kw * channels * multiplier;
    }
    case "dense": {
      // A dense layer on a higher-rank input applies at every position of the leading axes.
      const [inFeatures, units] = node.weights.kernel.shape;
      return (sizeOf(output) / units) * inFeatures * units;
    }
    default:
      return 0;
  }
}

/** MACs and parameter counts of every node and of the whole graph (shapes are checked first). */
export function graphCost(graph: Graph): GraphCost {
  const shapes = inferShapes(graph);
  const nodes = graph.nodes.map((node): NodeCost => {
    let params = 0;
    let trainableParams = 0;
    for (const [name, weight] of weightsOf(node)) {
      const count = sizeOf(weight.shape);
      params += count;
      if (!NON_TRAINABLE.has(name)) trainableParams += count;
    }
    return { id: node.id, op: node.op, outputShape: shapes.get(node.id) as number[], macs: macsOf(node, shapes), params, trainableParams };
  });
  const total = (key: "macs" | "params" | "trainableParams"): number => nodes.reduce((sum, node) => sum + node[key], 0);
  return { nodes, macs: total("macs"), params: total("params"), trainableParams: total("trainableParams") };
}
