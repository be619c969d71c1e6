// Model directories: the IR graph and its sidecar round-trip, plain tfjs reads the directory,
// old files are cleaned up, and corrupt or mismatched files give errors naming the file.
import { mkdtemp, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { graphFromTfjs } from "../../src/tfjs/graph-from-tfjs.js";
import { buildTfjsModel } from "../../src/tfjs/tfjs-from-graph.js";
import type { Graph } from "../../src/graph/ir.js";
import { writeSidecar } from "../../src/io/file-handler.js";
import { appendHistory, loadModel, newSidecar, saveModel, type ModelSidecar } from "../../src/io/model-dir.js";
import { registerFileIO } from "../../src/io/register-file-io.js";
import { randomFloats } from "../kernels/random.js";
import { add, conv, everyOpGraph, input, plain } from "../graph/test-graphs.js";

let dir: string;
beforeAll(async () => {
  await tf.setBackend("cpu");
  registerFileIO();
});
beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), "pf-model-dir-")); });
afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

/** A mask of the given shape keeping every third weight (a length that is no multiple of 8 tests the tail). */
const everyThird = (shape: number[]) => ({ shape, kept: Uint8Array.from({ length: shape.reduce((p, d) => p * d, 1) }, (_, i) => (i % 3 === 0 ? 1 : 0)) });

function fullSidecar(): ModelSidecar {
  let sidecar = appendHistory(newSidecar(), "train", { epochs: 3, validationAccuracy: 0.91 });
  sidecar = appendHistory(sidecar, "prune", { learner: "WeightSparseLearner", sparsity: 0.5 });
  return {
    ...sidecar,
    masks: { fc: { kernel: everyThird([48, 5]), bias: everyThird([5]) }, dw: { depthwiseKernel: everyThird([3, 3, 4, 2]) } },
    quantization: {
      conv1: {
        weights: {
          kernel: { scheme: "uniform", bits: 4, symmetric: true, grouping: { inner: 1, groups: 4 }, scales: Float32Array.of(0.1, 0.2, 1e-7, 3), zeroPoints: new Int32Array(4) },
          bias: { scheme: "codebook", bits: 1, grouping: { inner: 1, groups: 1 }, centroids: Float32Array.of(-0.5, Math.PI) },
        },
        activation: { bits: 8, min: -1.5, max: 6, symmetric: false },
      },
    },
    preprocessing: { dataset: "cifar10", normalization: { mean: [0.5], std: [0.25] } }, // a field this version does not know
  };
}

async function jsonOf(file: string): Promise<Record<string, any>> {
  return JSON.parse(await readFile(file, "utf8"));
}

function predict(model: tf.LayersModel, x: tf.Tensor): Float32Array[] {
  const out = model.predict(x);
  return (Array.isArray(out) ? out : [out]).map((tensor) => tensor.dataSync() as Float32Array);
}

/** Shortcut first in the IR; tfjs orders layers by depth, so it lists the long branch first. */
function shortcutFirstGraph(): Graph {
  return {
    name: "shortcut_first",
    nodes: [input("image", [4, 4, 2]), conv("short", "image", 1, 2, 3), conv("long1", "image", 3, 2, 3), plain("relu", "long1/relu", "long1"), conv("long2", "long1/relu", 3, 3, 3), add("sum", "short", "long2")],
    outputs: ["sum"],
  };
}

