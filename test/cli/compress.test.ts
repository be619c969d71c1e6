// `pocketflow compress`: a chain of learners over a model directory, a before/after summary,
// and an --out that is never half-written nor silently replaced.
import { spawnSync } from "node:child_process";
import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadCompressedModel } from "../../src/io/compressed-model-dir.js";
import { syntheticLenetDirectory } from "./synthetic-model.js";

const cli = "dist/src/cli/main.js";
const run = (args: string[]) => spawnSync("node", [cli, "compress", ...args], { encoding: "utf8" });
const lastJson = (stdout: string) => JSON.parse(stdout.trim().split("\n").at(-1) as string) as Record<string, any>;

let root: string;
let model: string;
beforeAll(async () => {
  ({ root, model } = await syntheticLenetDirectory("pocketflow-compress-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("pocketflow compress", () => {
  it("runs full-prec, prints the before/after summary, writes a model whose history continues the input's", async () => {
    const out = join(root, "out");
    const result = run(["--model", model, "--learner", "full-prec", "--mode", "fast", "--fast-steps", "20", "--lr", "0.05", "--out", out, "--latency-batch", "2", "--json"]);
    expect(result.status, result.stderr).toBe(0);
    const summary = lastJson(result.stdout);
    expect(summary).toMatchObject({ command: "compress", dataset: "synthetic", learners: ["full-prec"], latencyBatch: 2, steps: [{ learner: "full-prec", steps: 20 }] });
    for (const side of ["before", "after"]) {
      expect(summary[side]).toMatchObject({ macs: summary.before.macs, params: summary.before.params, unprunedParams: summary.before.params, weightBytes: 4 * summary.before.params });
      expect(summary[side].latencyMs).toBeGreaterThan(0);
      expect(summary[side].engineLatencyMs).toBeGreaterThan(0);
      expect(summary[side].testAccuracy).toBeGreaterThanOrEqual(0);
      expect(summary[side].storedBytes).toBeGreaterThan(summary[side].weightBytes); // weights + model.json + sidecar
    }
    expect(summary.enginePrecisions).toEqual(["fp32", "fp32"]);
    expect(summary.after.testAccuracy).toBeGreaterThan(summary.before.testAccuracy + 0.2); // 20 steps learn the synthetic task
    expect(result.stderr).toMatch(/full-prec \(1\/1\): done/);
    const written = await loadCompressedModel(out);
    expect(written.model.history.map((entry) => entry.step)).toEqual(["train", "train"]);
    expect(written.model.history[1]).toMatchObject({ learner: "full-prec", mode: "fast", steps: 20 });
    expect(written.extras.preprocessing).toMatchObject({ dataset: "synthetic" });
    expect(await readdir(root)).toEqual(expect.arrayContaining(["lenet", "out"]));
    expect((await readdir(root)).some((name) => name.includes("partial"))).toBe(false);
  });

  it("prints a table without --json; refuses to replace a finished --out without --force", async () => {
    const out = join(root, "table");
    const first = run(["--model", model, "--learner", "full-prec", "--mode", "fast", "--fast-steps", "2", "--out", out, "--no-latency"]);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/test accuracy\s+[\d.]+%\s+[\d.]+%/);
    expect(first.stdout).toMatch(/MACs\s+[\d,]+\s+[\d,]+\s+1\.00x/);
    expect(first.stdout).toMatch(/stored bytes \(directory\)\s+[\d,]+\s+[\d,]+\s+1\.\d\dx/);
    const again = run(["--model", model, "--learner", "full-prec", "--mode", "fast", "--fast-steps", "2", "--out", out, "--no-latency"]);
    expect(again.status).toBe(2);
    expect(again.stderr).toContain(`${out} already holds a model; pass --force to replace it`);
    const forced = run(["--model", model, "--learner", "full-prec", "--mode", "fast", "--fast-steps", "3", "--out", out, "--no-latency", "--force", "--json"]);
    expect(forced.status, forced.stderr).toBe(0);
    expect((await loadCompressedModel(out)).model.history.at(-1)).toMatchObject({ steps: 3 });
  });

  it("channel pruning through the CLI: fewer MACs for real, learner flags (--preserve-ratio, --no-reconstruct) reach the learner", async () => {
    const out = join(root, "channel");
    const result = run(["--model", model, "--learner", "channel", "--preserve-ratio", "0.7", "--finetune", "none", "--samples", "32", "--no-reconstruct", "--no-latency", "--out", out, "--json"]);
    expect(result.status, result.stderr).toBe(0);
    const summary = lastJson(result.stdout);
    expect(summary.after.macs / summary.before.macs).toBeLessThanOrEqual(0.7);
    expect(summary.after.storedBytes).toBeLessThan(summary.before.storedBytes);
    const written = await loadCompressedModel(out);
    const conv2 = written.model.graph.nodes.find((node) => node.id === "conv2") as { weights: { kernel: { shape: number[] } } };
    expect(conv2.weights.kernel.shape[2]).toBeLessThan(6);
    expect(written.model.history.at(-1)).toMatchObject({ step: "prune", learner: "channel", options: { preserveRatio: 0.7, reconstruct: false, finetune: "none" } });
  });

  it("an integer model (uniform-tf, post-training) is timed in the int8 engine, the input in the fp32 one", async () => {
    const out = join(root, "int8");
    const result = run(["--model", model, "--learner", "uniform-tf", "--post-training", "--calibration-batches", "2", "--out", out]);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/engine ms \(batch, fp32 -> int8\)\s+\d+\.\d+\s+\d+\.\d+/);
    expect(result.stdout).toMatch(/packed stored bytes/);
  });

  it("a run that fails leaves nothing in --out; bad learners and options exit 2 naming the flag", async () => {
    const out = join(root, "failed");
    const failed = run(["--model", model, "--learner", "full-prec", "--batch-size", "100000", "--out", out, "--no-latency"]);
    expect(failed.status).toBe(1);
    expect(failed.stderr).toMatch(/fewer than one batch of 100000/);
    expect((await readdir(root)).filter((name) => name.includes("failed"))).toEqual([]);
    const unknown = run(["--model", model, "--learner", "full-prec,nope", "--out", out]);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/--learner must be a comma-separated list of full-prec.*but got 'full-prec,nope'/);
    const range = run(["--model", model, "--learner", "full-prec", "--batch-norm-momentum", "1", "--out", out]);
    expect(range.status).toBe(2);
    expect(range.stderr).toContain("--batch-norm-momentum must be a number >= 0 <= 0.999 for learner 'full-prec', but got 1");
    const sameDir = run(["--model", model, "--learner", "full-prec", "--out", model]);
    expect(sameDir.status).toBe(2);
  });
});
