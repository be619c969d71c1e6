// `pocketflow info`: a model directory's layers (op, output shape, MACs, parameters), totals,
// size on disk and history.
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { graphCost } from "../graph/cost.js";
import { loadModel } from "../io/model-dir.js";
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

async function directoryBytes(directory: string): Promise<number> {
  const names = (await readdir(directory)).filter((name) => name.endsWith(".json") || name.endsWith(".bin"));
  const sizes = await Promise.all(names.map(async (name) => (await stat(join(directory, name))).size));
  return sizes.reduce((a, b) => a + b, 0);
}

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
  const sizeBytes = await directoryBytes(directory);
  const layers = cost.nodes.map((node) => ({ id: node.id, op: node.op, outputShape: node.outputShape, macs: node.macs, params: node.params }));
  if (o.json !== true) {
    const rows = [["layer", "op", "output", "MACs", "params"], ...layers.map((l) => [l.id, l.op, `[${l.outputShape.join(",")}]`, String(l.macs), String(l.params)])];
    io.stdout(table(rows));
    io.stdout(`total: ${cost.macs.toLocaleString("en-US")} MACs, ${cost.params.toLocaleString("en-US")} params (${cost.trainableParams.toLocaleString("en-US")} trainable), ${(sizeBytes / 1024).toFixed(1)} KiB on disk`);
  }
  return { command: "info", model: directory, name: graph.name, layers, macs: cost.macs, params: cost.params, trainableParams: cost.trainableParams, sizeBytes, history: sidecar?.history ?? [] };
}