describe("saveModel / loadModel", () => {
  it("every-op graph with history, masks, quantization and unknown fields round-trips", async () => {
    const graph = everyOpGraph();
    const sidecar = fullSidecar();
    await saveModel(dir, graph, sidecar);
    const loaded = await loadModel(dir);
    expect(loaded.graph).toEqual(graph);
    expect(loaded.sidecar).toEqual(sidecar);
    expect(loaded.sidecar?.masks?.fc.bias.kept).toEqual(Uint8Array.of(1, 0, 0, 1, 0));
  });

  it("the directory: model.json, weights-<id>.bin and pocketflow-<id>.json of one save; masks packed 1 bit per weight", async () => {
    await saveModel(dir, everyOpGraph(), fullSidecar());
    const names = (await readdir(dir)).sort();
    expect(names).toHaveLength(3);
    const [modelJson, sidecarFile, weightsFile] = names;
    expect(modelJson).toBe("model.json");
    const id = /^weights-([0-9a-f]{16})\.bin$/.exec(weightsFile)?.[1];
    expect(sidecarFile).toBe(`pocketflow-${id}.json`);
    const json = await jsonOf(join(dir, "model.json"));
    expect(json.weightsManifest[0].paths).toEqual([weightsFile]);
    expect(json.userDefinedMetadata.pocketflow.sidecar).toBe(sidecarFile);
    const sidecar = await jsonOf(join(dir, sidecarFile));
    expect(sidecar.formatVersion).toBe(1);
    expect(sidecar.producedBy).toBe("pocketflow-js");
    expect(sidecar.history.map((entry: { step: string }) => entry.step)).toEqual(["train", "prune"]);
    // 240 weights → 30 bytes → 40 base64 characters; bits 0, 3, 6 set in the first byte = 0b01001001.
    expect(sidecar.masks.fc.kernel.shape).toEqual([48, 5]);
    expect(Buffer.from(sidecar.masks.fc.kernel.bits, "base64")).toHaveLength(30);
    expect(Buffer.from(sidecar.masks.fc.kernel.bits, "base64")[0]).toBe(0b01001001);
  });

  it("nodes come back in the saved order, not tfjs's depth order", async () => {
    const graph = shortcutFirstGraph();
    expect(graphFromTfjs(buildTfjsModel(graph)).nodes.map((node) => node.id)).not.toEqual(graph.nodes.map((node) => node.id));
    await saveModel(dir, graph);
    const loaded = await loadModel(dir);
    expect(loaded.graph).toEqual(graph);
    expect(loaded.sidecar).toEqual(newSidecar()); // a save without a sidecar writes an empty one
  });

  it("plain tf.loadLayersModel reads the directory and predicts as the graph's model", async () => {
    const graph = everyOpGraph();
    await saveModel(dir, graph, fullSidecar());
    const plainModel = await tf.loadLayersModel(`file://${dir}/model.json`);
    const x = tf.tensor4d(randomFloats(2 * 9 * 9 * 2, 5), [2, 9, 9, 2]);
    const expected = predict(buildTfjsModel(graph), x);
    expect(predict(plainModel, x)).toEqual(expected);
  });

  it("saving again replaces the files of the previous save", async () => {
    await saveModel(dir, everyOpGraph(), fullSidecar());
    const first = await readdir(dir);
    const graph = shortcutFirstGraph();
    const sidecar = appendHistory(newSidecar(), "train");
    await saveModel(dir, graph, sidecar);
    const second = await readdir(dir);
    expect(second).toHaveLength(3);
    expect(second.filter((name) => first.includes(name))).toEqual(["model.json"]);
    expect(await loadModel(dir)).toEqual({ graph, sidecar });
  });

  it("a plain tfjs directory (weights.bin, no sidecar) loads, with sidecar undefined; an old pocketflow.json is read", async () => {
    const graph = everyOpGraph();
    await buildTfjsModel(graph).save(`file://${dir}`);
    const json = await jsonOf(join(dir, "model.json"));
    await rename(join(dir, json.weightsManifest[0].paths[0]), join(dir, "weights.bin"));
    json.weightsManifest[0].paths = ["weights.bin"];
    await writeFile(join(dir, "model.json"), JSON.stringify(json));
    const loaded = await loadModel(dir);
    expect(loaded.graph).toEqual(graph); // the tfjs order equals the IR order for this graph
    expect(loaded.sidecar).toBeUndefined();
    const sidecar = appendHistory(newSidecar(), "train");
    await writeSidecar(dir, sidecar);
    expect((await loadModel(dir)).sidecar).toEqual(sidecar);
  });

  it("a model re-saved by plain tfjs drops the sidecar reference: the old sidecar no longer vouches for the weights", async () => {
    await saveModel(dir, everyOpGraph(), fullSidecar());
    const plainModel = await tf.loadLayersModel(`file://${dir}/model.json`);
    await plainModel.save(`file://${dir}`);
    expect((await readdir(dir)).filter((name) => name.startsWith("pocketflow"))).toEqual([]);
    const loaded = await loadModel(dir);
    expect(loaded.sidecar).toBeUndefined();
    expect(loaded.graph).toEqual(everyOpGraph()); // weights unchanged, node order kept
  });

  it("appendHistory stamps the time and leaves the given sidecar alone", () => {
    const before = newSidecar();
    const after = appendHistory(before, "quantize", { bits: 8 });
    expect(before.history).toEqual([]);
    expect(after.history).toHaveLength(1);
    expect(after.history[0]).toMatchObject({ step: "quantize", bits: 8 });
    expect(Date.now() - Date.parse(after.history[0].at)).toBeLessThan(60_000);
  });
});

