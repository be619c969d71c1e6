// npm run bench:nsfwjs [-- --train 128] [-- --test 96] [-- --steps 20] [-- --batch 8]
//   [-- --samples 20] [-- --positions 40] [-- --threads 1] [-- --seconds 3] [-- --latency-batch 8] [-- --out FILE]
// The defaults fit about 15 minutes on 2 shared CPU cores: a MobileNetV2 training step at 224x224
// costs about 2 s per image there (student forward + backward, teacher forward).
// A real third-party model through the channel pruner: nsfwjs's MobileNetV2 (224x224, 5 classes),
// imported from its JS-wrapped weights into the IR, pruned by ChannelPrunedLearner to 70% of its
// MACs (LASSO selection + least-squares reconstruction, channels removed for real), then
// fine-tuned distilling from the original, as the learner's fine-tune does. No ground truth is
// needed: the labels are the original's top-1 on natural-image crops (Debian's sample images),
// and the score is top-1 agreement with the original on crops of images held out from training.
// Writes kernels-bench/results/nsfwjs-mobilenet.json (temp file, then rename) and prints a summary.
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { setBackendThreads } from "../src/backend/executor.js";
import { uncompressed, type CompressedModel } from "../src/graph/compressed-model.js";
import { graphCost } from "../src/graph/cost.js";
import type { Graph } from "../src/graph/ir.js";
import type { Dataset } from "../src/data/dataset.js";
import { writeJsWrappedModelDirectory } from "../src/io/js-wrapped-model.js";
import { loadModel } from "../src/io/model-dir.js";
import { ChannelPrunedLearner } from "../src/learners/channel-pruned.js";
import { latenciesMs } from "../src/deploy/latency.js";
import { FullPrecLearner } from "../src/learners/full-prec.js";
import { selectBackend } from "../src/train/backend-select.js";
import { evaluateGraph } from "../src/train/evaluate-graph.js";
import { decodeImages, listImageFiles, randomCrops, type DecodedImage } from "./natural-images.js";
import { labelWithTopClass } from "./top-class.js";
import { writeResultsJson } from "./results-file.js";

/** nsfwjs's class names, in its output order. */
export const NSFWJS_CLASSES = ["Drawing", "Hentai", "Neutral", "Porn", "Sexy"];
const PRESERVE_RATIO = 0.7;
const IMAGE_SIDE = 256;
const HELD_OUT_EVERY = 4;

interface BenchOptions {
  train: number;
  test: number;
  steps: number;
  batch: number;
  samples: number;
  positions: number;
  threads: number;
  seconds: number;
  latencyBatch: number;
  out: string;
}

function parseArgs(argv: string[]): BenchOptions {
  const value = (flag: string, fallback: number): number => {
    const i = argv.indexOf(flag);
    if (i < 0) return fallback;
    const parsed = Number(argv[i + 1]);
    if (!(parsed > 0) || (flag !== "--seconds" && !Number.isInteger(parsed))) throw new Error(`bench:nsfwjs: ${flag} must be a positive ${flag === "--seconds" ? "number" : "integer"}, but got '${argv[i + 1]}'`);
    return parsed;
  };
  const outIndex = argv.indexOf("--out");
  return {
    train: value("--train", 128), test: value("--test", 96), steps: value("--steps", 20), batch: value("--batch", 8),
    samples: value("--samples", 20), positions: value("--positions", 40), threads: value("--threads", 1), seconds: value("--seconds", 3),
    latencyBatch: value("--latency-batch", 8),
    out: outIndex >= 0 ? argv[outIndex + 1] : join("kernels-bench", "results", "nsfwjs-mobilenet.json"),
  };
}

/** The model module nsfwjs ships MobileNetV2 in (model.min.js, beside its shard modules). */
export function nsfwjsMobileNetV2Module(): string {
  const entry = createRequire(import.meta.url).resolve("nsfwjs");
  return join(dirname(entry), "..", "models", "mobilenet_v2", "model.min.js");
}

