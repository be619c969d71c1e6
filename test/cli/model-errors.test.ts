// What a first user trips on, through the real CLI: a --model that is the model.json file or a
// folder that is not there, a model with NaN weights, a dataset that does not fit the model, and
// info's size on disk for a directory whose weight shard has no .bin extension.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Conv2DNode } from "../../src/graph/ir.js";
import { saveModel } from "../../src/io/model-dir.js";
import { createNet } from "../../src/nets/zoo.js";

const cli = "dist/src/cli/main.js";
const run = (args: string[]) => spawnSync("node", [cli, ...args], { encoding: "utf8" });
const lastJson = (stdout: string): Record<string, unknown> => JSON.parse(stdout.trim().split("\n").at(-1) as string) as Record<string, unknown>;

let root: string;
const path = (name: string): string => join(root, name);
beforeAll(async () => {
  await tf.setBackend("cpu");
  root = mkdtempSync(join(tmpdir(), "pocketflow-cli-models-"));
  // lenet for the synthetic set's 16x16x1 images and 4 classes
  await saveModel(path("healthy"), createNet("lenet", { inputShape: [16, 16, 1], classes: 4, seed: 1 }));
  await saveModel(path("sharded"), createNet("lenet", { inputShape: [16, 16, 1], classes: 4, seed: 2 }));
  await saveModel(path("ten-classes"), createNet("lenet", { inputShape: [16, 16, 1], classes: 10, seed: 1 }));
  const corrupt = createNet("lenet", { inputShape: [16, 16, 1], classes: 4, seed: 1 });
  const kernel = (corrupt.nodes.find((node) => node.id === "conv1") as Conv2DNode).weights.kernel.values;
  for (const i of [17, 30, 99]) kernel[i] = NaN;
  await saveModel(path("corrupt"), corrupt);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("a model with NaN weights is refused by every command", () => {
  const message = "model.json: layer 'conv1' weight 'kernel' holds 3 NaN values (first at index 17); the model is corrupt, retrain or re-export it";
  it.each([
    ["eval", ["eval", "--model", "corrupt", "--dataset", "synthetic"]],
    ["info", ["info", "--model", "corrupt"]],
    ["train --init", ["train", "--init", "corrupt", "--dataset", "synthetic", "--out", "tuned", "--max-steps", "1"]],
  ])("%s", (_, args) => {
    const result = run(args.map((arg) => (arg === "corrupt" || arg === "tuned" ? path(arg) : arg)));
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(message);
  });
});

describe("--model must be a model directory", () => {
  it("the model.json file: exit 2, pass its folder", () => {
    const file = join(path("healthy"), "model.json");
    const result = run(["eval", "--model", file, "--dataset", "synthetic"]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(`pocketflow eval: '${file}' is a file, but a model directory (the folder holding model.json) is expected; pass its folder '${path("healthy")}'`);
    expect(result.stderr).not.toMatch(/ENOTDIR/);
  });
  it.each([["info", "--model"], ["train", "--init"]])("a missing folder (%s %s): exit 2, says how to get one", (command, option) => {
    const missing = path("no-such-model");
    const result = run(command === "info" ? ["info", option, missing] : ["train", option, missing, "--dataset", "synthetic", "--out", path("out")]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(`pocketflow ${command}: no model directory at '${missing}'; pass the folder that holds model.json (train one with \`pocketflow train\`)`);
  });
});

describe("eval checks that the dataset fits the model", () => {
  it("other image shape: exit 2, names both shapes", () => {
    const result = run(["eval", "--model", path("healthy"), "--dataset", "mnist"]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(`model ${path("healthy")} takes [16,16,1] images, dataset 'mnist' has [28,28,1]`);
  });
  it("other class count: exit 2, names both counts", () => {
    const result = run(["eval", "--model", path("ten-classes"), "--dataset", "synthetic"]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(`model ${path("ten-classes")} outputs 10 classes, dataset 'synthetic' has 4`);
  });
  it("a model that fits still evaluates", () => {
    const result = run(["eval", "--model", path("healthy"), "--dataset", "synthetic", "--json"]);
    expect(result.status, result.stderr).toBe(0);
    expect(lastJson(result.stdout)).toMatchObject({ command: "eval", count: 512 });
  });
});

describe("info's size on disk", () => {
  it("counts a weight shard named without .bin (tfjs converter's group1-shard1of1) and no unrelated files", () => {
    const dir = path("sharded");
    const modelFile = join(dir, "model.json");
    const modelJSON = JSON.parse(readFileSync(modelFile, "utf8")) as { weightsManifest: Array<{ paths: string[] }>; userDefinedMetadata: { pocketflow: { sidecar: string } } };
    renameSync(join(dir, modelJSON.weightsManifest[0].paths[0]), join(dir, "group1-shard1of1"));
    modelJSON.weightsManifest[0].paths = ["group1-shard1of1"];
    writeFileSync(modelFile, JSON.stringify(modelJSON));
    writeFileSync(join(dir, "notes.json"), JSON.stringify({ unrelated: "x".repeat(5000) }));
    const expected = ["model.json", "group1-shard1of1", modelJSON.userDefinedMetadata.pocketflow.sidecar].reduce((total, name) => total + statSync(join(dir, name)).size, 0);
    const result = run(["info", "--model", dir, "--json"]);
    expect(result.status, result.stderr).toBe(0);
    expect(lastJson(result.stdout).sizeBytes).toBe(expected);
  });
});
