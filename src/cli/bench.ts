// `pocketflow bench`: latency and throughput of a model directory on one or more runtimes,
// timed alternately in this one process (see deploy/latency.ts), as a table or a JSON summary.
import { measureLatency, type LatencySummary } from "../deploy/latency.js";
import { isRuntimeName, RUNTIME_NAMES, type RuntimeName } from "../deploy/latency-runtimes.js";
import { loadCompressedModel } from "../io/compressed-model-dir.js";
import { selectBackend } from "../train/backend-select.js";
import { JSON_OPTION } from "./backend-options.js";
import { optionsHelp, parseOptions, requireOptions, UsageError, type OptionSpec } from "./args.js";
import type { CommandIO } from "./train.js";

const DEFAULT_SECONDS = 2;

export const BENCH_OPTIONS: OptionSpec[] = [
  { name: "model", kind: "string", help: "model directory (model.json + pocketflow.json)" },
  { name: "batch", kind: "integer", min: 1, help: "images per batch", defaultText: "1" },
  { name: "runtime", kind: "string", help: `comma-separated runtimes, timed alternately; the first is the reference for ratios and outputs (${RUNTIME_NAMES.join(", ")})`, defaultText: "pocketflow" },
  { name: "threads", kind: "integer", min: 1, help: "threads of the pocketflow runtime", defaultText: "1" },
  { name: "seconds", kind: "number", min: 0.01, help: "timed seconds per runtime", defaultText: String(DEFAULT_SECONDS) },
  { name: "runs", kind: "integer", min: 1, help: "exactly N timed runs per runtime, instead of --seconds" },
  { name: "warmup", kind: "integer", min: 0, help: "untimed rounds first", defaultText: "2" },
  JSON_OPTION,
];

export const BENCH_USAGE = `Usage: pocketflow bench --model DIR [--batch N] [--runtime pocketflow,tfjs-wasm,...] [--threads N] [--seconds S] [--json]

Every runtime computes the model on the same random batch; each run's outputs must match the
first runtime's within 1e-3 of its largest output, or the command fails.

${optionsHelp(BENCH_OPTIONS)}`;

/** The --runtime list, each name checked. */
export function parseRuntimeList(text: string): RuntimeName[] {
  const names = text.split(",").map((name) => name.trim());
  for (const name of names) {
    if (!isRuntimeName(name)) throw new UsageError(`pocketflow bench: --runtime takes a comma-separated list of ${RUNTIME_NAMES.join(", ")}, but got '${name}' in '${text}'`);
  }
  const repeated = names.find((name, i) => names.indexOf(name) !== i);
  if (repeated !== undefined) throw new UsageError(`pocketflow bench: --runtime names '${repeated}' twice in '${text}'; name each runtime once`);
  return names as RuntimeName[];
}

/** Milliseconds with about three significant digits. */
function formatMs(ms: number): string {
  return ms < 10 ? ms.toFixed(2) : ms < 100 ? ms.toFixed(1) : ms.toFixed(0);
}

/** The summary as an aligned table: text left, numbers right. */
export function latencyTable(summary: LatencySummary): string {
  const reference = summary.runtimes[0].runtime;
  const rows = [
    ["runtime", "median ms/batch", "p10-p90 ms", "images/s", `time vs ${reference}`],
    ...summary.runtimes.map((r) => [
      r.runtime, formatMs(r.medianMs), `${formatMs(r.p10Ms)}-${formatMs(r.p90Ms)}`,
      Math.round(r.imagesPerSecond).toLocaleString("en-US"), `${r.ratio.toFixed(2)}x`,
    ]),
  ];
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  return rows.map((row) => row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]) : cell.padStart(widths[column]))).join("  ")).join("\n");
}

export async function benchCommand(argv: readonly string[], io: CommandIO): Promise<Record<string, unknown>> {
  const o = parseOptions("pocketflow bench", argv, BENCH_OPTIONS);
  requireOptions("pocketflow bench", o, ["model"]);
  const directory = o.model as string;
  const runtimes = parseRuntimeList((o.runtime as string | undefined) ?? "pocketflow");
  // loading builds a tfjs model once, on any backend; the runtimes then build their own
  await selectBackend({ backend: "pocketflow" });
  // the compressed model, not only its graph: the int8 engine runs its quantization
  const { model } = await loadCompressedModel(directory);
  const { graph } = model;
  const seconds = (o.seconds as number | undefined) ?? DEFAULT_SECONDS;
  const runs = o.runs as number | undefined;
  io.progress.message(`pocketflow bench: ${directory}, batch ${(o.batch as number | undefined) ?? 1}, ${runtimes.join(", ")} timed alternately, ${runs === undefined ? `about ${seconds} s each` : `${runs} runs each`}`);
  const summary = await measureLatency(graph, {
    runtimes, batch: o.batch as number | undefined, threads: (o.threads as number | undefined) ?? 1,
    secondsPerRuntime: seconds, runs, warmupRuns: o.warmup as number | undefined, model,
  });
  if (o.json !== true) {
    io.stdout(latencyTable(summary));
    io.stdout(`input [${summary.inputShape.join(",")}]; spread: 10th-90th percentile of ${summary.runtimes[0].runs} runs; pocketflow threads: ${summary.threads}; largest output difference from ${summary.runtimes[0].runtime}: ${Math.max(...summary.runtimes.map((r) => r.maxRelativeDifference)).toExponential(1)} of its largest |logit|`);
  }
  return { command: "bench", model: directory, ...summary };
}
