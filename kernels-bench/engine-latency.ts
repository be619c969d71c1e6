// node dist/kernels-bench/engine-latency.js [--seconds 2] [--out kernels-bench/results/engine-latest.json]
// The engine beside our tfjs backend, tfjs-wasm and onnxruntime (web: its wasm backend in Node;
// node: native) on the shipped ResNet-20 (28×28×1) and the zoo's ResNet-20 and MobileNet-v2 0.5
// at 32×32×3, batch 1 and 32, one thread each, timed alternately by measureLatency (which also
// checks that every runtime gives the engine's logits). The int8 engine runs on each net's integer model (int8 weights per
// channel, ranges calibrated on seeded inputs: src/deploy/calibrate.ts) beside the same runtimes
// on that model's float graph. Targets (the issue): engine fp32 >= 1.5x onnxruntime-web at both
// batches; int8 at batch 32 <= 0.6x our backend's fp32, <= 0.25x tfjs-wasm's, <= onnxruntime-node's.
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { calibratedInt8Model } from "../src/deploy/calibrate.js";
import { measureLatency, type LatencySummary } from "../src/deploy/latency.js";
import type { RuntimeName } from "../src/deploy/latency-runtimes.js";
import { uncompressed, type CompressedModel } from "../src/graph/compressed-model.js";
import { loadCompressedModel } from "../src/io/compressed-model-dir.js";
import { enableRelaxedSimd } from "../src/kernels/wasm-module.js";
import { createNet } from "../src/nets/zoo.js";
import { selectBackend } from "../src/train/backend-select.js";
import { writeResultsJson } from "./results-file.js";

const here = dirname(fileURLToPath(import.meta.url));
const FLOAT_RUNTIMES: RuntimeName[] = ["engine", "pocketflow", "tfjs-wasm", "onnxruntime-web", "onnxruntime-node"];

const NETS: Record<string, () => Promise<CompressedModel>> = {
  // the int8 targets are stated on the shipped ResNet-20 (28×28×1), calibrated here
  "resnet20-fashion-mnist": async () => (await loadCompressedModel(resolve(here, "../../models/resnet20-fashion-mnist"))).model,
  resnet20: async () => uncompressed(createNet("resnet20", { inputShape: [32, 32, 3], classes: 10, seed: 1 })),
  "mobilenet-v2-0.5": async () => uncompressed(createNet("mobilenet-v2", { widthMultiplier: 0.5, inputShape: [32, 32, 3], classes: 10, seed: 1 })),
};

interface Row {
  net: string;
  batch: number;
  summary: LatencySummary;
}

function printRow({ net, batch, summary }: Row): void {
  const cells = summary.runtimes.map((r) => `${r.runtime} ${r.medianMs.toFixed(2)} ms (${r.ratio.toFixed(2)}x)`);
  console.log(`${net} batch ${batch}: ${cells.join(", ")}`);
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const option = (name: string, fallback: string): string => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : fallback);
  const seconds = Number(option("--seconds", "2"));
  const out = option("--out", resolve(here, "../../kernels-bench/results/engine-latest.json"));
  enableRelaxedSimd();
  await selectBackend({ backend: "pocketflow" });
  const rows: Row[] = [];
  for (const [net, make] of Object.entries(NETS)) {
    // the integer model's float graph is what every float runtime runs, so int8 and fp32 compute the same model
    const float = await make();
    const int8 = calibratedInt8Model(float);
    for (const batch of [1, 32]) {
      const runtimes: RuntimeName[] = int8 === undefined ? FLOAT_RUNTIMES : [...FLOAT_RUNTIMES, "engine-int8"];
      const model = int8 ?? float;
      const summary = await measureLatency(model.graph, { runtimes, batch, threads: 1, secondsPerRuntime: seconds, model });
      rows.push({ net, batch, summary });
      printRow(rows[rows.length - 1]);
    }
  }
  const report = { note: "one thread per runtime; ratio = time / engine fp32's", node: process.version, rows };
  writeResultsJson(out, report);
  console.log(`written: ${join(out)}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
