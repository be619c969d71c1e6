// `pocketflow compress --optimizer NAME`: the search behind compress. Trials run in a worker
// thread (search/trial-runner.ts) with the chain's options and the searched point's, their log
// (trials.jsonl) and settings (search.json) kept in --out as they finish, so `--resume` continues
// a killed search; the best point is then re-trained in full mode and its model written into --out
// (model.json last, so a directory with model.json is a finished one), with report.html.
// Without --optimizer, compress runs as it always did and these flags are refused.
import { mkdir, readdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Normalization } from "../data/batches.js";
import type { Dataset } from "../data/dataset.js";
import { MODEL_JSON, writeFileAtomic } from "../io/file-handler.js";
import { modelFiles } from "../io/model-files.js";
import { measureModel } from "../learners/compress.js";
import type { CompressedModel } from "../learners/learner.js";
import { learnerByName } from "../learners/registry.js";
import { OPTIMIZERS } from "../search/optimizers.js";
import { searchReport } from "../search/report.js";
import { REWARD_NAMES, type RewardName } from "../search/rewards.js";
import { layerValues, retrainBest, runSearch, type SearchProgress } from "../search/search-loop.js";
import type { TrialRecord } from "../search/trial-log.js";
import { WorkerTrialRunner } from "../search/trial-runner.js";
import type { ChainLearner } from "../search/trial.js";
import { UsageError, type OptionSpec, type ParsedOptions } from "./args.js";
import { formatDuration } from "./progress.js";
import type { CommandIO } from "./train.js";

export const SEARCH_OPTIMIZERS = Object.keys(OPTIMIZERS);

export const SEARCH_OPTIONS: OptionSpec[] = [
  { name: "optimizer", kind: "string", choices: SEARCH_OPTIMIZERS, help: "search the first searchable learner's per-layer values with this optimizer, then re-train the best" },
  { name: "trials", kind: "integer", min: 1, help: "trials of the search", defaultText: "50" },
  { name: "reward", kind: "string", help: `what a trial maximizes, on the validation split: ${REWARD_NAMES.join(", ")}`, defaultText: "accuracy" },
  { name: "resume", kind: "flag", help: "continue the search whose trials.jsonl is in --out" },
  { name: "search-seed", kind: "integer", min: 0, help: "seed of the optimizer", defaultText: "0" },
  { name: "search-latency", kind: "flag", help: "measure every candidate's latency (noisy)" },
  { name: "warmup", kind: "integer", min: 0, help: "ddpg: episodes of random actions before the actor acts", defaultText: "a quarter of --trials, at most 20" },
  { name: "no-baselines", kind: "flag", help: "skip the learner's baselines (uniform ratio or sparsity, PocketFlow's heuristic, uniform bits), evaluated as the first trials by default" },
  { name: "no-retrain", kind: "flag", help: "write the best candidate as the search built it (fast mode), without the full re-training" },
  { name: "trial-memory", kind: "integer", min: 64, help: "heap limit of the trial worker, in MiB", defaultText: "4096" },
];

/** Search flags without --optimizer are a usage error (compress without it is unchanged). */
export function checkSearchFlags(o: ParsedOptions): void {
  const reward = o.reward as string | undefined;
  if (reward !== undefined && !(REWARD_NAMES as readonly string[]).includes(reward)) throw new UsageError(`pocketflow compress: --reward must be one of ${REWARD_NAMES.join(", ")}, but got '${reward}'`);
  if (o.optimizer !== undefined) return;
  const given = SEARCH_OPTIONS.filter((spec) => spec.name !== "optimizer" && o[spec.name] !== undefined).map((spec) => `--${spec.name}`);
  if (given.length > 0) throw new UsageError(`pocketflow compress: ${given.join(", ")} configure a search; pass --optimizer (${SEARCH_OPTIMIZERS.join(", ")}) too`);
}

export interface SearchContext {
  o: ParsedOptions;
  io: CommandIO;
  names: readonly string[];
  learners: readonly ChainLearner[];
  directory: string;
  out: string;
  model: CompressedModel;
  datasetName: string;
  validationCount: number;
  splitSeed: number;
  normalization: Normalization;
  data: { validation?: Dataset; test?: Dataset };
  backend: string;
}

/** One progress line: trial i/N, a bar, this trial's reward, the best so far, the ETA. */
export function formatTrial(p: SearchProgress, secondsPerTrial: number, barWidth = 20): string {
  const filled = Math.round((barWidth * p.done) / p.total);
  const show = (value: number | undefined) => (value === undefined ? "failed" : value.toFixed(4));
  const best = p.best === undefined ? "none yet" : `${show(p.best.score)} (trial ${p.best.index})`;
  const eta = formatDuration(secondsPerTrial * (p.total - p.done));
  return `search: trial ${p.done}/${p.total} [${"#".repeat(filled)}${".".repeat(barWidth - filled)}] reward ${show(p.record.score)}${p.replayed ? " (logged)" : ""} best ${best} ETA ${eta}`;
}

/** Moves a saved model's files from `staging` into `out`, model.json last. */
async function moveModelInto(staging: string, out: string): Promise<void> {
  const files = (await readdir(staging)).sort((a, b) => Number(a === MODEL_JSON) - Number(b === MODEL_JSON));
  for (const file of files) await rename(join(staging, file), join(out, file));
  await rm(staging, { recursive: true, force: true });
}

