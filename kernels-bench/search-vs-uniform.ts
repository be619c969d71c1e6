// npm run bench:search-vs-uniform -- --search DIR[,DIR...] --model DIR [--validation 1000] [--fast-steps 300] [--batch-size N] [--only ROW,...] [--out FILE]
// (--batch-size: of the longer fine-tune; --only: rows by name, e.g. uniform,heuristic,tpe)
// Does a search pay off? The best point of each finished search (its search.json and trials.jsonl;
// `pocketflow compress --learner channel|weight-sparse --optimizer ... --out DIR`) against the
// learner's one-value-for-every-layer baselines at the same budget, all built by the searched
// learner with the search's own options from the search's input model and given the identical
// fine-tune (fast mode, --fast-steps steps, the same seed):
//   channel       rows uniform (the --preserve-ratio for every layer) and each search's ratios;
//   weight-sparse rows uniform, heuristic (PocketFlow's log-size rule) and each search's sparsities.
// "before" is the row built as a search trial builds it (channel: right after reconstruction,
// or after the short fine-tune the search was given; weight-sparse: after its --fast-steps).
// Test accuracy before and after the fine-tune, MACs kept. Writes kernels-bench/results/search-vs-uniform.json.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { computeNormalization, type Normalization } from "../src/data/batches.js";
import { sampleCount, splitValidation } from "../src/data/dataset.js";
import { loadDataset } from "../src/data/registry.js";
import { graphCost } from "../src/graph/cost.js";
import { trainingSeedOf, type CompressedModel } from "../src/graph/compressed-model.js";
import { loadCompressedModel } from "../src/io/compressed-model-dir.js";
import { enableRelaxedSimd } from "../src/kernels/wasm-module.js";
import { compress } from "../src/learners/compress.js";
import { learnerByName } from "../src/learners/registry.js";
import { planSearch, SEARCH_CONFIG } from "../src/search/search-loop.js";
import { optionsOfPoint } from "../src/search/space.js";
import { optionsForMode, type ChainLearner } from "../src/search/trial.js";
import { readTrials } from "../src/search/trial-log.js";
import { selectBackend } from "../src/train/backend-select.js";
import { evaluateGraph } from "../src/train/evaluate-graph.js";
import { writeResultsJson } from "./results-file.js";
import { flagValue } from "./flags.js";

interface Row {
  name: string;
  /** The searched learner's options over the search's own. */
  options: Record<string, unknown>;
  search?: { dir: string; optimizer: string; trials: number; bestTrial: number; bestValidationReward: number };
}

/** A finished search: its searched learner with options, and its best point as that learner's options. */
async function searchedRow(dir: string, model: CompressedModel): Promise<{ step: ChainLearner; row: Row }> {
  const configPath = join(dir, SEARCH_CONFIG);
  if (!existsSync(configPath)) throw new Error(`bench:search-vs-uniform: ${configPath} is missing; --search takes the --out of a finished 'pocketflow compress --optimizer' run`);
  const config = JSON.parse(readFileSync(configPath, "utf8")) as { optimizer: string; learners: ChainLearner[] };
  const trials = (await readTrials(join(dir, "trials.jsonl"))).filter((trial) => trial.score !== undefined);
  if (trials.length === 0) throw new Error(`bench:search-vs-uniform: ${dir}/trials.jsonl has no finished trial`);
  const best = trials.reduce((a, b) => ((b.score as number) > (a.score as number) ? b : a));
  const plan = planSearch(model, config.learners, learnerByName);
  const step = config.learners[plan.learnerIndex];
  return {
    step,
    row: {
      name: `${config.optimizer}, ${trials.length} trials`,
      options: optionsOfPoint(plan.space, best.repaired),
      search: { dir, optimizer: config.optimizer, trials: trials.length, bestTrial: best.index, bestValidationReward: best.score as number },
    },
  };
}

