// A real third-party model shipped as JS-wrapped tfjs weights: nsfwjs's MobileNetV2 (a Keras
// 2.2.4 model, 8-bit quantized weights in base64 shard modules) must import into the IR through
// a model directory and predict as tfjs's own model built from the same files; channel pruning
// must find its expand/project convs. Small hand-written modules check the loader's errors.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { registerPocketflowBackend } from "../../src/backend/register.js";
import { readJsWrappedModel, writeJsWrappedModelDirectory } from "../../src/io/js-wrapped-model.js";
import { loadModel } from "../../src/io/model-dir.js";
import { channelsForBudget, prunableLayers, thinnedMacs } from "../../src/learners/channel-budget.js";
import { graphCost } from "../../src/graph/cost.js";
import { buildTfjsModel } from "../../src/tfjs/tfjs-from-graph.js";
import { seededRandom } from "../../src/util/random.js";

function nsfwjsModule(): string | undefined {
  try {
    return join(dirname(createRequire(import.meta.url).resolve("nsfwjs")), "..", "models", "mobilenet_v2", "model.min.js");
  } catch {
    return undefined;
  }
}
const NSFWJS_MODEL = nsfwjsModule();
if (NSFWJS_MODEL === undefined) console.warn("js-wrapped-model.test: nsfwjs is not installed (it is a devDependency: run npm ci); its MobileNetV2 tests are skipped");

let dir: string;
beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), "js-wrapped-")); });
afterEach(async () => { await rm(dir, { recursive: true, force: true }); });
beforeAll(async () => { await tf.setBackend(registerPocketflowBackend()); });

describe.skipIf(NSFWJS_MODEL === undefined)("nsfwjs MobileNetV2 (224x224x3 -> 5 classes)", () => {
  it("imports into the IR and predicts as tfjs's own model on 3 random images", async () => {
    const modelFile = NSFWJS_MODEL as string;
    await writeJsWrappedModelDirectory(modelFile, dir);
    const { graph } = await loadModel(dir);
    const { modelJson, weightData } = readJsWrappedModel(modelFile);
    const reference = await tfl.loadLayersModel(tf.io.fromMemory({ modelTopology: modelJson.modelTopology, weightSpecs: modelJson.weightsManifest[0].weights, weightData: weightData.buffer as ArrayBuffer }));
    const ours = buildTfjsModel(graph);
    const random = seededRandom(7);
    const input = tf.tensor4d(Float32Array.from({ length: 3 * 224 * 224 * 3 }, () => random()), [3, 224, 224, 3]);
    try {
      const expected = (reference.predict(input) as tf.Tensor).dataSync();
      const actual = (ours.predict(input) as tf.Tensor).dataSync();
      expect(actual.length).toBe(15);
      for (let i = 0; i < expected.length; i++) expect(Math.abs(actual[i] - expected[i])).toBeLessThan(1e-4);
      expect(graphCost(graph).macs).toBeGreaterThan(290e6); // MobileNetV2 1.0 at 224: ~300M MACs
    } finally {
      tf.dispose([input]);
      reference.dispose();
      ours.dispose();
    }
  }, 120_000);

  it("has 19 prunable convs (the first block's project, every expand→project group, the last 1x1) and a 70% MAC budget", async () => {
    await writeJsWrappedModelDirectory(NSFWJS_MODEL as string, dir);
    const { graph } = await loadModel(dir);
    const layers = prunableLayers(graph);
    const ids = layers.map((layer) => layer.id);
    expect(ids).toEqual(["expanded_conv_project", "block_1_expand", ...Array.from({ length: 16 }, (_, i) => `block_${i + 1}_project`), "Conv_1"]);
    // block_1_project reads block_1_expand's 96 channels through the depthwise: they are one group.
    const block1 = layers.find((layer) => layer.id === "block_1_project");
    expect(block1?.channels).toBe(96);
    expect(block1?.group.producers).toEqual(["block_1_expand"]);
    const kept = channelsForBudget(graph, layers, 0.7);
    expect(thinnedMacs(graph, layers, kept) / graphCost(graph).macs).toBeLessThanOrEqual(0.7);
    expect(thinnedMacs(graph, layers, kept) / graphCost(graph).macs).toBeGreaterThan(0.68);
  }, 60_000);
});

describe("JS-wrapped model modules: errors", () => {
  const topology = { class_name: "Sequential", config: { name: "m", layers: [] } };

  it("a missing shard module is named with where it must lie", async () => {
    const modelFile = join(dir, "model.min.js");
    await writeFile(modelFile, `module.exports = ${JSON.stringify({ modelTopology: topology, weightsManifest: [{ paths: ["group1-shard1of1"], weights: [] }] })};`);
    expect(() => readJsWrappedModel(modelFile)).toThrow(/the module of weight shard 'group1-shard1of1', '.*group1-shard1of1\.min\.js' not found; the shard modules must lie beside model\.min\.js/);
  });

  it("a model module that is a shard, and a shard that is not base64, are refused", async () => {
    const modelFile = join(dir, "model.min.js");
    await writeFile(modelFile, `module.exports = "AAAA";`);
    expect(() => readJsWrappedModel(modelFile)).toThrow(/must export a model\.json object with modelTopology and weightsManifest, but exports string; pass the model module/);
    await writeFile(modelFile, `module.exports = ${JSON.stringify({ modelTopology: topology, weightsManifest: [{ paths: ["s"], weights: [] }] })};`);
    await writeFile(join(dir, "s.min.js"), `module.exports = "not base64!";`);
    expect(() => readJsWrappedModel(modelFile)).toThrow(/'.*s\.min\.js' must export the shard's bytes as a base64 string, but exports a string that is not base64/);
  });

  it("shards are decoded and joined in manifest order", async () => {
    const modelFile = join(dir, "model.min.js");
    await writeFile(modelFile, `module.exports = ${JSON.stringify({ modelTopology: topology, weightsManifest: [{ paths: ["a", "b"], weights: [{ name: "w", shape: [2], dtype: "float32" }] }] })};`);
    await writeFile(join(dir, "a.min.js"), `module.exports = ${JSON.stringify(Buffer.from([1, 2, 3]).toString("base64"))};`);
    await writeFile(join(dir, "b.min.js"), `module.exports = ${JSON.stringify(Buffer.from([4, 5, 6, 7, 8]).toString("base64"))};`);
    const { modelJson, weightData } = readJsWrappedModel(modelFile);
    expect([...weightData]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(modelJson.weightsManifest).toEqual([{ paths: ["weights.bin"], weights: [{ name: "w", shape: [2], dtype: "float32" }] }]);
  });
});
