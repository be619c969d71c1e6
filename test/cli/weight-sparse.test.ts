// `pocketflow compress --learner weight-sparse`: the learner's options as flags, the summary's
// sparse-bytes row, and a written model whose sidecar masks hold the asked sparsity.
import { spawnSync } from "node:child_process";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadCompressedModel } from "../../src/io/compressed-model-dir.js";
import { syntheticLenetDirectory } from "./synthetic-model.js";

const cli = "dist/src/cli/main.js";
const run = (args: string[]) => spawnSync("node", [cli, "compress", ...args], { encoding: "utf8" });
const number = (text: string) => Number(text.replace(/,/g, ""));

let root: string;
let model: string;
beforeAll(async () => {
  ({ root, model } = await syntheticLenetDirectory("pocketflow-weight-sparse-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("pocketflow compress --learner weight-sparse", () => {
  it("prints the sparse stored bytes row and writes masks at exactly 75% over conv2, fc1 and fc2", async () => {
    const out = join(root, "sparse");
    const result = run(["--model", model, "--learner", "weight-sparse", "--sparsity", "0.75", "--mode", "fast", "--fast-steps", "20", "--lr", "0.05", "--out", out, "--no-latency"]);
    expect(result.status, result.stderr).toBe(0);
    const row = result.stdout.match(/sparse stored bytes\s+([\d,]+)\s+([\d,]+)\s+([\d.]+)x/);
    const weightRow = result.stdout.match(/weight bytes\s+([\d,]+)\s+([\d,]+)/);
    expect(row, result.stdout).not.toBeNull();
    const [before, after] = [number(row?.[1] as string), number(row?.[2] as string)];
    expect(before).toBe(number(weightRow?.[1] as string)); // nothing masked before: dense
    const { model: written } = await loadCompressedModel(out);
    const masks = ["conv2", "fc1", "fc2"].map((id) => written.masks[id].kernel.kept);
    expect(Object.keys(written.masks).sort()).toEqual(["conv2", "fc1", "fc2"]);
    const total = masks.reduce((sum, kept) => sum + kept.length, 0);
    const pruned = masks.reduce((sum, kept) => sum + kept.reduce((zeros, bit) => zeros + 1 - bit, 0), 0);
    expect(pruned).toBe(Math.round(0.75 * total));
    const saved = masks.reduce((sum, kept) => sum + 4 * kept.length - Math.ceil(kept.length / 8) - 4 * (kept.length - kept.reduce((zeros, bit) => zeros + 1 - bit, 0)), 0);
    expect(after).toBe(before - saved);
    expect(written.history.at(-1)).toMatchObject({ step: "prune", learner: "weight-sparse", mode: "fast", steps: 20 });
  });

  it("option errors name the flag: --allocation, --sparsity out of [0, 1]", () => {
    const out = join(root, "bad");
    const allocation = run(["--model", model, "--learner", "weight-sparse", "--allocation", "optimal", "--out", out]);
    expect(allocation.status).toBe(2);
    expect(allocation.stderr).toMatch(/--allocation must be one of uniform, heuristic/);
    const sparsity = run(["--model", model, "--learner", "weight-sparse", "--sparsity", "1.5", "--out", out]);
    expect(sparsity.status).toBe(2);
    expect(sparsity.stderr).toContain("--sparsity must be a number >= 0 <= 1 for learner 'weight-sparse', but got 1.5");
  });
});
