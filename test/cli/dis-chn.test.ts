// `pocketflow compress --learner dis-chn`: the learner's declared options are flags, they reach
// the learner, and the written model is thinned for real with no auxiliary head in it.
import { spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registerPocketflowBackend } from "../../src/backend/register.js";
import { uncompressed } from "../../src/graph/compressed-model.js";
import { loadCompressedModel, saveCompressedModel } from "../../src/io/compressed-model-dir.js";
import { createNet } from "../../src/nets/zoo.js";

const cli = "dist/src/cli/main.js";
const run = (args: string[]) => spawnSync("node", [cli, "compress", ...args], { encoding: "utf8" });
const lastJson = (stdout: string) => JSON.parse(stdout.trim().split("\n").at(-1) as string) as Record<string, any>;

let root: string;
let model: string;
const graph = createNet("resnet20", { inputShape: [16, 16, 1], classes: 4, seed: 3 });
beforeAll(async () => {
  await tf.setBackend(registerPocketflowBackend());
  root = await mkdtemp(join(tmpdir(), "pocketflow-dis-chn-cli-"));
  model = join(root, "resnet20");
  await saveCompressedModel(model, uncompressed(graph), { preprocessing: { dataset: "synthetic" } });
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("pocketflow compress --learner dis-chn (ResNet-20 16x16x1, synthetic)", () => {
  it("thins the model for real; --stages, --stage-steps, --selection-rounds and --no-distill reach the learner", async () => {
    const out = join(root, "pruned");
    const result = run(["--model", model, "--learner", "dis-chn", "--preserve-ratio", "0.5", "--stages", "2", "--stage-steps", "2", "--layer-steps", "1",
      "--selection-rounds", "2", "--finetune", "none", "--no-distill", "--batch-size", "32", "--no-latency", "--out", out, "--json"]);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/dis-chn: stage 2\/2, stage3_block3_2_conv: kept \d+ of 64 input channels/);
    const summary = lastJson(result.stdout);
    expect(summary.after.macs / summary.before.macs).toBeLessThanOrEqual(0.5);
    expect(summary.after.storedBytes).toBeLessThan(summary.before.storedBytes);
    const written = (await loadCompressedModel(out)).model;
    expect(written.graph.nodes.map((node) => node.id)).toEqual(graph.nodes.map((node) => node.id));
    const entry = written.history.at(-1) as Record<string, any>;
    expect(entry).toMatchObject({ step: "prune", learner: "dis-chn", options: { stages: 2, stageSteps: 2, selectionRounds: 2, distill: false, finetune: "none" } });
    expect(entry.stages).toHaveLength(2);
  });

  it("a bad option exits 2 naming the flag", () => {
    const result = run(["--model", model, "--learner", "dis-chn", "--stages", "0", "--out", join(root, "never")]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("--stages must be an integer >= 1, but got '0'");
  });
});
