// npm run bench:search-vs-uniform -- --search DIR --model DIR [--preserve-ratio 0.5] [--validation 1000] [--fast-steps 300] [--batch-size 64] [--out FILE]
// Does a channel-pruning search pay off? The best repaired point of a finished search (its
// trials.jsonl; `pocketflow compress --learner channel --optimizer ... --out DIR`) against the
// uniform ratio at the same --preserve-ratio, each pruned by the channel learner from the search's
// input model and given the identical fine-tune (fast mode, --fast-steps steps, distilled from the
// original, the net's fine-tune recipe, the same seed). Test accuracy before and after the
// fine-tune, MACs kept. Writes kernels-bench/results/search-vs-uniform.json.
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { computeNormalization, type Normalization } from "../src/data/batches.js";
import { sampleCount, splitValidation } from "../src/data/dataset.js";
import { loadDataset } from "../src/data/registry.js";
import { graphCost } from "../src/graph/cost.js";
import type { CompressedModel } from "../src/graph/compressed-model.js";
import { loadCompressedModel } from "../src/io/compressed-model-dir.js";
import { enableRelaxedSimd } from "../src/kernels/wasm-module.js";
import { compress } from "../src/learners/compress.js";
import type { NetName } from "../src/nets/zoo.js";
import { readTrials } from "../src/search/trial-log.js";
import { optionsOfPoint, spaceOfHyperParameters } from "../src/search/space.js";
import { ChannelPrunedLearner } from "../src/learners/channel-pruned.js";
import { selectBackend } from "../src/train/backend-select.js";
import { evaluateGraph } from "../src/train/evaluate-graph.js";
import { fineTuneRecipe } from "../src/train/recipes.js";

const argValue = (argv: string[], flag: string): string | undefined => (argv.includes(flag) ? argv[argv.indexOf(flag) + 1] : undefined);

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const searchDir = argValue(argv, "--search");
  if (searchDir === undefined) throw new Error("bench:search-vs-uniform: --search DIR (the --out of a finished channel-pruning search) is required");
  const fastSteps = Number(argValue(argv, "--fast-steps") ?? 300);
  const batchSize = Number(argValue(argv, "--batch-size") ?? 64);
  enableRelaxedSimd();
  await selectBackend({ backend: "pocketflow" });
  const modelDir = argValue(argv, "--model");
  if (modelDir === undefined) throw new Error("bench:search-vs-uniform: --model DIR, the search's input model, is required");
  const preserveRatio = Number(argValue(argv, "--preserve-ratio") ?? 0.5);
  const trials = (await readTrials(join(searchDir, "trials.jsonl"))).filter((trial) => trial.score !== undefined);
  if (trials.length === 0) throw new Error(`bench:search-vs-uniform: ${searchDir}/trials.jsonl has no finished trial`);
  const best = trials.reduce((a, b) => ((b.score as number) > (a.score as number) ? b : a));

  const { model, extras } = await loadCompressedModel(modelDir);
  const preprocessing = (extras.preprocessing ?? {}) as { dataset?: string; normalization?: Normalization };
  const data = loadDataset(preprocessing.dataset as string);
  const validationCount = Number(argValue(argv, "--validation") ?? 1000);
  // the held-out samples of the model's own training run (its recorded seed), as compress holds out
  const trained = [...model.history].reverse().find((entry) => entry.step === "train" && typeof (entry.options as { seed?: unknown } | undefined)?.seed === "number");
  const split = splitValidation(data.train, validationCount, (trained?.options as { seed?: number } | undefined)?.seed ?? 0);
  const normalization = preprocessing.normalization ?? computeNormalization(split.train);
  const net = [...model.history].reverse().find((entry) => typeof entry.net === "string")?.net as NetName | undefined;
  const recipe = fineTuneRecipe(net);
  const ratios = optionsOfPoint(spaceOfHyperParameters(new ChannelPrunedLearner().searchSpace(model)), best.repaired).ratios as Record<string, number>;

  const run = async (name: string, options: Record<string, unknown>) => {
    const common = { epochs: recipe.epochs, batchSize, optimizer: recipe.optimizer, schedule: recipe.schedule, weightDecay: recipe.weightDecay, seed: 0 };
    const data_ = { train: split.train, validation: split.validation, normalization };
    const pruned = (await compress(model, { learners: [{ learner: "channel", options: { ...common, ...options, finetune: "none" } }], data: data_, latency: false })).model;
    const tuned = (await compress(model, { learners: [{ learner: "channel", options: { ...common, ...options, finetune: "fast", fastSteps } }], data: data_, latency: false })).model;
    const accuracy = (m: CompressedModel) => evaluateGraph(m.graph, data.test, { normalization }).accuracy;
    const result = { name, macsKept: graphCost(tuned.graph).macs / graphCost(model.graph).macs, testBeforeFineTune: accuracy(pruned), testAfterFineTune: accuracy(tuned) };
    console.log(JSON.stringify(result));
    return result;
  };
  const searched = await run("searched", { ratios });
  const uniform = await run("uniform", { preserveRatio });
  const results = {
    search: searchDir, model: modelDir, trials: trials.length, bestTrial: best.index, bestValidationReward: best.score, preserveRatio, fastSteps, batchSize,
    trainImages: sampleCount(split.train), ratios, searched, uniform, gainAfterFineTune: searched.testAfterFineTune - uniform.testAfterFineTune,
  };
  const out = argValue(argv, "--out") ?? join("kernels-bench", "results", "search-vs-uniform.json");
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(`${out}.tmp`, JSON.stringify(results, null, 2) + "\n");
  renameSync(`${out}.tmp`, out);
  console.log(JSON.stringify(results, null, 2));
}

if (process.argv[1]?.endsWith("search-vs-uniform.js")) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.stack : error);
    process.exit(1);
  });
}