/** The learner's one-value baselines at the search's budget. */
function baselineRows(step: ChainLearner): Row[] {
  if (step.learner === "channel" || step.learner === "dis-chn") return [{ name: "uniform", options: {} }];
  if (step.learner === "weight-sparse") return [{ name: "uniform", options: { allocation: "uniform" } }, { name: "heuristic", options: { allocation: "heuristic" } }];
  throw new Error(`bench:search-vs-uniform: searches of '${step.learner}' are not compared here (channel, dis-chn, weight-sparse)`);
}

/** The two builds of a row: as a trial builds it (the search's reward fidelity), and after the longer fine-tune. */
function fidelities(step: ChainLearner, fastSteps: number): { before: Record<string, unknown>; after: Record<string, unknown> } {
  const learner = learnerByName(step.learner);
  const after = step.learner === "weight-sparse" ? { mode: "fast", fastSteps } : { finetune: "fast", fastSteps };
  return { before: optionsForMode(learner, step.options, "fast"), after };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const searchDirs = flagValue(argv, "--search")?.split(",");
  if (searchDirs === undefined) throw new Error("bench:search-vs-uniform: --search DIR[,DIR...] (the --out of finished searches of one learner) is required");
  const modelDir = flagValue(argv, "--model");
  if (modelDir === undefined) throw new Error("bench:search-vs-uniform: --model DIR, the searches' input model, is required");
  const fastSteps = Number(flagValue(argv, "--fast-steps") ?? 300);
  const batchSize = flagValue(argv, "--batch-size") === undefined ? undefined : Number(flagValue(argv, "--batch-size"));
  const only = flagValue(argv, "--only")?.split(",");
  enableRelaxedSimd();
  await selectBackend({ backend: "pocketflow" });

  const { model, extras } = await loadCompressedModel(modelDir);
  const searched = await Promise.all(searchDirs.map((dir) => searchedRow(dir, model)));
  const step = searched[0].step;
  for (const other of searched) {
    if (JSON.stringify(other.step) !== JSON.stringify(step)) throw new Error(`bench:search-vs-uniform: ${other.row.search?.dir} searched ${JSON.stringify(other.step)}, ${searched[0].row.search?.dir} ${JSON.stringify(step)}: compare searches of the same learner and options`);
  }
  const preprocessing = (extras.preprocessing ?? {}) as { dataset?: string; normalization?: Normalization };
  const data = loadDataset(preprocessing.dataset as string);
  const validationCount = Number(flagValue(argv, "--validation") ?? 1000);
  // the held-out samples of the model's own training run, as compress holds out
  const split = splitValidation(data.train, validationCount, trainingSeedOf(model));
  const normalization = preprocessing.normalization ?? computeNormalization(split.train);
  const data_ = { train: split.train, validation: split.validation, normalization };
  const accuracy = (m: CompressedModel) => evaluateGraph(m.graph, data.test, { normalization }).accuracy;
  const { before, after } = fidelities(step, fastSteps);

  const rows = [...baselineRows(step), ...searched.map((s) => s.row)].filter((row) => only === undefined || only.includes(row.name.split(",")[0]));
  const results = [];
  for (const row of rows) {
    const build = async (fidelity: Record<string, unknown>) => (await compress(model, { learners: [{ learner: step.learner, options: { ...step.options, ...row.options, ...fidelity } }], data: data_, latency: false })).model;
    const atReward = await build(before);
    const tuned = await build({ ...after, ...(batchSize === undefined ? {} : { batchSize }) });
    const result = { name: row.name, ...(row.search ? { search: row.search } : {}), macsKept: graphCost(tuned.graph).macs / graphCost(model.graph).macs, testBeforeFineTune: accuracy(atReward), testAfterFineTune: accuracy(tuned), options: row.options };
    console.log(JSON.stringify(result));
    results.push(result);
  }
  const summary = { model: modelDir, learner: step.learner, learnerOptions: step.options, fastSteps, batchSize: batchSize ?? step.options.batchSize, trainImages: sampleCount(split.train), rows: results };
  const out = flagValue(argv, "--out") ?? join("kernels-bench", "results", "search-vs-uniform.json");
  writeResultsJson(out, summary);
  console.log(JSON.stringify(summary, null, 2));
}

if (process.argv[1]?.endsWith("search-vs-uniform.js")) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.stack : error);
    process.exit(1);
  });
}
