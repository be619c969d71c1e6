// What loadModel refuses before anything runs on a model: a path that is not a model directory
// (missing, the model.json file itself, a folder without model.json) and NaN or infinite weights;
// and which files make up a model directory (info's size on disk).
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { checkFiniteWeights } from "../../src/graph/finite-weights.js";
import type { Conv2DNode, Graph } from "../../src/graph/ir.js";
import { loadModel, saveModel } from "../../src/io/model-dir.js";
import { modelFiles } from "../../src/io/model-files.js";
import { ModelPathError } from "../../src/io/model-path.js";
import { createNet } from "../../src/nets/zoo.js";

let dir: string;
beforeAll(async () => { await tf.setBackend("cpu"); });
beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), "pf-model-checks-")); });
afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

const lenet = (): Graph => createNet("lenet", { inputShape: [16, 16, 1], classes: 4, seed: 1 });
const conv1Kernel = (graph: Graph): Float32Array => (graph.nodes.find((node) => node.id === "conv1") as Conv2DNode).weights.kernel.values;

describe("loadModel: the path must be a model directory", () => {
  it("a missing folder names the path and how to get a model", async () => {
    const missing = join(dir, "nope");
    const error = await loadModel(missing).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelPathError);
    expect((error as Error).message).toBe(`no model directory at '${missing}'; pass the folder that holds model.json (train one with \`pocketflow train\`)`);
  });
  it("the model.json file itself is refused with its folder as the fix", async () => {
    await saveModel(dir, lenet());
    const error = await loadModel(join(dir, "model.json")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelPathError);
    expect((error as Error).message).toBe(`'${join(dir, "model.json")}' is a file, but a model directory (the folder holding model.json) is expected; pass its folder '${dir}'`);
  });
  it("a folder without model.json is not a model directory", async () => {
    await writeFile(join(dir, "notes.txt"), "x");
    await expect(loadModel(dir)).rejects.toThrow(`'${dir}' holds no model.json, so it is not a model directory; pass the folder that holds model.json`);
  });
});

describe("NaN and infinite weights", () => {
  it("checkFiniteWeights names the layer, the weight, the counts and the first index", () => {
    const graph = lenet();
    const kernel = conv1Kernel(graph);
    kernel[17] = NaN;
    kernel[40] = NaN;
    kernel[41] = NaN;
    expect(() => checkFiniteWeights(graph)).toThrow("layer 'conv1' weight 'kernel' holds 3 NaN values (first at index 17); the model is corrupt, retrain or re-export it");
    kernel[5] = -Infinity;
    expect(() => checkFiniteWeights(graph)).toThrow("layer 'conv1' weight 'kernel' holds 3 NaN and 1 infinite values (first at index 5)");
    expect(() => checkFiniteWeights(lenet())).not.toThrow();
  });
  it("loadModel refuses a saved model with a NaN weight, naming model.json", async () => {
    const graph = lenet();
    conv1Kernel(graph)[17] = NaN;
    await saveModel(dir, graph);
    await expect(loadModel(dir)).rejects.toThrow(`${join(dir, "model.json")}: layer 'conv1' weight 'kernel' holds 1 NaN values (first at index 17)`);
  });
});

describe("modelFiles: the files a model directory consists of", () => {
  /** Renames the weight file to tfjs converter's extension-less shard name and points model.json at it. */
  async function renameShard(shard: string): Promise<void> {
    const modelJSON = JSON.parse(await readFile(join(dir, "model.json"), "utf8")) as { weightsManifest: Array<{ paths: string[] }> };
    await rename(join(dir, modelJSON.weightsManifest[0].paths[0]), join(dir, shard));
    modelJSON.weightsManifest[0].paths = [shard];
    await writeFile(join(dir, "model.json"), JSON.stringify(modelJSON));
  }

  it("counts model.json, the sidecar and an extension-less shard, and nothing else in the folder", async () => {
    await saveModel(dir, lenet());
    await renameShard("group1-shard1of1");
    await writeFile(join(dir, "unrelated.json"), "{}");
    await writeFile(join(dir, "old-weights.bin"), new Uint8Array(1000));
    await mkdir(join(dir, "sub"));
    const files = await modelFiles(dir);
    const names = files.map((file) => file.name);
    expect(names[0]).toBe("model.json");
    expect(names[1]).toBe("group1-shard1of1");
    expect(names[2]).toMatch(/^pocketflow-[0-9a-f]{16}\.json$/);
    expect(names).toHaveLength(3);
    const weights = files[1].sizeBytes;
    expect(weights).toBe(4 * lenet().nodes.reduce((total, node) => total + ("weights" in node ? Object.values(node.weights).reduce((n, w) => n + (w?.values.length ?? 0), 0) : 0), 0));
    await loadModel(dir); // the renamed directory is still a loadable model
  });
  it("says which named file is missing", async () => {
    await saveModel(dir, lenet());
    await renameShard("group1-shard1of1");
    await rm(join(dir, "group1-shard1of1"));
    await expect(modelFiles(dir)).rejects.toThrow(`${join(dir, "model.json")} names 'group1-shard1of1', which is missing from ${dir}`);
  });
});
