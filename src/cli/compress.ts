// `pocketflow compress`: runs a chain of learners over a model directory and writes the
// compressed model to --out, with a before/after summary. Each learner's declared options are
// flags (`fastSteps` is --fast-steps), given to every learner of the chain that declares them;
// training defaults come from the fine-tune recipe of the zoo net the model's history names
// (the optimizer and schedule from the learner's own trainingDefaults where it declares them).
// The result is written to a staging directory beside --out and renamed into place at the end,
// so a run that fails leaves --out as it was, and a finished --out is replaced only with --force.
import { rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { computeNormalization, type Normalization } from "../data/batches.js";
import { sampleCount, splitValidation } from "../data/dataset.js";
import { DATASET_NAMES, loadDataset } from "../data/registry.js";
import { trainingSeedOf } from "../graph/compressed-model.js";
import { loadCompressedModel, saveCompressedModel } from "../io/compressed-model-dir.js";
import { MODEL_JSON } from "../io/file-handler.js";
import { modelFiles } from "../io/model-files.js";
import { compress, type ModelMeasurement } from "../learners/compress.js";
import { LearnerOptionError, resolveOptions, type LearnerOptionSpec } from "../learners/learner.js";
import { learnerByName, learnerNames } from "../learners/registry.js";
import { NET_NAMES, type NetName } from "../nets/zoo.js";
import { fineTuneRecipe } from "../train/recipes.js";
import { activateBackend, BACKEND_OPTIONS, JSON_OPTION } from "./backend-options.js";
import { optionsHelp, parseOptions, requireOptions, UsageError, type OptionSpec, type ParsedOptions } from "./args.js";
import { checkModelFitsDataset } from "./model-fits-dataset.js";
import { checkSearchFlags, compressWithSearch, SEARCH_OPTIONS } from "./compress-search.js";
import type { CommandIO } from "./train.js";

const COMMON_OPTIONS: OptionSpec[] = [
  { name: "model", kind: "string", help: "model directory to compress (model.json + pocketflow.json)" },
  { name: "dataset", kind: "string", choices: DATASET_NAMES, help: "data to fine-tune and measure on", defaultText: "the one the model was trained on" },
  { name: "learner", kind: "string", help: `learners to run in order, comma-separated (${learnerNames().join(", ")})` },
  { name: "out", kind: "string", help: "model directory to write" },
  { name: "force", kind: "flag", help: "replace a model already in --out" },
  { name: "data-dir", kind: "string", help: "directory of the dataset's files" },
  { name: "validation", kind: "integer", min: 0, help: "training samples held out for validation", defaultText: "5000, at most a tenth" },
  { name: "lr", kind: "number", min: 0, help: "learning rate of the learners' training", defaultText: "the fine-tune recipe of the model's net" },
  { name: "latency-batch", kind: "integer", min: 1, help: "batch of the latency measured before and after", defaultText: "1" },
  { name: "no-latency", kind: "flag", help: "skip the latency measurement" },
  ...BACKEND_OPTIONS,
  JSON_OPTION,
];

const kebab = (name: string): string => name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);

/** A flag that is on by default is turned off by --no-<name>. */
const flagName = (spec: LearnerOptionSpec): string => (spec.kind === "flag" && spec.default === true ? `no-${kebab(spec.name)}` : kebab(spec.name));

function asFlag(spec: LearnerOptionSpec): OptionSpec {
  const defaultText = spec.default === undefined ? undefined : String(spec.default);
  if (spec.kind === "choice") return { name: kebab(spec.name), kind: "string", choices: spec.choices, help: spec.help, defaultText };
  if (spec.kind === "flag") return { name: flagName(spec), kind: "flag", help: spec.default === true ? `turn off: ${spec.help}` : spec.help };
  return { name: kebab(spec.name), kind: spec.kind, min: spec.min, help: spec.help, defaultText };
}

export const COMPRESS_USAGE = `Usage: pocketflow compress --model DIR --learner NAME[,NAME...] --out DIR [learner options] [options]

Runs the learners in order over the model, fine-tuning on the dataset's training split
(validation held out), and writes the compressed model to --out. Prints accuracy (test and
validation), MACs, parameters, weight bytes and latency on our backend before and after.

${optionsHelp(COMMON_OPTIONS)}

Search options (with --optimizer: the per-layer values of the first learner that declares them are
searched on the validation split, every trial logged to --out/trials.jsonl, the best re-trained
in full mode; --out also gets report.html):
${optionsHelp(SEARCH_OPTIONS)}

Learner options (given to every learner of the chain that takes them):
${learnerNames().map((name) => `  ${name}: ${learnerByName(name).description}\n${optionsHelp(learnerByName(name).options.map(asFlag)).replace(/^/gm, "  ")}`).join("\n")}`;

