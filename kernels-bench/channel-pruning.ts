// npm run bench:pruning [-- --model DIR] [-- --preserve-ratio 0.5] [-- --fast-steps 300] [-- --quick]
// Channel pruning of a trained model (default: the shipped ResNet-20 on Fashion-MNIST) with each
// selection method — LASSO (He et al. 2017) and the baselines it must beat, sum |W| and random —
// at the same FLOPs budget: reconstruction error and accuracy right after pruning, accuracy after
// the same fast fine-tune (distilled from the original), and the latency of the LASSO model
// against the original, timed alternately on our backend and on tfjs-wasm at batch 1 and 32.
// Writes kernels-bench/results/channel-pruning-latest.json (temporary file, then renamed).
import { dirname, join } from "node:path";
import { sliceDataset, splitValidation } from "../src/data/dataset.js";
import { loadDataset } from "../src/data/registry.js";
import type { Normalization } from "../src/data/batches.js";
import { graphCost } from "../src/graph/cost.js";
import type { CompressedModel } from "../src/graph/compressed-model.js";
import { loadCompressedModel } from "../src/io/compressed-model-dir.js";
import { enableRelaxedSimd } from "../src/kernels/wasm-module.js";
import { ChannelPrunedLearner } from "../src/learners/channel-pruned.js";
import type { ChannelSelectionMethod } from "../src/learners/channel-selection.js";
import { latenciesMs } from "../src/deploy/latency.js";
import { FullPrecLearner } from "../src/learners/full-prec.js";
import { selectBackend } from "../src/train/backend-select.js";
import { evaluateGraph } from "../src/train/evaluate-graph.js";
import { fineTuneRecipe } from "../src/train/recipes.js";
import { findPackageFile } from "../src/util/package-files.js";
import { writeResultsJson } from "./results-file.js";
import { flagValue } from "./flags.js";

const option = (argv: string[], flag: string, fallback: string): string => flagValue(argv, flag) ?? fallback;

interface MethodResult {
  selection: ChannelSelectionMethod;
  meanRelativeError: number;
  testAccuracyPruned: number;
  testAccuracyFineTuned: number;
  validationAccuracyFineTuned: number;
  pruneSeconds: number;
}

async function main(): Promise<void> {
  enableRelaxedSimd();
  const argv = process.argv.slice(2);
  const quick = argv.includes("--quick");
  const dir = option(argv, "--model", findPackageFile("models/resnet20-fashion-mnist/model.json", "run from a checkout").replace(/\/model\.json$/, ""));
  const preserveRatio = Number(option(argv, "--preserve-ratio", "0.5"));
  const fastSteps = Number(option(argv, "--fast-steps", quick ? "20" : "300"));
  await selectBackend({ backend: "pocketflow" });
  const { model, extras } = await loadCompressedModel(dir);
  const preprocessing = extras.preprocessing as { dataset: string; normalization: Normalization };
  const data = loadDataset(preprocessing.dataset);
  const split = splitValidation(data.train, 5000, 0);
  const learnerData = { train: split.train, validation: split.validation, normalization: preprocessing.normalization };
  const test = quick ? sliceDataset(data.test, 0, 1000) : data.test;
  const accuracy = (m: CompressedModel) => evaluateGraph(m.graph, test, { normalization: preprocessing.normalization }).accuracy;
  const original = accuracy(model);
  console.log(`${dir}: test accuracy ${(100 * original).toFixed(2)}%, ${graphCost(model.graph).macs.toLocaleString("en-US")} MACs; keeping ${preserveRatio} of the MACs, fine-tune ${fastSteps} steps`);
  const recipe = fineTuneRecipe("resnet20");
  const results: MethodResult[] = [];
  let lassoModel: CompressedModel | undefined;
  for (const selection of ["lasso", "sum-abs", "random"] as const) {
    const started = performance.now();
    const pruned = await new ChannelPrunedLearner().compress(model, learnerData, { epochs: 1, batchSize: recipe.batchSize, preserveRatio, selection, finetune: "none" });
    const pruneSeconds = (performance.now() - started) / 1000;
    const layers = (pruned.history.at(-1)?.layers ?? []) as Array<{ relativeError: number }>;
    const tuned = await new FullPrecLearner().compress(pruned, learnerData, {
      epochs: 1, batchSize: recipe.batchSize, optimizer: recipe.optimizer, schedule: recipe.schedule, weightDecay: recipe.weightDecay,
      mode: "fast", fastSteps, distillation: {}, teacherGraph: model.graph,
    });
    if (selection === "lasso") lassoModel = pruned;
    const result: MethodResult = {
      selection, pruneSeconds,
      meanRelativeError: layers.reduce((sum, layer) => sum + layer.relativeError, 0) / layers.length,
      testAccuracyPruned: accuracy(pruned), testAccuracyFineTuned: accuracy(tuned),
      validationAccuracyFineTuned: evaluateGraph(tuned.graph, split.validation, { normalization: preprocessing.normalization }).accuracy,
    };
    results.push(result);
    console.log(`${selection.padEnd(8)} reconstruction error ${(100 * result.meanRelativeError).toFixed(2)}%  test ${(100 * result.testAccuracyPruned).toFixed(2)}% pruned, ${(100 * result.testAccuracyFineTuned).toFixed(2)}% fine-tuned  (selection + reconstruction ${pruneSeconds.toFixed(1)} s)`);
  }
  const pruned = lassoModel as CompressedModel;
  const latency: Array<{ runtime: string; batch: number; originalMs: number; prunedMs: number; speedup: number }> = [];
  for (const runtime of ["pocketflow", "tfjs-wasm"] as const) {
    for (const batch of [1, 32]) {
      const [originalMs, prunedMs] = await latenciesMs([model.graph, pruned.graph], { batch, runtime, seconds: quick ? 0.3 : 3 });
      latency.push({ runtime, batch, originalMs, prunedMs, speedup: originalMs / prunedMs });
      console.log(`${runtime.padEnd(10)} batch ${String(batch).padStart(2)}: ${originalMs.toFixed(2)} ms -> ${prunedMs.toFixed(2)} ms, ${(originalMs / prunedMs).toFixed(2)}x faster`);
    }
  }
  const report = {
    at: new Date().toISOString(), node: process.version, model: dir, preserveRatio, fastSteps, quick,
    originalTestAccuracy: original, macs: { original: graphCost(model.graph).macs, pruned: graphCost(pruned.graph).macs },
    methods: results, latency,
  };
  const out = join(dirname(findPackageFile("package.json", "run from a checkout")), "kernels-bench", "results", quick ? "channel-pruning-quick.json" : "channel-pruning-latest.json");
  writeResultsJson(out, report);
  console.log(`written to ${out}`);
}

main().then(() => process.exit(0), (error: unknown) => {
  console.error(error instanceof Error ? error.stack ?? error.message : String(error));
  process.exit(1);
});