/** nsfwjs's MobileNetV2 as an IR graph, through a model directory in a temp folder. */
export async function importNsfwjsMobileNetV2(): Promise<Graph> {
  const dir = mkdtempSync(join(tmpdir(), "nsfwjs-mobilenet-"));
  try {
    await writeJsWrappedModelDirectory(nsfwjsMobileNetV2Module(), dir);
    return (await loadModel(dir)).graph;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Train crops from 3 of every 4 images, held-out crops from the 4th: no image is in both. */
function cropSets(images: DecodedImage[], options: BenchOptions): { train: Dataset; test: Dataset } {
  const heldOut = images.filter((_, i) => i % HELD_OUT_EVERY === HELD_OUT_EVERY - 1);
  const seen = images.filter((_, i) => i % HELD_OUT_EVERY !== HELD_OUT_EVERY - 1);
  const common = { size: 224, numClasses: NSFWJS_CLASSES.length };
  return {
    train: randomCrops(seen, options.train, { ...common, seed: 1, name: "natural-image crops (train)" }),
    test: randomCrops(heldOut, options.test, { ...common, seed: 2, name: "natural-image crops (held out)" }),
  };
}

function classCounts(labels: Uint8Array): Record<string, number> {
  return Object.fromEntries(NSFWJS_CLASSES.map((name, c) => [name, labels.reduce((n, label) => n + (label === c ? 1 : 0), 0)]));
}

// Batches of 32: MobileNetV2's 112x112x96 activations at evaluate's default 256 would take GiBs.
const agreement = (graph: Graph, test: Dataset): number => evaluateGraph(graph, test, { batchSize: 32 }).accuracy;

async function pruneAndTune(original: CompressedModel, train: Dataset, test: Dataset, options: BenchOptions, log: (line: string) => void) {
  let started = performance.now();
  // finetune 'none', then the learner's own fine-tune (FullPrecLearner distilling from the
  // original) run here: the agreement right after reconstruction is measured in between.
  const pruned = await new ChannelPrunedLearner().compress(original, { train }, {
    preserveRatio: PRESERVE_RATIO, samples: options.samples, positionsPerImage: options.positions, finetune: "none", seed: 0, progress: log, epochs: 1, batchSize: options.batch,
  });
  const pruneSeconds = (performance.now() - started) / 1000;
  const afterReconstruction = agreement(pruned.graph, test);
  log(`pruned in ${pruneSeconds.toFixed(0)} s; top-1 agreement after reconstruction ${(100 * afterReconstruction).toFixed(1)}%`);
  started = performance.now();
  const tuned = await new FullPrecLearner().compress(pruned, { train }, {
    mode: "fast", fastSteps: options.steps, epochs: Math.ceil((options.steps * options.batch) / train.labels.length), batchSize: options.batch,
    optimizer: { kind: "adam" }, schedule: { schedule: { kind: "constant", learningRate: 1e-4 } }, seed: 0,
    // The learner's default 0.9 suits short runs from scratch; here 2 steps of 8 crops at 0.9
    // moved the original's own statistics enough to cost 1 in 8 held-out agreements (lr ~0).
    batchNormMomentum: 0.99,
    distillation: {}, teacherGraph: original.graph,
    hooks: { onStep: (step) => { if (step.globalStep % 10 === 0) log(`fine-tune step ${step.globalStep}: loss ${step.loss.toFixed(3)}`); } },
  });
  const tuneSeconds = (performance.now() - started) / 1000;
  return { pruned, tuned, pruneSeconds, tuneSeconds, afterReconstruction, afterFineTune: agreement(tuned.graph, test) };
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const started = performance.now();
  const log = (line: string) => console.log(`[${((performance.now() - started) / 1000).toFixed(0)} s] ${line}`);
  await selectBackend({ backend: "pocketflow" });
  setBackendThreads(options.threads);
  const graph = await importNsfwjsMobileNetV2();
  const images = decodeImages(listImageFiles(), IMAGE_SIDE);
  log(`imported ${graph.name} (${graph.nodes.length} nodes); ${images.length} images decoded`);
  const { train, test } = cropSets(images, options);
  const trainLabels = labelWithTopClass(graph, train);
  const testLabels = labelWithTopClass(graph, test);
  const labelled = { train: { ...train, labels: trainLabels }, test: { ...test, labels: testLabels } };
  const original = uncompressed(graph);
  const run = await pruneAndTune(original, labelled.train, labelled.test, options, log);
  log("timing both models, alternately");
  const batch1 = await latenciesMs([graph, run.tuned.graph], { batch: 1, seconds: options.seconds });
  const batchN = await latenciesMs([graph, run.tuned.graph], { batch: options.latencyBatch, seconds: options.seconds });
  const [before, after] = [graphCost(graph), graphCost(run.tuned.graph)];
  const results = {
    model: "nsfwjs MobileNetV2 (224x224x3, 5 classes)", preserveRatio: PRESERVE_RATIO,
    data: { images: images.length, trainCrops: options.train, heldOutCrops: options.test, heldOutImages: Math.floor(images.length / HELD_OUT_EVERY) },
    settings: { samples: options.samples, positionsPerImage: options.positions, fineTuneSteps: options.steps, batchSize: options.batch, threads: options.threads, latencyBatch: options.latencyBatch },
    originalClassesOnHeldOut: classCounts(testLabels), originalClassesOnTrain: classCounts(trainLabels),
    agreement: { afterReconstruction: run.afterReconstruction, afterFineTune: run.afterFineTune },
    macs: { before: before.macs, after: after.macs, ratio: after.macs / before.macs },
    params: { before: before.params, after: after.params, ratio: after.params / before.params },
    latencyMs: {
      batch1: { original: batch1[0], pruned: batch1[1], speedup: batch1[0] / batch1[1] },
      [`batch${options.latencyBatch}`]: { original: batchN[0], pruned: batchN[1], speedup: batchN[0] / batchN[1] },
    },
    seconds: { prune: run.pruneSeconds, fineTune: run.tuneSeconds, total: (performance.now() - started) / 1000 },
    layers: (run.pruned.history.at(-1) as { layers?: unknown } | undefined)?.layers,
  };
  writeResultsJson(options.out, results);
  printSummary(results);
}

function printSummary(r: { [key: string]: any }): void { // eslint-disable-line @typescript-eslint/no-explicit-any -- the results object above
  const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
  console.log(`\n${r.model}, channel-pruned to ${pct(r.preserveRatio)} of MACs`);
  console.log(`original's top-1 on ${r.data.heldOutCrops} held-out crops: ${JSON.stringify(r.originalClassesOnHeldOut)}`);
  console.log(`top-1 agreement with the original: ${pct(r.agreement.afterReconstruction)} after reconstruction, ${pct(r.agreement.afterFineTune)} after ${r.settings.fineTuneSteps} distillation steps`);
  console.log(`MACs ${(r.macs.before / 1e6).toFixed(1)}M -> ${(r.macs.after / 1e6).toFixed(1)}M (${r.macs.ratio.toFixed(3)}x); params ${(r.params.before / 1e6).toFixed(3)}M -> ${(r.params.after / 1e6).toFixed(3)}M (${r.params.ratio.toFixed(3)}x)`);
  for (const [name, l] of Object.entries(r.latencyMs as Record<string, { original: number; pruned: number; speedup: number }>)) {
    console.log(`latency ${name}: original ${l.original.toFixed(1)} ms, pruned ${l.pruned.toFixed(1)} ms (${l.speedup.toFixed(2)}x faster)`);
  }
  console.log(`seconds: prune ${r.seconds.prune.toFixed(0)}, fine-tune ${r.seconds.fineTune.toFixed(0)}, total ${r.seconds.total.toFixed(0)}`);
}

if (process.argv[1]?.endsWith("nsfwjs-mobilenet.js")) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.stack : error);
    process.exit(1);
  });
}
