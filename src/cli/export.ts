// `pocketflow export`: a model directory as an ONNX file (float, or int8 QDQ / QOperator for an
// integer model) or as a tfjs LayersModel directory with quantized weights. Options are checked
// before any work; the output is written beside --out and renamed into place at the end, so a
// failed export leaves --out as it was, and an existing --out is replaced only with --force.
import { rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { looksInt8 } from "../deploy/int8-model.js";
import { saveOnnx, type OnnxFlavor } from "../export/onnx.js";
import { saveTfjs, type TfjsExportSummary } from "../export/tfjs.js";
import { loadCompressedModel } from "../io/compressed-model-dir.js";
import { JSON_OPTION } from "./backend-options.js";
import { optionsHelp, parseOptions, requireOptions, UsageError, type OptionSpec, type ParsedOptions } from "./args.js";
import type { CommandIO } from "./train.js";

const COMMAND = "pocketflow export";

export const EXPORT_OPTIONS: OptionSpec[] = [
  { name: "model", kind: "string", help: "model directory to export (model.json + pocketflow.json)" },
  { name: "format", kind: "string", choices: ["onnx", "tfjs"], help: "onnx: one .onnx file (opset 13, NHWC input); tfjs: a LayersModel directory" },
  { name: "out", kind: "string", help: "the .onnx file (onnx) or the directory (tfjs) to write" },
  { name: "qoperator", kind: "flag", help: "onnx, int8 model: integer operators (QLinearConv, ...) instead of QuantizeLinear/DequantizeLinear pairs (QDQ)" },
  { name: "float", kind: "flag", help: "onnx, int8 model: the float graph (weights on their int8 grid) instead of QDQ" },
  { name: "quantize-bytes", kind: "integer", min: 1, help: "tfjs: store weights without an exact 8-bit grid as uint8 (1) or uint16 (2)", defaultText: "float32 for a float model, 2 for quantized weights" },
  { name: "force", kind: "flag", help: "replace what is already at --out" },
  JSON_OPTION,
];

export const EXPORT_USAGE = `Usage: pocketflow export --model DIR --format onnx|tfjs --out PATH [--qoperator] [--quantize-bytes 1|2] [--force] [--json]

onnx: the model as one ONNX file that onnxruntime runs. The input is NHWC, as tfjs takes it;
the outputs are the model's (probabilities when it ends with a softmax). An integer model
(quantized with uniform-tf) exports as QDQ by default, or with integer operators (--qoperator).
tfjs: a LayersModel directory that plain tf.loadLayersModel loads, its weights stored as uint8
on the model's own grid where tfjs can express it (per tensor, 8 bits or fewer), else as uint16
(or float32); the summary lists each weight's storage, bytes and largest decoding error.

${optionsHelp(EXPORT_OPTIONS)}`;

interface ExportPlan {
  model: string;
  format: "onnx" | "tfjs";
  out: string;
  flavor?: OnnxFlavor;
  quantizeBytes?: 1 | 2;
  force: boolean;
}

/** The options checked against each other before anything is read or written. */
function plan(o: ParsedOptions): ExportPlan {
  requireOptions(COMMAND, o, ["model", "format", "out"]);
  const format = o.format as "onnx" | "tfjs";
  const onlyFor = (flag: string, wanted: string) => {
    if (o[flag] !== undefined && format !== wanted) throw new UsageError(`${COMMAND}: --${flag} applies to --format ${wanted} only, but --format is ${format}`);
  };
  onlyFor("qoperator", "onnx");
  onlyFor("float", "onnx");
  onlyFor("quantize-bytes", "tfjs");
  if (o.qoperator === true && o.float === true) throw new UsageError(`${COMMAND}: --qoperator and --float exclude each other; pick one`);
  const bytes = o["quantize-bytes"] as number | undefined;
  if (bytes !== undefined && bytes !== 1 && bytes !== 2) throw new UsageError(`${COMMAND}: --quantize-bytes must be 1 (uint8) or 2 (uint16), but got ${bytes}`);
  if (o.out === o.model) throw new UsageError(`${COMMAND}: --out must differ from --model (${o.model as string})`);
  const flavor = o.qoperator === true ? "qoperator" : o.float === true ? "float" : undefined;
  return { model: o.model as string, format, out: o.out as string, flavor, quantizeBytes: bytes as 1 | 2 | undefined, force: o.force === true };
}

async function checkOut(p: ExportPlan): Promise<void> {
  const info = await stat(p.out).catch(() => undefined);
  if (info === undefined) return;
  const kind = p.format === "onnx" ? "file" : "directory";
  if (info.isDirectory() !== (p.format === "tfjs")) throw new UsageError(`${COMMAND}: --out must be a ${kind} for --format ${p.format}, but '${p.out}' is a ${info.isDirectory() ? "directory" : "file"}`);
  if (!p.force) throw new UsageError(`${COMMAND}: ${p.out} already exists; pass --force to replace it, or another --out`);
}

/** Writes a directory through a staging directory beside it, renamed into place when complete. */
async function writeDirectory(out: string, write: (staging: string) => Promise<TfjsExportSummary>): Promise<TfjsExportSummary> {
  const staging = join(dirname(out), `.${basename(out)}.partial-${process.pid}`);
  const replaced = join(dirname(out), `.${basename(out)}.replaced-${process.pid}`);
  await rm(staging, { recursive: true, force: true });
  try {
    const summary = await write(staging);
    const existing = await stat(out).then(() => true, () => false);
    if (existing) await rename(out, replaced);
    await rename(staging, out);
    await rm(replaced, { recursive: true, force: true });
    return summary;
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
}

const kib = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;

export async function exportCommand(argv: readonly string[], io: CommandIO): Promise<Record<string, unknown>> {
  const p = plan(parseOptions(COMMAND, argv, EXPORT_OPTIONS));
  await checkOut(p);
  const { model } = await loadCompressedModel(p.model);
  const json = argv.includes("--json");
  if (p.format === "onnx") {
    const flavor = p.flavor ?? (looksInt8(model) ? "qdq" : "float");
    const bytes = await saveOnnx(p.out, model, { flavor });
    if (!json) io.stdout(`${p.model} → ${p.out}: ONNX opset 13, ${flavor === "float" ? "float" : `int8 ${flavor === "qdq" ? "QDQ" : "QOperator"}`}, ${kib(bytes)}`);
    return { command: "export", model: p.model, format: "onnx", out: p.out, flavor, bytes };
  }
  const summary = await writeDirectory(p.out, (staging) => saveTfjs(staging, model, { quantizeBytes: p.quantizeBytes }));
  if (!json) {
    const width = Math.max(...summary.weights.map((w) => w.name.length));
    for (const w of summary.weights) io.stdout(`  ${w.name.padEnd(width)}  ${w.storage.padEnd(18)} ${String(w.bytes).padStart(9)} bytes  max error ${w.maxError.toExponential(2)}`);
    io.stdout(`${p.model} → ${p.out}: tfjs LayersModel, weights ${kib(summary.weightBytes)} (float32: ${kib(summary.float32Bytes)})`);
  }
  return { command: "export", model: p.model, format: "tfjs", out: p.out, ...summary };
}
