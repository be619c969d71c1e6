// npm run bench:nsfwjs-int8 [-- --calibration 64] [-- --test 96] [-- --batch 8] [-- --seconds 3] [-- --out FILE]
// Post-training 8-bit quantization of a real third-party model: nsfwjs's MobileNetV2 (224x224,
// 5 classes, imported from its JS-wrapped weights), quantized by the uniform-tf learner with
// calibration only (batch norms folded, int8 weights per channel, uint8 activations on ranges
// calibrated on crops of some natural images), then run as a real integer model in the int8
// engine. No ground truth is needed: the score is top-1 agreement with the float original on
// crops of images held out from calibration, for the simulated integer model (tfjs) and for the
// int8 engine. Latency: the int8 engine against the fp32 engine and our tfjs backend, alternately.
// Writes kernels-bench/results/nsfwjs-int8.json (temp file, then rename) and prints a summary.
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { batches } from "../src/data/batches.js";
import type { Dataset } from "../src/data/dataset.js";
import { loadEngine } from "../src/deploy/engine.js";
import { measureLatency } from "../src/deploy/latency.js";
import { enableRelaxedSimd } from "../src/kernels/wasm-module.js";
import { uncompressed, type CompressedModel } from "../src/graph/compressed-model.js";
import { UniformQuantTFLearner } from "../src/learners/uniform-quant-tf.js";
import { selectBackend } from "../src/train/backend-select.js";
import { quantizedForward } from "../src/train/evaluate-quantized.js";
import { decodeImages, listImageFiles, randomCrops } from "./natural-images.js";
import { importNsfwjsMobileNetV2, NSFWJS_CLASSES } from "./nsfwjs-mobilenet.js";
import { labelWithTopClass, topClassOfRows } from "./top-class.js";
import { writeResultsJson } from "./results-file.js";

const IMAGE_SIDE = 256;
const HELD_OUT_EVERY = 4;

interface BenchOptions { calibration: number; test: number; batch: number; seconds: number; out: string }

function parseArgs(argv: string[]): BenchOptions {
  const value = (flag: string, fallback: number): number => {
    const i = argv.indexOf(flag);
    if (i < 0) return fallback;
    const parsed = Number(argv[i + 1]);
    if (!(parsed > 0)) throw new Error(`bench:nsfwjs-int8: ${flag} must be a positive number, but got '${argv[i + 1]}'`);
    return parsed;
  };
  const outIndex = argv.indexOf("--out");
  return {
    calibration: value("--calibration", 64), test: value("--test", 96), batch: value("--batch", 8), seconds: value("--seconds", 3),
    out: outIndex >= 0 ? argv[outIndex + 1] : join("kernels-bench", "results", "nsfwjs-int8.json"),
  };
}

/** Top-1 of a forward pass over the dataset, in batches. */
function topClassesOf(forward: (images: tf.Tensor4D) => tf.Tensor2D, dataset: Dataset, batchSize: number): Uint8Array {
  const out: number[] = [];
  for (const batch of batches(dataset, { batchSize })) {
    const top = tf.tidy(() => forward(tf.tensor4d(batch.images, [batch.size, ...dataset.imageShape])).argMax(-1));
    out.push(...(top.dataSync() as Int32Array));
    top.dispose();
  }
  return Uint8Array.from(out);
}

/** Top-1 of the int8 engine over the dataset, in batches. */
function engineTopClasses(model: CompressedModel, dataset: Dataset, batchSize: number): Uint8Array {
  const engine = loadEngine(model, { precision: "int8" });
  const classes = NSFWJS_CLASSES.length;
  const out: number[] = [];
  for (const batch of batches(dataset, { batchSize })) out.push(...topClassOfRows(engine.run(batch.images, batch.size), classes));
  return Uint8Array.from(out);
}

const agreementOf = (a: Uint8Array, b: Uint8Array): number => a.reduce((n, label, i) => n + (label === b[i] ? 1 : 0), 0) / a.length;

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const started = performance.now();
  const log = (line: string) => console.log(`[${((performance.now() - started) / 1000).toFixed(0)} s] ${line}`);
  enableRelaxedSimd();
  await selectBackend({ backend: "pocketflow" });
  const graph = await importNsfwjsMobileNetV2();
  const images = decodeImages(listImageFiles(), IMAGE_SIDE);
  const heldOut = images.filter((_, i) => i % HELD_OUT_EVERY === HELD_OUT_EVERY - 1);
  const seen = images.filter((_, i) => i % HELD_OUT_EVERY !== HELD_OUT_EVERY - 1);
  const common = { size: 224, numClasses: NSFWJS_CLASSES.length };
  const calibration = randomCrops(seen, options.calibration, { ...common, seed: 1, name: "natural-image crops (calibration)" });
  const test = randomCrops(heldOut, options.test, { ...common, seed: 2, name: "natural-image crops (held out)" });
  const floatTop = labelWithTopClass(graph, test);
  log(`imported ${graph.name}; ${images.length} images; ${options.calibration} calibration crops, ${options.test} held-out crops`);

  const quantizeStarted = performance.now();
  const int8 = await new UniformQuantTFLearner().compress(uncompressed(graph), { train: { ...calibration, labels: labelWithTopClass(graph, calibration) } }, {
    postTraining: true, batchSize: options.batch, calibrationBatches: Math.ceil(options.calibration / options.batch), epochs: 1, seed: 0,
  });
  const quantizeSeconds = (performance.now() - quantizeStarted) / 1000;
  log(`quantized in ${quantizeSeconds.toFixed(0)} s`);
  const simulated = quantizedForward(int8);
  const simulatedTop = topClassesOf((x) => simulated.forward(x, false), test, options.batch);
  simulated.dispose();
  const engineTop = engineTopClasses(int8, test, options.batch);
  const agreement = { simulated: agreementOf(simulatedTop, floatTop), int8Engine: agreementOf(engineTop, floatTop), engineVsSimulated: agreementOf(engineTop, simulatedTop) };
  log(`top-1 agreement with the float model: simulated ${(100 * agreement.simulated).toFixed(1)}%, int8 engine ${(100 * agreement.int8Engine).toFixed(1)}%`);

  log("timing int8 engine, fp32 engine and our tfjs backend, alternately");
  const timing = async (batch: number) => (await measureLatency(int8.graph, { runtimes: ["engine", "engine-int8", "pocketflow"], model: int8, batch, secondsPerRuntime: options.seconds }))
    .runtimes.map(({ runtime, medianMs, ratio }) => ({ runtime, medianMs, vsEngineFp32: ratio }));
  const latency = { batch1: await timing(1), [`batch${options.batch}`]: await timing(options.batch) };
  const results = {
    model: "nsfwjs MobileNetV2 (224x224x3, 5 classes), post-training 8-bit (uniform-tf --post-training)",
    data: { images: images.length, calibrationCrops: options.calibration, heldOutCrops: options.test, heldOutImages: heldOut.length },
    originalClassesOnHeldOut: Object.fromEntries(NSFWJS_CLASSES.map((name, c) => [name, floatTop.filter((label) => label === c).length])),
    agreement, quantizeSeconds, latency,
    seconds: (performance.now() - started) / 1000,
  };
  writeResultsJson(options.out, results);
  console.log(JSON.stringify(results, null, 2));
}

if (process.argv[1]?.endsWith("nsfwjs-int8.js")) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.stack : error);
    process.exit(1);
  });
}