/** The learner names of --learner, read before the options (which depend on them) are parsed. */
function chainNames(argv: readonly string[]): string[] {
  const at = argv.findIndex((arg) => arg === "--learner" || arg.startsWith("--learner="));
  if (at < 0) throw new UsageError("pocketflow compress: missing --learner");
  const text = argv[at].includes("=") ? argv[at].slice(argv[at].indexOf("=") + 1) : argv[at + 1] ?? "";
  const names = text.split(",").map((name) => name.trim()).filter((name) => name !== "");
  const unknown = names.filter((name) => !learnerNames().includes(name));
  if (names.length === 0 || unknown.length > 0) {
    throw new UsageError(`pocketflow compress: --learner must be a comma-separated list of ${learnerNames().join(", ")}, but got '${text}'`);
  }
  return names;
}

/** The chain's learner flags, once each. */
function learnerFlags(names: readonly string[]): OptionSpec[] {
  const byName = new Map<string, OptionSpec>();
  for (const name of names) for (const spec of learnerByName(name).options) byName.set(kebab(spec.name), asFlag(spec));
  return [...byName.values()].filter((spec) => ![...COMMON_OPTIONS, ...SEARCH_OPTIONS].some((common) => common.name === spec.name));
}

/** Each learner's options: the recipe's training settings, then the flags it declares. */
function learnerOptions(name: string, o: ParsedOptions, net: NetName | undefined): Record<string, unknown> {
  const recipe = { ...fineTuneRecipe(net), ...learnerByName(name).trainingDefaults };
  const lr = o.lr as number | undefined;
  const schedule = lr === undefined ? recipe.schedule : { ...recipe.schedule, schedule: { ...recipe.schedule.schedule, learningRate: lr } };
  const options: Record<string, unknown> = { epochs: recipe.epochs, batchSize: recipe.batchSize, optimizer: recipe.optimizer, schedule, weightDecay: recipe.weightDecay };
  for (const spec of learnerByName(name).options) {
    const value = o[flagName(spec)];
    if (value !== undefined) options[spec.name] = spec.kind === "flag" && spec.default === true ? false : value;
  }
  return options;
}

/** A learner option out of its range is a usage error naming its flag. */
function checkLearnerFlags(name: string, options: Record<string, unknown>): void {
  try {
    resolveOptions(learnerByName(name), options);
  } catch (error) {
    if (!(error instanceof LearnerOptionError)) throw error;
    throw new UsageError(`pocketflow compress: --${kebab(error.option)} must be ${error.rule} for learner '${name}', but got ${JSON.stringify(error.value)}`);
  }
}

/** The finished --out is kept unless --force; a file there is an error. */
async function checkOut(out: string, force: boolean): Promise<void> {
  const info = await stat(out).catch(() => undefined);
  if (info === undefined) return;
  if (!info.isDirectory()) throw new UsageError(`pocketflow compress: --out must be a directory to write the model to, but '${out}' is a file`);
  const finished = await stat(join(out, MODEL_JSON)).then(() => true, () => false);
  if (finished && !force) throw new UsageError(`pocketflow compress: ${out} already holds a model; pass --force to replace it, or another --out`);
}

/** Writes through a staging directory beside --out, renamed into place only when complete. */
async function writeOut(out: string, write: (staging: string) => Promise<void>): Promise<void> {
  const staging = join(dirname(out), `.${basename(out)}.partial-${process.pid}`);
  const replaced = join(dirname(out), `.${basename(out)}.replaced-${process.pid}`);
  await rm(staging, { recursive: true, force: true });
  try {
    await write(staging);
    const existing = await stat(out).then(() => true, () => false);
    if (existing) await rename(out, replaced);
    await rename(staging, out);
    await rm(replaced, { recursive: true, force: true });
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
}

/** A measurement with the bytes its model directory takes on disk. */
type StoredMeasurement = ModelMeasurement & { storedBytes?: number };

/** Bytes of model.json, its sidecar and the weight files it names. */
const storedBytes = async (dir: string): Promise<number> => (await modelFiles(dir)).reduce((sum, file) => sum + file.sizeBytes, 0);

const percent = (value: number | undefined): string => (value === undefined ? "n/a" : `${(100 * value).toFixed(2)}%`);
const count = (value: number): string => value.toLocaleString("en-US");
const ratio = (after: number | undefined, before: number | undefined): string => (after === undefined || before === undefined || before === 0 ? "" : `${(after / before).toFixed(2)}x`);

/** The before/after table of the summary. */
export function summaryTable(result: { before: StoredMeasurement; after: StoredMeasurement; enginePrecisions?: readonly [string, string] }): string {
  const { before, after } = result;
  const [precisionBefore, precisionAfter] = result.enginePrecisions ?? ["fp32", "fp32"];
  const engineRow = precisionBefore === precisionAfter ? `engine ms (batch, ${precisionAfter})` : `engine ms (batch, ${precisionBefore} -> ${precisionAfter})`;
  const rows: Array<[string, (m: StoredMeasurement) => string, (keyof StoredMeasurement) | undefined]> = [
    ["test accuracy", (m) => percent(m.testAccuracy), undefined],
    ["validation accuracy", (m) => percent(m.validationAccuracy), undefined],
    ["MACs", (m) => count(m.macs), "macs"],
    ["parameters", (m) => count(m.params), "params"],
    ["unpruned parameters", (m) => count(m.unprunedParams), "unprunedParams"],
    ["weight bytes", (m) => count(m.weightBytes), "weightBytes"],
    ["sparse stored bytes", (m) => count(m.sparseBytes), "sparseBytes"],
    ["packed stored bytes", (m) => count(m.packedBytes), "packedBytes"],
    ["stored bytes (directory)", (m) => (m.storedBytes === undefined ? "n/a" : count(m.storedBytes)), "storedBytes"],
    ["latency ms (batch)", (m) => (m.latencyMs === undefined ? "n/a" : m.latencyMs.toFixed(3)), "latencyMs"],
    [engineRow, (m) => (m.engineLatencyMs === undefined ? "n/a" : m.engineLatencyMs.toFixed(3)), "engineLatencyMs"],
  ];
  const cells = [["", "before", "after", "after/before"], ...rows.map(([name, show, key]) => [name, show(before), show(after), key === undefined ? "" : ratio(after[key] as number | undefined, before[key] as number | undefined)])];
  const widths = cells[0].map((_, column) => Math.max(...cells.map((row) => row[column].length)));
  return cells.map((row) => row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]) : cell.padStart(widths[column]))).join("  ").trimEnd()).join("\n");
}

