// `pocketflow eval`: accuracy and loss of a model directory on a dataset's test split, with the
// normalization the model was trained with (from its pocketflow.json).
import type { Normalization } from "../data/batches.js";
import { DATASET_NAMES, loadDataset } from "../data/registry.js";
import { loadModel } from "../io/model-dir.js";
import { evaluateGraph } from "../train/evaluate-graph.js";
import { activateBackend, BACKEND_OPTIONS, JSON_OPTION } from "./backend-options.js";
import { optionsHelp, parseOptions, requireOptions, UsageError, type OptionSpec } from "./args.js";
import { checkModelFitsDataset } from "./model-fits-dataset.js";
import type { CommandIO } from "./train.js";

export const EVAL_OPTIONS: OptionSpec[] = [
  { name: "model", kind: "string", help: "model directory (model.json + pocketflow.json)" },
  { name: "dataset", kind: "string", choices: DATASET_NAMES, help: "data to evaluate on", defaultText: "the one it was trained on" },
  { name: "data-dir", kind: "string", help: "directory of the dataset's files" },
  { name: "split", kind: "string", choices: ["test", "train"], help: "which split", defaultText: "test" },
  { name: "batch-size", kind: "integer", min: 1, help: "images per batch", defaultText: "256" },
  ...BACKEND_OPTIONS,
  JSON_OPTION,
];

export const EVAL_USAGE = `Usage: pocketflow eval --model DIR [--dataset DATASET] [options]

${optionsHelp(EVAL_OPTIONS)}`;

interface Preprocessing {
  dataset?: string;
  normalization?: Normalization;
}

export async function evalCommand(argv: readonly string[], io: CommandIO): Promise<Record<string, unknown>> {
  const o = parseOptions("pocketflow eval", argv, EVAL_OPTIONS);
  requireOptions("pocketflow eval", o, ["model"]);
  const directory = o.model as string;
  const backend = await activateBackend(o);
  const { graph, sidecar } = await loadModel(directory);
  const preprocessing = (sidecar?.preprocessing ?? {}) as Preprocessing;
  const datasetName = (o.dataset as string | undefined) ?? preprocessing.dataset;
  if (datasetName === undefined) throw new UsageError(`pocketflow eval: ${directory} does not say which dataset it was trained on; pass --dataset`);
  const data = loadDataset(datasetName, o["data-dir"] as string | undefined);
  const split = (o.split as "test" | "train" | undefined) ?? "test";
  checkModelFitsDataset("pocketflow eval", directory, graph, datasetName, data[split]);
  if (preprocessing.normalization === undefined) io.progress.message(`pocketflow eval: ${directory} has no normalization in pocketflow.json; using pixels / 255`);
  const started = performance.now();
  const result = evaluateGraph(graph, data[split], { batchSize: o["batch-size"] as number | undefined, normalization: preprocessing.normalization });
  const seconds = (performance.now() - started) / 1000;
  return { command: "eval", model: directory, dataset: datasetName, split, backend, accuracy: result.accuracy, loss: result.loss, count: result.count, seconds };
}
