// The tfjs export: a LayersModel directory with quantized weight entries, loaded by plain
// @tensorflow/tfjs (tf.loadLayersModel through tfjs's own manifest reader, cpu backend). Each
// weight decodes to the values the summary promises (the model's own grid exactly, or within
// the reported error), and predictions match the graph with those decoded weights.
import * as tf from "@tensorflow/tfjs";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uncompressed, withQuantization, type CompressedModel, type NodeQuantization } from "../../src/graph/compressed-model.js";
import { weightsOf, type Graph } from "../../src/graph/ir.js";
import { saveTfjs, type TfjsExportOptions, type TfjsExportSummary } from "../../src/export/tfjs.js";
import { perTensor } from "../../src/kernels/grouping.js";
import { computeQuantParams, fakeQuantize } from "../../src/kernels/quantize.js";
import { createNet } from "../../src/nets/zoo.js";
import { parameterName } from "../../src/tfjs/weight-names.js";
import { maxRelativeError } from "../relative-error.js";
import { int8Model } from "./int8-fixture.js";
import { seededBatch, tfjsOutputs } from "./onnx-run.js";

let root: string;
beforeAll(async () => {
  await tf.setBackend("cpu");
  root = mkdtempSync(join(tmpdir(), "pf-tfjs-export-"));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

let count = 0;
/** Exports, then loads the directory with plain tf.loadLayersModel (tfjs reads the manifest). */
async function exportAndLoad(model: CompressedModel, options: TfjsExportOptions = {}): Promise<{ loaded: tf.LayersModel; summary: TfjsExportSummary; dir: string }> {
  const dir = join(root, `m${count++}`);
  const summary = await saveTfjs(dir, model, options);
  const json = JSON.parse(readFileSync(join(dir, "model.json"), "utf8")) as tf.io.ModelJSON;
  const handler: tf.io.IOHandler = {
    load: () => tf.io.getModelArtifactsForJSON(json, async (manifest) => {
      const paths = manifest.flatMap((group) => group.paths);
      return [manifest.flatMap((group) => group.weights), paths.map((p) => Uint8Array.from(readFileSync(join(dir, p))).buffer)] as never;
    }),
  };
  return { loaded: await tf.loadLayersModel(handler), summary, dir };
}

/** The graph with every weight replaced by what the loaded tfjs model holds. */
function withLoadedWeights(graph: Graph, loaded: tf.LayersModel): Graph {
  const copy = structuredClone(graph);
  const byName = new Map(loaded.weights.map((w) => [w.originalName, w]));
  for (const node of copy.nodes) for (const [name, weight] of weightsOf(node)) {
    weight.values = byName.get(parameterName(node.id, name))?.read().dataSync() as Float32Array;
  }
  return copy;
}

function loadedPredictions(loaded: tf.LayersModel, x: { shape: number[]; values: Float32Array }): Float32Array {
  return tf.tidy(() => (loaded.predict(tf.tensor(x.values, x.shape)) as tf.Tensor).dataSync() as Float32Array);
}

/** LeNet with every kernel quantized per tensor (bits, symmetric), weights on their grid. */
function perTensorQuantized(bits: number, symmetric: boolean): CompressedModel {
  const graph = createNet("lenet", { seed: 8 });
  const quantization: Record<string, NodeQuantization> = {};
  for (const node of graph.nodes) {
    if (node.op !== "conv2d" && node.op !== "dense") continue;
    const params = computeQuantParams(node.weights.kernel.values, { bits, symmetric }, perTensor());
    node.weights.kernel.values = fakeQuantize(node.weights.kernel.values, params);
    quantization[node.id] = { weights: { kernel: { scheme: "uniform", bits, symmetric, grouping: perTensor(), scales: params.scales, zeroPoints: params.zeroPoints } } };
  }
  return withQuantization(uncompressed(graph), quantization);
}

describe("saveTfjs", () => {
  it.each([[8, true], [8, false], [4, true]] as const)("per-tensor %i-bit (symmetric %s) kernels: uint8 on the model's own grid, decoded exactly; predictions equal", async (bits, symmetric) => {
    const model = perTensorQuantized(bits, symmetric);
    const { loaded, summary } = await exportAndLoad(model);
    const kernels = summary.weights.filter((w) => w.name.endsWith("/kernel"));
    expect(kernels.map((w) => w.storage)).toEqual(kernels.map(() => "uint8 (own grid)"));
    expect(kernels.every((w) => w.maxError === 0)).toBe(true);
    expect(summary.weights.filter((w) => w.name.endsWith("/bias")).every((w) => w.storage === "float32")).toBe(true);
    const decoded = withLoadedWeights(model.graph, loaded);
    for (const node of model.graph.nodes) if (node.op === "conv2d" || node.op === "dense") {
      expect(Array.from((decoded.nodes.find((n) => n.id === node.id) as typeof node).weights.kernel.values)).toEqual(Array.from(node.weights.kernel.values));
    }
    const x = seededBatch(model.graph, 2, 3);
    expect(maxRelativeError(loadedPredictions(loaded, x), tfjsOutputs(model.graph, x)[0])).toBeLessThan(1e-6);
    loaded.dispose();
  });

  it.each([1, 2] as const)("a float model with quantizeBytes %i: every weight uint8/uint16 (or on an exact uint8 grid), within half a step; bytes 1/4 or 1/2 of float32", async (bytes) => {
    const graph = createNet("lenet", { seed: 9 });
    const { loaded, summary } = await exportAndLoad(uncompressed(graph), { quantizeBytes: bytes });
    // a weight with few distinct values (zero biases) lies on a small exact grid: uint8 then
    expect(summary.weights.every((w) => w.storage === (bytes === 1 ? "uint8" : "uint16") || w.storage === "uint8 (exact grid)")).toBe(true);
    expect(summary.weightBytes).toBeLessThanOrEqual(summary.float32Bytes / (4 / bytes));
    expect(summary.weightBytes).toBeGreaterThan(0.9 * summary.float32Bytes / (4 / bytes));
    const decoded = withLoadedWeights(graph, loaded);
    const x = seededBatch(graph, 2, 4);
    // the loaded model computes the graph with the decoded weights; those are off by at most half a step
    expect(maxRelativeError(loadedPredictions(loaded, x), tfjsOutputs(decoded, x)[0])).toBeLessThan(1e-5);
    for (const w of summary.weights) expect(w.maxError).toBeLessThan(0.02 * (bytes === 1 ? 1 : 1 / 256));
    loaded.dispose();
  });

  it("an int8 per-channel model: kernels (inexpressible per tensor) stored as uint16 by default, uint8 with quantizeBytes 1, errors reported", async () => {
    const graph = createNet("lenet", { seed: 10 });
    const model = int8Model(graph, seededBatch(graph, 4, 5));
    const { loaded, summary } = await exportAndLoad(model);
    const kernels = summary.weights.filter((w) => w.name.endsWith("kernel"));
    expect(kernels.every((w) => w.storage === "uint16" || w.storage === "uint8 (exact grid)")).toBe(true);
    const x = seededBatch(model.graph, 2, 6);
    expect(maxRelativeError(loadedPredictions(loaded, x), tfjsOutputs(model.graph, x)[0])).toBeLessThan(1e-3);
    loaded.dispose();
    const one = await exportAndLoad(model, { quantizeBytes: 1 });
    expect(one.summary.weights.filter((w) => w.name.endsWith("kernel")).every((w) => w.storage.startsWith("uint8"))).toBe(true);
    one.loaded.dispose();
  });

  it("pruned weights stay exactly 0 (0 is on every grid)", async () => {
    const graph = createNet("lenet", { seed: 11 });
    const fc = graph.nodes.find((n) => n.op === "dense") as Extract<Graph["nodes"][number], { op: "dense" }>;
    fc.weights.kernel.values = fc.weights.kernel.values.map((v, i) => (i % 3 === 0 ? 0 : v));
    const { loaded } = await exportAndLoad(uncompressed(graph), { quantizeBytes: 1 });
    const decoded = (withLoadedWeights(graph, loaded).nodes.find((n) => n.id === fc.id) as typeof fc).weights.kernel.values;
    expect(decoded.filter((_, i) => i % 3 === 0).every((v) => v === 0)).toBe(true);
    loaded.dispose();
  });

  it("writes model.json and one weights file, nothing else", async () => {
    const { dir } = await exportAndLoad(uncompressed(createNet("lenet", { seed: 12 })), { quantizeBytes: 2 });
    const files = readdirSync(dir).sort();
    expect(files).toHaveLength(2);
    expect(files[0]).toBe("model.json");
  });
});
