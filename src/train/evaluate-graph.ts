// Accuracy of a model IR graph on a dataset: built into a tfjs model that outputs logits,
// evaluated in inference mode, then disposed.
import { buildTfjsModel } from "../tfjs/tfjs-from-graph.js";
import type { Dataset } from "../data/dataset.js";
import type { Graph } from "../graph/ir.js";
import { evaluate, modelForward, type EvaluateOptions, type Evaluation } from "./evaluate.js";

export function evaluateGraph(graph: Graph, dataset: Dataset, options: EvaluateOptions = {}): Evaluation {
  const model = buildTfjsModel(graph, { withoutSoftmax: true });
  try {
    return evaluate(modelForward(model), dataset, options);
  } finally {
    model.dispose();
  }
}