export async function compressCommand(argv: readonly string[], io: CommandIO): Promise<Record<string, unknown>> {
  const names = chainNames(argv);
  const o = parseOptions("pocketflow compress", argv, [...COMMON_OPTIONS, ...SEARCH_OPTIONS, ...learnerFlags(names)]);
  checkSearchFlags(o);
  requireOptions("pocketflow compress", o, ["model", "out"]);
  const [directory, out] = [o.model as string, o.out as string];
  if (out === directory) throw new UsageError(`pocketflow compress: --out must differ from --model (${directory}): write the compressed model to a new directory`);
  await checkOut(out, o.force === true);
  const backend = await activateBackend(o);
  const { model, extras } = await loadCompressedModel(directory);
  const preprocessing = (extras.preprocessing ?? {}) as { dataset?: string; normalization?: Normalization };
  const datasetName = (o.dataset as string | undefined) ?? preprocessing.dataset;
  if (datasetName === undefined) throw new UsageError(`pocketflow compress: ${directory} does not say which dataset it was trained on; pass --dataset`);
  const data = loadDataset(datasetName, o["data-dir"] as string | undefined);
  checkModelFitsDataset("pocketflow compress", directory, model.graph, datasetName, data.train);
  const splitSeed = trainingSeedOf(model);
  const validationCount = (o.validation as number | undefined) ?? Math.min(5000, Math.floor(sampleCount(data.train) / 10));
  if (validationCount >= sampleCount(data.train)) throw new UsageError(`pocketflow compress: --validation must be below the ${sampleCount(data.train)} training samples, but got ${validationCount}`);
  const split = validationCount > 0 ? splitValidation(data.train, validationCount, splitSeed) : { train: data.train, validation: undefined };
  const normalization = preprocessing.normalization ?? computeNormalization(split.train);
  const recorded = [...model.history].reverse().find((entry) => typeof entry.net === "string")?.net as string | undefined;
  const net = (NET_NAMES as readonly string[]).includes(recorded ?? "") ? (recorded as NetName) : undefined;
  const learners = names.map((name) => ({ learner: name, options: learnerOptions(name, o, net) }));
  for (const { learner, options } of learners) checkLearnerFlags(learner, options);
  io.progress.message(`pocketflow compress: ${names.join(" → ")} on ${datasetName} (${sampleCount(split.train)} train, ${validationCount} validation), backend ${backend}`);
  if (o.optimizer !== undefined) {
    const context = { o, io, names, learners, directory, out, model, datasetName, validationCount, splitSeed, normalization, backend };
    return compressWithSearch({ ...context, data: { validation: split.validation, test: data.test } });
  }
  const latencyBatch = (o["latency-batch"] as number | undefined) ?? 1;
  const result = await compress(model, {
    learners, data: { train: split.train, validation: split.validation, normalization }, test: data.test,
    latency: o["no-latency"] === true ? false : { batch: latencyBatch },
    onProgress: (message) => io.progress.message(`pocketflow compress: ${message}`),
    onStep: (progress) => io.progress.step(progress),
  });
  await writeOut(out, (staging) => saveCompressedModel(staging, result.model, { ...extras, preprocessing: { ...preprocessing, dataset: datasetName, normalization } }));
  const before = { ...result.before, storedBytes: await storedBytes(directory) };
  const after = { ...result.after, storedBytes: await storedBytes(out) };
  if (o.json !== true) io.stdout(summaryTable({ before, after, enginePrecisions: result.enginePrecisions }));
  return {
    command: "compress", model: directory, out, dataset: datasetName, learners: names, backend, latencyBatch: o["no-latency"] === true ? undefined : latencyBatch,
    before, after, enginePrecisions: result.enginePrecisions, steps: result.steps, seconds: result.seconds,
  };
}
