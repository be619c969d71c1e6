// A model and a dataset that do not fit each other (other image size or channels, other number
// of classes) would fail deep inside tfjs with a shape error that names neither; say which.
import type { Dataset } from "../data/dataset.js";
import type { Graph, InputNode } from "../graph/ir.js";
import { inferShapes } from "../graph/shapes.js";
import { UsageError } from "./args.js";

/** Fails with a UsageError unless the model takes the dataset's images and outputs its classes. */
export function checkModelFitsDataset(command: string, directory: string, graph: Graph, datasetName: string, dataset: Dataset): void {
  const input = graph.nodes.find((node): node is InputNode => node.op === "input");
  const takes = `[${input?.shape.join(",") ?? "?"}]`;
  const has = `[${dataset.imageShape.join(",")}]`;
  if (takes !== has) {
    throw new UsageError(`${command}: model ${directory} takes ${takes} images, dataset '${datasetName}' has ${has}; pass the dataset it was trained on`);
  }
  const classes = inferShapes(graph).get(graph.outputs[0])?.at(-1);
  if (classes !== dataset.numClasses) {
    throw new UsageError(`${command}: model ${directory} outputs ${classes ?? "?"} classes, dataset '${datasetName}' has ${dataset.numClasses}; pass the dataset it was trained on`);
  }
}
