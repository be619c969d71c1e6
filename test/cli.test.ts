import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const cli = "dist/src/cli/main.js";

describe("pocketflow CLI", () => {
  it("--version prints the package version", () => {
    const { version } = JSON.parse(readFileSync("package.json", "utf8")) as { version: string };
    expect(execFileSync("node", [cli, "--version"], { encoding: "utf8" }).trim()).toBe(version);
  });
  it("--help lists the commands", () => {
    expect(execFileSync("node", [cli, "--help"], { encoding: "utf8" })).toMatch(/Usage:[\s\S]*--version/);
  });
  it("an unknown command fails with a hint", () => {
    const result = spawnSync("node", [cli, "frobnicate"], { encoding: "utf8" });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/unknown command "frobnicate".*--help/);
  });
});

describe("pocketflow train / eval / info", () => {
  const run = (args: string[]) => spawnSync("node", [cli, ...args], { encoding: "utf8" });
  const lastJson = (stdout: string): Record<string, unknown> => JSON.parse(stdout.trim().split("\n").at(-1) as string) as Record<string, unknown>;

  it("trains lenet on the synthetic set, writes a model directory that eval and info read, and resumes a finished run", () => {
    const out = mkdtempSync(join(tmpdir(), "pocketflow-cli-"));
    try {
      const trained = run(["train", "--net", "lenet", "--dataset", "synthetic", "--out", out, "--epochs", "2", "--json"]);
      expect(trained.status, trained.stderr).toBe(0);
      const summary = lastJson(trained.stdout);
      expect(summary).toMatchObject({ command: "train", net: "lenet", dataset: "synthetic", epochs: 2, steps: 2 * 28 });
      expect(summary.testAccuracy).toBeGreaterThan(0.9);
      expect(trained.stderr).toMatch(/epoch 2\/2 loss [\d.]+ acc [\d.]+% val_loss/);

      const evaluated = lastJson(run(["eval", "--model", out, "--json"]).stdout);
      expect(evaluated).toMatchObject({ command: "eval", dataset: "synthetic", split: "test", count: 512 });
      expect(evaluated.accuracy).toBeCloseTo(summary.testAccuracy as number, 10);

      const info = lastJson(run(["info", "--model", out, "--json"]).stdout);
      expect(info).toMatchObject({ command: "info", macs: summary.macs, params: summary.params });
      expect((info.history as Array<Record<string, unknown>>)[0]).toMatchObject({ step: "train", net: "lenet", complete: true });
      expect(run(["info", "--model", out]).stdout).toMatch(/conv1\s+conv2d\s+\[16,16,6\]\s+38400\s+156/);

      const resumed = run(["train", "--net", "lenet", "--dataset", "synthetic", "--out", out, "--epochs", "2", "--resume", "--json"]);
      expect(lastJson(resumed.stdout).testAccuracy).toBe(summary.testAccuracy);
      const other = run(["train", "--net", "lenet", "--dataset", "synthetic", "--out", out, "--epochs", "3", "--resume"]);
      expect(other.status).toBe(1);
      expect(other.stderr).toMatch(/different epochs; resume with the same options, or delete the checkpoint/);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it("--init fine-tunes a saved model: starts from its weights, keeps its normalization, continues its history", () => {
    const root = mkdtempSync(join(tmpdir(), "pocketflow-cli-init-"));
    try {
      const base = join(root, "base");
      const tuned = join(root, "tuned");
      expect(run(["train", "--net", "lenet", "--dataset", "synthetic", "--out", base, "--epochs", "1"]).status).toBe(0);
      // a vanishing learning rate leaves the weights as they were loaded: the same test loss
      const fineTuned = run(["train", "--init", base, "--dataset", "synthetic", "--out", tuned, "--lr", "1e-9", "--weight-decay", "0", "--json"]);
      expect(fineTuned.status, fineTuned.stderr).toBe(0);
      expect(fineTuned.stderr).toMatch(/fine-tune of .*base.* 1 epochs/);
      const before = lastJson(run(["eval", "--model", base, "--json"]).stdout);
      const after = lastJson(run(["eval", "--model", tuned, "--json"]).stdout);
      expect(before.loss).toBeLessThan(0.05); // a fresh net's loss is ~ln 4 = 1.39
      expect(after.loss).toBeCloseTo(before.loss as number, 5);
      const baseInfo = lastJson(run(["info", "--model", base, "--json"]).stdout);
      const info = lastJson(run(["info", "--model", tuned, "--json"]).stdout);
      const history = info.history as Array<Record<string, unknown>>;
      expect(history).toHaveLength(2);
      expect(history[0]).toEqual((baseInfo.history as unknown[])[0]);
      expect(history[1]).toMatchObject({ step: "train", net: "lenet", init: base, complete: true });
      // the fine-tune defaults: a tenth of lenet's rate (0.05) and epochs (10)
      const defaults = lastJson(run(["train", "--init", base, "--dataset", "synthetic", "--out", join(root, "d"), "--max-steps", "1", "--json"]).stdout);
      expect(defaults.epochs).toBe(1);
      const defaultsEntry = (lastJson(run(["info", "--model", join(root, "d"), "--json"]).stdout).history as Array<Record<string, unknown>>)[1];
      expect(defaultsEntry.options).toMatchObject({ epochs: 1, batchSize: 64, schedule: { schedule: { kind: "cosine", learningRate: 0.005 }, warmupEpochs: 0 } });

      expect(run(["train", "--init", base, "--net", "lenet", "--dataset", "synthetic", "--out", tuned]).stderr).toMatch(/either --net .* or --init/);
      expect(run(["train", "--init", base, "--dataset", "synthetic", "--out", base]).stderr).toMatch(/--out must differ from --init/);
      const wrongShape = run(["train", "--init", base, "--dataset", "mnist", "--out", join(root, "x")]);
      expect(wrongShape.status).toBe(2);
      expect(wrongShape.stderr).toMatch(/takes inputs of shape \[16,16,1\], the dataset's images are \[28,28,1\]/);
      expect(run(["train", "--dataset", "synthetic", "--out", tuned]).stderr).toMatch(/missing --net .* or --init/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("usage errors exit 2 and name the option; --help lists a command's options", () => {
    const bad = run(["train", "--net", "vgg16", "--dataset", "mnist", "--out", "x"]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--net must be one of lenet, convnet, resnet20.*but got 'vgg16'[\s\S]*pocketflow train --help/);
    expect(run(["train", "--help"]).stdout).toMatch(/--lr N\s+peak learning rate/);
    const missing = run(["eval", "--model", join(tmpdir(), "no-such-model-dir")]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/no model directory at '.*no-such-model-dir'; pass the folder that holds model.json/);
  });
});
