import { mkdtemp, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { FileDirectoryHandler, readSidecar, writeSidecar } from "../../src/io/file-handler.js";
import { filePathOf, registerFileIO } from "../../src/io/register-file-io.js";

/** conv2d 3x3x1x2 -> flatten -> dense 32->3, weights from a fixed formula. */
function smallModel(): tf.LayersModel {
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [6, 6, 1], filters: 2, kernelSize: 3, activation: "relu", name: "conv" }),
      tf.layers.flatten({ name: "flat" }),
      tf.layers.dense({ units: 3, name: "fc" }),
    ],
  });
  model.setWeights(model.getWeights().map((w, k) =>
    tf.tensor(Array.from({ length: w.size }, (_, i) => Math.sin(1 + i * 0.7 + k)), w.shape)));
  model.compile({ optimizer: "sgd", loss: "meanSquaredError" });
  model.setUserDefinedMetadata({ note: "test" });
  return model;
}

const input = () => tf.tensor4d(Array.from({ length: 2 * 36 }, (_, i) => Math.cos(i * 0.3)), [2, 6, 6, 1]);

async function predict(model: tf.LayersModel): Promise<Float32Array> {
  return (model.predict(input()) as tf.Tensor).data() as Promise<Float32Array>;
}

let dir: string;
beforeAll(() => registerFileIO());
beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), "pf-io-")); });
afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

async function saveSmall(target = join(dir, "m")): Promise<{ target: string; expected: Float32Array; weightsFile: string }> {
  const model = smallModel();
  await model.save(`file://${target}`);
  return { target, expected: await predict(model), weightsFile: join(target, await weightsFileIn(target)) };
}

/** The one weight file model.json references (each save names its own, weights-<id>.bin). */
async function weightsFileIn(target: string): Promise<string> {
  const json = JSON.parse(await readFile(join(target, "model.json"), "utf8"));
  expect(json.weightsManifest).toHaveLength(1);
  expect(json.weightsManifest[0].paths).toHaveLength(1);
  return json.weightsManifest[0].paths[0];
}

const WEIGHTS_NAME = /^weights-[0-9a-f]{16}\.bin$/;