export async function compressWithSearch(c: SearchContext): Promise<Record<string, unknown>> {
  const { o, io, out } = c;
  const trials = (o.trials as number | undefined) ?? 50;
  const optimizer = o.optimizer as string;
  const reward = ((o.reward as string | undefined) ?? "accuracy") as RewardName;
  if (o.force === true && o.resume !== true) await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  const runner = new WorkerTrialRunner(
    { modelDir: c.directory, dataset: c.datasetName, dataDir: o["data-dir"] as string | undefined, validationCount: c.validationCount, splitSeed: c.splitSeed, normalization: c.normalization, backend: o.backend as string | undefined, threads: o.threads as number | undefined },
    { memoryMb: o["trial-memory"] as number | undefined },
  );
  const latencyBatch = o["search-latency"] === true ? ((o["latency-batch"] as number | undefined) ?? 1) : undefined;
  const ddpg = optimizer === "ddpg" ? { warmupEpisodes: (o.warmup as number | undefined) ?? Math.min(20, Math.max(1, Math.round(trials / 4))) } : undefined;
  const started = performance.now();
  let ran = 0;
  try {
    const result = await runSearch({
      model: c.model, learners: c.learners, learnerByName, optimizer, trials, seed: (o["search-seed"] as number | undefined) ?? 0, reward, dir: out,
      resume: o.resume === true, runner, latencyBatch, ddpg, baselines: o["no-baselines"] !== true,
      onTrial: (p) => {
        if (!p.replayed) ran++;
        io.progress.message(formatTrial(p, ran === 0 ? NaN : (performance.now() - started) / 1000 / ran));
      },
    });
    const { best, plan } = result;
    const mode = o["no-retrain"] === true ? "fast" : "full";
    io.progress.message(`search: ${mode === "full" ? "re-training" : "rebuilding"} the best candidate (trial ${best.index}, reward ${best.score?.toFixed(4)}) in ${mode} mode`);
    const staging = join(out, `.model.partial-${process.pid}`);
    await rm(staging, { recursive: true, force: true });
    const final = await retrainBest({ learners: c.learners, runner, latencyBatch: o["no-latency"] === true ? undefined : ((o["latency-batch"] as number | undefined) ?? 1) }, plan, best, staging, mode);
    if (final.error !== undefined) throw new Error(`search: ${mode === "full" ? "re-training" : "rebuilding"} the best candidate failed: ${final.error}; the search's trials are kept in ${out}: fix the cause and run again with --resume`);
    await moveModelInto(staging, out);
    const before = { ...measureModel(c.model, { validation: c.data.validation, test: c.data.test, normalization: c.normalization }), storedBytes: await storedBytes(c.directory) };
    const after = { ...final.metrics, storedBytes: await storedBytes(out) };
    const layers = layerValues(plan, best.repaired);
    const settings = { learners: c.names.join(","), optimizer, reward, trials, budget: plan.constraint?.description ?? "none", model: c.directory, dataset: c.datasetName };
    await writeFileAtomic(join(out, "report.html"), searchReport({ title: `pocketflow search: ${c.names.join(" → ")} on ${c.datasetName}`, settings, trials: result.trials, best, layers, final: after }));
    if (o.json !== true) io.stdout(searchSummary(best, layers, before, after));
    return {
      command: "compress", model: c.directory, out, dataset: c.datasetName, learners: c.names, backend: c.backend,
      search: { optimizer, reward, trials, retrain: mode, replayed: result.replayed, failed: result.trials.filter((t) => t.error !== undefined).length, budget: plan.constraint?.description, best: { index: best.index, score: best.score, point: best.repaired, metrics: best.metrics }, layers },
      before, after, report: join(out, "report.html"), seconds: (performance.now() - started) / 1000,
    };
  } finally {
    await runner.close();
  }
}

const storedBytes = async (dir: string): Promise<number> => (await modelFiles(dir)).reduce((sum, file) => sum + file.sizeBytes, 0);

/** The lines printed after a search: the best trial, its per-layer values, the model before and after. */
function searchSummary(best: TrialRecord, layers: ReturnType<typeof layerValues>, before: Record<string, number | undefined>, after: Record<string, number | undefined>): string {
  const show = (value: number | undefined) => (value === undefined ? "n/a" : Number.isInteger(value) ? value.toLocaleString("en-US") : value.toFixed(4));
  const keys = ["testAccuracy", "validationAccuracy", "macs", "params", "unprunedParams", "packedBytes", "storedBytes", "latencyMs"];
  return [
    `best trial ${best.index}: reward ${show(best.score)}`,
    ...layers.map((layer) => `  ${layer.layer}  ${layer.option} ${typeof layer.value === "number" ? show(layer.value) : layer.value}`),
    "",
    `${"".padEnd(20)}${"before".padStart(14)}${"after".padStart(14)}`,
    ...keys.map((key) => `${key.padEnd(20)}${show(before[key]).padStart(14)}${show(after[key]).padStart(14)}`),
  ].join("\n");
}