describe("errors name the file and the problem", () => {
  async function saved(): Promise<{ sidecarFile: string; weightsFile: string }> {
    await saveModel(dir, everyOpGraph(), fullSidecar());
    const json = await jsonOf(join(dir, "model.json"));
    return { sidecarFile: join(dir, json.userDefinedMetadata.pocketflow.sidecar), weightsFile: join(dir, json.weightsManifest[0].paths[0]) };
  }

  it("corrupt model.json", async () => {
    await saved();
    await writeFile(join(dir, "model.json"), "{ not json");
    await expect(loadModel(dir)).rejects.toThrow(`${join(dir, "model.json")}: invalid JSON`);
  });

  it("model.json whose topology tfjs cannot build", async () => {
    await saved();
    const json = await jsonOf(join(dir, "model.json"));
    json.modelTopology.config.layers[2].class_name = "NoSuchLayer";
    await writeFile(join(dir, "model.json"), JSON.stringify(json));
    await expect(loadModel(dir)).rejects.toThrow(`${join(dir, "model.json")}: not a loadable tfjs LayersModel with these weights:`);
  });

  it("model.json whose weight shapes do not fit its layers, or whose sidecar reference leaves the directory", async () => {
    await saved();
    const json = await jsonOf(join(dir, "model.json"));
    const good = JSON.stringify(json);
    const fcKernel = json.weightsManifest[0].weights.find((w: { name: string }) => w.name === "fc/kernel");
    fcKernel.shape = [5, 48]; // same byte count, so only the layer sees it
    await writeFile(join(dir, "model.json"), JSON.stringify(json));
    await expect(loadModel(dir)).rejects.toThrow(new RegExp(`^${join(dir, "model.json")}: not a loadable tfjs LayersModel with these weights: .*48`));
    const escaping = JSON.parse(good);
    escaping.userDefinedMetadata.pocketflow.sidecar = "../elsewhere.json";
    await writeFile(join(dir, "model.json"), JSON.stringify(escaping));
    await expect(loadModel(dir)).rejects.toThrow(`${join(dir, "model.json")}: userDefinedMetadata.pocketflow.sidecar must be a file name in the directory, but got '../elsewhere.json'`);
  });

  it("truncated weight file", async () => {
    const { weightsFile } = await saved();
    const bytes = await readFile(weightsFile);
    await writeFile(weightsFile, bytes.subarray(0, bytes.byteLength - 4));
    await expect(loadModel(dir)).rejects.toThrow(new RegExp(`^${weightsFile}: weight data is ${bytes.byteLength - 4} bytes, but the manifest`));
  });

  it("missing weight file", async () => {
    const { weightsFile } = await saved();
    await rm(weightsFile);
    await expect(loadModel(dir)).rejects.toThrow(`${weightsFile}: weight file listed in ${join(dir, "model.json")} not found`);
  });

  it("corrupt, missing, newer or mismatched sidecar", async () => {
    const { sidecarFile } = await saved();
    const good = await readFile(sidecarFile, "utf8");
    await writeFile(sidecarFile, "{ broken");
    await expect(loadModel(dir)).rejects.toThrow(`${sidecarFile}: invalid JSON`);
    const json = JSON.parse(good);
    await writeFile(sidecarFile, JSON.stringify({ ...json, formatVersion: 2 }));
    await expect(loadModel(dir)).rejects.toThrow(`${sidecarFile}: formatVersion 2 was written by a newer pocketflow-js; this version reads up to 1, upgrade it`);
    await writeFile(sidecarFile, JSON.stringify({ ...json, history: [{ step: "train" }] }));
    await expect(loadModel(dir)).rejects.toThrow(`${sidecarFile}: history[0].at must be an ISO time string, but got undefined`);
    await writeFile(sidecarFile, JSON.stringify({ ...json, masks: { fc: { kernel: { ...json.masks.fc.kernel, shape: [5, 48] } } } }));
    await expect(loadModel(dir)).rejects.toThrow(`${sidecarFile}: masks['fc']['kernel'] has shape [5,48], but the weight has [48,5]`);
    await writeFile(sidecarFile, JSON.stringify({ ...json, masks: { fc: { kernel: { ...json.masks.fc.kernel, bits: "AAAA" } } } }));
    await expect(loadModel(dir)).rejects.toThrow(`${sidecarFile}: masks['fc']['kernel'].bits holds 3 bytes, but shape [48,5] needs 30`);
    await writeFile(sidecarFile, JSON.stringify({ ...json, quantization: { nowhere: { weightBits: 8 } } }));
    await expect(loadModel(dir)).rejects.toThrow(`${sidecarFile}: quantization['nowhere'] names no node of graph 'every_op'`);
    await rm(sidecarFile);
    await expect(loadModel(dir)).rejects.toThrow(`${sidecarFile}: file not found`);
  });

  it("saveModel checks the sidecar against the graph before writing anything", async () => {
    const graph = everyOpGraph();
    const badMask = { ...newSidecar(), masks: { conv1: { kernel: everyThird([3, 3, 2, 5]) } } };
    await expect(saveModel(dir, graph, badMask)).rejects.toThrow(`saveModel '${dir}': sidecar: masks['conv1']['kernel'] has shape [3,3,2,5], but the weight has [3,3,2,4]`);
    const noWeight = { ...newSidecar(), masks: { relu6: { kernel: everyThird([1]) } } };
    await expect(saveModel(dir, graph, noWeight)).rejects.toThrow("masks['relu6']['kernel']: relu6 'relu6' has no 'kernel' weight (it has: none)");
    const uniform = { scheme: "uniform" as const, bits: 0.5, symmetric: true, grouping: { inner: 1, groups: 1 }, scales: Float32Array.of(1), zeroPoints: new Int32Array(1) };
    const badBits = { ...newSidecar(), quantization: { conv1: { weights: { kernel: uniform } } } };
    await expect(saveModel(dir, graph, badBits)).rejects.toThrow("quantization['conv1'].weights['kernel'].bits must be an integer in 2..8, but got 0.5");
    const badGroups = { ...newSidecar(), quantization: { conv1: { weights: { kernel: { ...uniform, bits: 4, grouping: { inner: 1, groups: 3 } } } } } };
    await expect(saveModel(dir, graph, badGroups)).rejects.toThrow("quantization['conv1'].weights['kernel']");
    await expect(saveModel(dir, graph, { ...newSidecar(), producedBy: "other" } as unknown as ModelSidecar)).rejects.toThrow("producedBy must be 'pocketflow-js', but got 'other'");
    expect(await readdir(dir)).toEqual([]);
  });
});
