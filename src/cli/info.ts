// `pocketflow info`: a model directory's layers (op, output shape, MACs, parameters), totals,
// size on disk (model.json, its sidecar and the weight files it names) and history.
import { graphCost } from "../graph/cost.js";
import { loadModel } from "../io/model-dir.js";
import { modelFiles } from "../io/model-files.js";
import { selectBackend } from "../train/backend-select.js";
import { JSON_OPTION } from "./backend-options.js";
import { optionsHelp, parseOptions, requireOptions, type OptionSpec } from "./args.js";
import type { CommandIO } from "./train.js";

export const INFO_OPTIONS: OptionSpec[] = [
  { name: "model", kind: "string", help: "model directory (model.json + pocketflow.json)" },
  JSON_OPTION,
];

export const INFO_USAGE = `Usage: pocketflow info --model DIR [--json]

${optionsHelp(INFO_OPTIONS)}`;

function table(rows: string[][]): string {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  return rows.map((row) => row.map((cell, column) => (column < 2 ? cell.padEnd(widths[column]) : cell.padStart(widths[column]))).join("  ")).join("\n");
}

export async function infoCommand(argv: readonly string[], io: CommandIO): Promise<Record<string, unknown>> {
  const o = parseOptions("pocketflow info", argv, INFO_OPTIONS);
  requireOptions("pocketflow info", o, ["model"]);
  const directory = o.model as string;
  await selectBackend(); // loading builds a tfjs model, which needs a backend
  const { graph, sidecar } = await loadModel(directory);
  const cost = graphCost(graph);
  const files = await modelFiles(directory);
  const sizeBytes = files.reduce((total, file) => total + file.sizeBytes, 0);
  const layers = cost.nodes.map((node) => ({ id: node.id, op: node.op, outputShape: node.outputShape, macs: node.macs, params: node.params }));
  if (o.json !== true) {
    const rows = [["layer", "op", "output", "MACs", "params"], ...layers.map((l) => [l.id, l.op, `[${l.outputShape.join(",")}]`, String(l.macs), String(l.params)])];
    io.stdout(table(rows));
    io.stdout(`total: ${cost.macs.toLocaleString("en-US")} MACs, ${cost.params.toLocaleString("en-US")} params (${cost.trainableParams.toLocaleString("en-US")} trainable), ${(sizeBytes / 1024).toFixed(1)} KiB on disk`);
  }
  return { command: "info", model: directory, name: graph.name, layers, macs: cost.macs, params: cost.params, trainableParams: cost.trainableParams, sizeBytes, files, history: sidecar?.history ?? [] };
}