describe("file:// save and load with plain tfjs", () => {
  it("conv+dense model round-trips and predicts identically", async () => {
    const { target, expected } = await saveSmall();
    const loaded = await tf.loadLayersModel(`file://${target}/model.json`);
    expect(await predict(loaded)).toEqual(expected);
  });

  it("loads from the directory path too", async () => {
    const { target, expected } = await saveSmall();
    expect(await predict(await tf.loadLayersModel(`file://${target}`))).toEqual(expected);
  });

  it("writes the files plain tfjs expects, and no temp files", async () => {
    const { target, weightsFile } = await saveSmall();
    const weightsName = await weightsFileIn(target);
    expect(weightsName).toMatch(WEIGHTS_NAME);
    expect((await readdir(target)).sort()).toEqual(["model.json", weightsName]);
    const json = JSON.parse(await readFile(join(target, "model.json"), "utf8"));
    expect(json.format).toBe("layers-model");
    expect(json.generatedBy).toMatch(/TensorFlow\.js/);
    expect(json.convertedBy).toBeNull();
    expect(json.modelTopology.class_name).toBe("Sequential");
    expect(json.trainingConfig).toBeUndefined(); // tfjs adds it only with includeOptimizer
    expect(json.userDefinedMetadata).toEqual({ note: "test" });
    expect(json.weightsManifest).toHaveLength(1);
    expect(json.weightsManifest[0].weights.map((w: { name: string; shape: number[] }) => [w.name, w.shape])).toEqual([
      ["conv/kernel", [3, 3, 1, 2]], ["conv/bias", [2]], ["fc/kernel", [32, 3]], ["fc/bias", [3]],
    ]);
    const bytes = (await readFile(weightsFile)).byteLength;
    expect(bytes).toBe(4 * (18 + 2 + 96 + 3));
  });

  it("includeOptimizer: trainingConfig and optimizer weights round-trip", async () => {
    const model = smallModel();
    model.compile({ optimizer: tf.train.adam(0.01), loss: "meanSquaredError" });
    await model.fit(input(), tf.zeros([2, 3]), { epochs: 1, verbose: 0 });
    const target = join(dir, "m");
    await model.save(`file://${target}`, { includeOptimizer: true });
    const json = JSON.parse(await readFile(join(target, "model.json"), "utf8"));
    expect(json.trainingConfig.loss).toBe("mean_squared_error");
    expect(json.weightsManifest[0].weights.length).toBeGreaterThan(4);
    const loaded = await tf.loadLayersModel(`file://${target}/model.json`);
    expect(loaded.optimizer).toBeDefined();
    expect(await predict(loaded)).toEqual(await predict(model));
  });

  it("loads weights split into several shards and groups", async () => {
    const { target, expected, weightsFile } = await saveSmall();
    const bin = await readFile(weightsFile);
    const json = JSON.parse(await readFile(join(target, "model.json"), "utf8"));
    const [convKernel, convBias, fcKernel, fcBias] = json.weightsManifest[0].weights;
    const split = 4 * (18 + 2); // group 1: the conv weights, in two shards; group 2: dense
    await writeFile(join(target, "group1-shard1of2.bin"), bin.subarray(0, 40));
    await writeFile(join(target, "group1-shard2of2.bin"), bin.subarray(40, split));
    await writeFile(join(target, "group2-shard1of1.bin"), bin.subarray(split));
    await rm(weightsFile);
    json.weightsManifest = [
      { paths: ["group1-shard1of2.bin", "group1-shard2of2.bin"], weights: [convKernel, convBias] },
      { paths: ["group2-shard1of1.bin"], weights: [fcKernel, fcBias] },
    ];
    await writeFile(join(target, "model.json"), JSON.stringify(json));
    expect(await predict(await tf.loadLayersModel(`file://${target}/model.json`))).toEqual(expected);
  });

  it("registerFileIO is idempotent and only answers file:// URLs", () => {
    registerFileIO();
    expect(tf.io.getLoadHandlers("file:///x/model.json")).toHaveLength(1);
    expect(tf.io.getSaveHandlers("file:///x")).toHaveLength(1);
    expect(tf.io.getLoadHandlers("localstorage://x")).toHaveLength(0);
    expect(filePathOf("file:///abs/dir")).toBe("/abs/dir");
    expect(filePathOf("http://x")).toBeNull();
  });
});

describe("corrupt or mismatched files give errors that name the file", () => {
  it("model.json with invalid JSON", async () => {
    const { target } = await saveSmall();
    await writeFile(join(target, "model.json"), "{ not json");
    await expect(tf.loadLayersModel(`file://${target}/model.json`))
      .rejects.toThrow(`${join(target, "model.json")}: invalid JSON`);
  });

  it("model.json without modelTopology", async () => {
    const { target } = await saveSmall();
    await writeFile(join(target, "model.json"), JSON.stringify({ weightsManifest: [] }));
    await expect(new FileDirectoryHandler(target).load()).rejects.toThrow(`${join(target, "model.json")}: missing modelTopology`);
  });

  it("missing model.json", async () => {
    await expect(tf.loadLayersModel(`file://${dir}/nothing/model.json`))
      .rejects.toThrow(`${join(dir, "nothing", "model.json")}: file not found`);
  });

  it("truncated weight file", async () => {
    const { target, weightsFile } = await saveSmall();
    const bin = await readFile(weightsFile);
    await writeFile(weightsFile, bin.subarray(0, bin.byteLength - 5));
    await expect(tf.loadLayersModel(`file://${target}/model.json`))
      .rejects.toThrow(new RegExp(`${weightsFile}: weight data is 471 bytes, but the manifest .* describes 476 bytes`));
  });

  it("missing weight shard", async () => {
    const { target, weightsFile } = await saveSmall();
    const json = JSON.parse(await readFile(join(target, "model.json"), "utf8"));
    json.weightsManifest[0].paths = [basename(weightsFile), "shard2.bin"];
    await writeFile(join(target, "model.json"), JSON.stringify(json));
    await expect(tf.loadLayersModel(`file://${target}/model.json`))
      .rejects.toThrow(`${join(target, "shard2.bin")}: weight file listed in ${join(target, "model.json")} not found`);
  });
});

