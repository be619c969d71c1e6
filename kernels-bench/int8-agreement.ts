// npm run bench:int8-agreement -- --model DIR [--float DIR] [--limit N] [--out FILE]
// An integer model (uniform-tf's output) run four ways over its dataset's whole test split:
// the simulated integer model in tfjs (what `compress` reports), our int8 engine, and its ONNX
// exports (QDQ and QOperator) in onnxruntime-node. Reports each one's accuracy, their top-1
// agreement with each other (and with a float model, --float), and the largest logit difference
// in units of the logits' quantization step (LSB). Writes kernels-bench/results/int8-agreement.json.
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import * as ort from "onnxruntime-node";
import { batches, type Normalization } from "../src/data/batches.js";
import { loadDataset } from "../src/data/registry.js";
import { loadEngine } from "../src/deploy/engine.js";
import { logitsGraph } from "../src/deploy/engine-runtimes.js";
import { activationParams, checkInt8Model } from "../src/deploy/int8-model.js";
import { exportOnnx } from "../src/export/onnx.js";
import type { CompressedModel } from "../src/graph/compressed-model.js";
import { loadCompressedModel } from "../src/io/compressed-model-dir.js";
import { enableRelaxedSimd } from "../src/kernels/wasm-module.js";
import { buildTfjsModel } from "../src/tfjs/tfjs-from-graph.js";
import { selectBackend } from "../src/train/backend-select.js";
import { quantizedForward } from "../src/train/evaluate-quantized.js";
import { topClassOfRows } from "./top-class.js";
import { writeResultsJson } from "./results-file.js";
import { flagValue } from "./flags.js";

const BATCH = 100;
type Logits = (images: Float32Array, batch: number, shape: number[]) => Promise<Float32Array>;

async function onnxLogits(model: CompressedModel, flavor: "qdq" | "qoperator"): Promise<{ run: Logits; release(): Promise<void> }> {
  const bytes = exportOnnx({ ...model, graph: logitsGraph(model.graph) }, { flavor });
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, graphOptimizationLevel: "all" });
  const input = session.inputNames[0];
  return {
    run: async (images, batch, shape) => Float32Array.from((await session.run({ [input]: new ort.Tensor("float32", images, [batch, ...shape]) }))[session.outputNames[0]].data as Float32Array),
    release: () => session.release(),
  };
}

function tfjsLogits(forward: (x: tf.Tensor4D) => tf.Tensor2D): Logits {
  return async (images, batch, shape) => tf.tidy(() => forward(tf.tensor4d(images, [batch, ...shape] as [number, number, number, number])).dataSync() as Float32Array);
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const dir = flagValue(argv, "--model");
  if (dir === undefined) throw new Error("bench:int8-agreement: --model DIR (an integer model from the uniform-tf learner) is required");
  enableRelaxedSimd();
  await selectBackend({ backend: "pocketflow" });
  const { model, extras } = await loadCompressedModel(dir);
  checkInt8Model(model);
  const preprocessing = (extras.preprocessing ?? {}) as { dataset?: string; normalization?: Normalization };
  if (preprocessing.dataset === undefined) throw new Error(`bench:int8-agreement: ${dir} does not say which dataset it was trained on`);
  const test = loadDataset(preprocessing.dataset).test;
  const limit = Number(flagValue(argv, "--limit") ?? test.labels.length);
  const floatDir = flagValue(argv, "--float");
  const floatGraph = floatDir === undefined ? undefined : (await loadCompressedModel(floatDir)).model.graph;
  const logitsNode = logitsGraph(model.graph).outputs[0];
  const lsb = activationParams(model, logitsNode).scale;
  const classes = test.numClasses;

  const simulated = quantizedForward(model);
  const engine = loadEngine(model, { precision: "int8" });
  const qdq = await onnxLogits(model, "qdq");
  const qoperator = await onnxLogits(model, "qoperator");
  const floatModel = floatGraph === undefined ? undefined : buildTfjsModel(floatGraph, { withoutSoftmax: true });
  const runners: Record<string, Logits> = {
    simulated: tfjsLogits((x) => simulated.forward(x, false)),
    engine: async (images, batch) => Float32Array.from(engine.run(images, batch)),
    onnxQdq: qdq.run,
    onnxQoperator: qoperator.run,
    ...(floatModel === undefined ? {} : { float: tfjsLogits((x) => floatModel.predict(x) as tf.Tensor2D) }),
  };
  const names = Object.keys(runners);
  const tops: Record<string, number[]> = Object.fromEntries(names.map((name) => [name, []]));
  const maxLsb: Record<string, number> = {};
  const labels: number[] = [];
  for (const batch of batches({ ...test, labels: test.labels.subarray(0, limit), images: test.images.subarray(0, limit * test.images.length / test.labels.length) }, { batchSize: BATCH, normalization: preprocessing.normalization })) {
    const logits: Record<string, Float32Array> = {};
    for (const name of names) logits[name] = await runners[name](batch.images, batch.size, [...test.imageShape]);
    for (const name of names) tops[name].push(...topClassOfRows(logits[name], classes));
    for (const name of ["simulated", "onnxQdq", "onnxQoperator"]) {
      const diff = logits[name].reduce((max, value, i) => Math.max(max, Math.abs(value - logits.engine[i])), 0) / lsb;
      maxLsb[`engine vs ${name}`] = Math.max(maxLsb[`engine vs ${name}`] ?? 0, diff);
    }
    const ortDiff = logits.onnxQdq.reduce((max, value, i) => Math.max(max, Math.abs(value - logits.onnxQoperator[i])), 0) / lsb;
    maxLsb["onnxQdq vs onnxQoperator"] = Math.max(maxLsb["onnxQdq vs onnxQoperator"] ?? 0, ortDiff);
    labels.push(...batch.labels);
  }
  const rate = (a: number[], b: number[]) => a.reduce((n, v, i) => n + (v === b[i] ? 1 : 0), 0) / a.length;
  const accuracy = Object.fromEntries(names.map((name) => [name, rate(tops[name], labels)]));
  const agreement: Record<string, number> = {};
  for (let i = 0; i < names.length; i++) for (let j = i + 1; j < names.length; j++) agreement[`${names[i]} vs ${names[j]}`] = rate(tops[names[i]], tops[names[j]]);
  simulated.dispose();
  await qdq.release();
  await qoperator.release();
  floatModel?.dispose();
  const results = { model: dir, float: floatDir, dataset: preprocessing.dataset, images: labels.length, logitsLsb: lsb, accuracy, agreement, maxLogitDifferenceLsb: maxLsb };
  const out = flagValue(argv, "--out") ?? join("kernels-bench", "results", "int8-agreement.json");
  writeResultsJson(out, results);
  console.log(JSON.stringify(results, null, 2));
}

if (process.argv[1]?.endsWith("int8-agreement.js")) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.stack : error);
    process.exit(1);
  });
}