describe("failed saves leave nothing half-written", () => {
  it("a path below a regular file fails without creating model.json", async () => {
    await writeFile(join(dir, "afile"), "x");
    await expect(smallModel().save(`file://${dir}/afile/sub`)).rejects.toThrow();
    expect(await readdir(dir)).toEqual(["afile"]);
  });

  it("a rename that fails midway leaves no temp files and no model.json", async () => {
    const target = join(dir, "m");
    await mkdir(join(target, "model.json"), { recursive: true }); // rename onto a directory fails
    await expect(smallModel().save(`file://${target}`)).rejects.toThrow();
    expect(await readdir(target)).toEqual(["model.json"]); // no temp files, no weight file of the failed save
    expect(await readdir(join(target, "model.json"))).toEqual([]);
  });

  it("overwriting a saved model replaces it whole: new weight file, the old one removed", async () => {
    const { target, weightsFile } = await saveSmall();
    const other = smallModel();
    other.setWeights(other.getWeights().map((w) => tf.onesLike(w)));
    await other.save(`file://${target}`);
    const newWeights = await weightsFileIn(target);
    expect(newWeights).not.toBe(basename(weightsFile));
    expect((await readdir(target)).sort()).toEqual(["model.json", newWeights]);
    expect(await predict(await tf.loadLayersModel(`file://${target}`))).toEqual(await predict(other));
  });

  it("a directory written by others (weights.bin) loads, and saving over it removes its weights.bin but not other files", async () => {
    const { target, expected, weightsFile } = await saveSmall();
    const json = JSON.parse(await readFile(join(target, "model.json"), "utf8"));
    json.weightsManifest[0].paths = ["weights.bin"];
    await writeFile(join(target, "weights.bin"), await readFile(weightsFile));
    await rm(weightsFile);
    await writeFile(join(target, "model.json"), JSON.stringify(json));
    await writeFile(join(target, "notes.txt"), "mine");
    const loaded = await tf.loadLayersModel(`file://${target}`);
    expect(await predict(loaded)).toEqual(expected);
    await loaded.save(`file://${target}`);
    expect((await readdir(target)).sort()).toEqual(["model.json", "notes.txt", await weightsFileIn(target)]);
    expect(await predict(await tf.loadLayersModel(`file://${target}`))).toEqual(expected);
  });

  it("leftovers of a save that died (unreferenced weights-<id>.bin, temp files) go at the next save; referenced files outside the directory stay", async () => {
    const { target } = await saveSmall();
    const leftovers = ["weights-0123456789abcdef.bin", "pocketflow-0123456789abcdef.json", ".weights-0123456789abcdef.bin.0123456789ab.tmp", ".model.json.0123456789ab.tmp"];
    for (const name of leftovers) await writeFile(join(target, name), "x");
    await writeFile(join(dir, "outside.bin"), "x");
    const json = JSON.parse(await readFile(join(target, "model.json"), "utf8"));
    json.weightsManifest[0].paths.push("../outside.bin"); // a reference the next save must not follow
    await writeFile(join(target, "model.json"), JSON.stringify(json));
    const { expected } = await saveSmall(target);
    expect((await readdir(target)).sort()).toEqual(["model.json", await weightsFileIn(target)]);
    expect(await readdir(dir)).toContain("outside.bin");
    expect(await predict(await tf.loadLayersModel(`file://${target}`))).toEqual(expected);
  });
});

describe("pocketflow.json sidecar", () => {
  it("round-trips, is undefined when absent, and names the file when corrupt", async () => {
    expect(await readSidecar(dir)).toBeUndefined();
    const value = { masks: { conv: [1, 0] }, quantization: { bits: 8 }, history: ["prune"] };
    await writeSidecar(dir, value);
    expect(await readSidecar(dir)).toEqual(value);
    expect(await readdir(dir)).toEqual(["pocketflow.json"]);
    await writeFile(join(dir, "pocketflow.json"), "{ broken");
    await expect(readSidecar(dir)).rejects.toThrow(`${join(dir, "pocketflow.json")}: invalid JSON`);
  });
});
