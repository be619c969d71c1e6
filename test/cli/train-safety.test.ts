// `pocketflow train` for a first user: it never overwrites a model without --force, never starts
// over when told to --resume, says where it resumed, leaves no empty --out behind, cleans stale
// checkpoint temp files, records --max-steps runs as incomplete, counts the seconds of every
// process of a run, refuses the wasm backend and bad options with the flag's name, and a run
// killed with SIGKILL resumes to the very weights of an uninterrupted run.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHECKPOINT_FILE, withOutDir } from "../../src/cli/train-out-dir.js";
import { readCheckpoint, writeCheckpoint } from "../../src/train/checkpoint.js";

const cli = "dist/src/cli/main.js";
const run = (args: string[]) => spawnSync("node", [cli, ...args], { encoding: "utf8" });
const lastJson = (stdout: string): Record<string, unknown> => JSON.parse(stdout.trim().split("\n").at(-1) as string) as Record<string, unknown>;
const lenet = (out: string, ...more: string[]) => ["train", "--net", "lenet", "--dataset", "synthetic", "--out", out, ...more];

/** The bytes of the weights file a model directory's model.json references. */
function weightBytes(directory: string): Buffer {
  const model = JSON.parse(readFileSync(join(directory, "model.json"), "utf8")) as { weightsManifest: Array<{ paths: string[] }> };
  return readFileSync(join(directory, model.weightsManifest[0].paths[0]));
}

function historyOf(directory: string): Array<Record<string, unknown>> {
  const info = run(["info", "--model", directory, "--json"]);
  expect(info.status, info.stderr).toBe(0);
  return lastJson(info.stdout).history as Array<Record<string, unknown>>;
}

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "pocketflow-train-safety-"));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("pocketflow train: --out with a model in it", () => {
  it("refuses to overwrite a finished model without --force; --resume reports it, cleaning stale temp files; --force starts over", async () => {
    const out = join(root, "finished");
    const first = run(lenet(out, "--epochs", "2", "--json"));
    expect(first.status, first.stderr).toBe(0);
    const summary = lastJson(first.stdout);
    const modelJson = readFileSync(join(out, "model.json"));

    const again = run(lenet(out, "--epochs", "2"));
    expect(again.status).toBe(2);
    expect(again.stderr).toContain(`${out} already holds a model (model.json); pass --force to overwrite it, or --resume to continue its run`);
    expect(readFileSync(join(out, "model.json")).equals(modelJson)).toBe(true);

    // a process killed between writing the checkpoint's temp file and renaming it leaves this
    const staleTemp = join(out, `.${CHECKPOINT_FILE}.0123456789ab.tmp`);
    writeFileSync(staleTemp, "half a checkpoint");
    const checkpointSeconds = (await readCheckpoint(join(out, CHECKPOINT_FILE))).trainingSeconds as number;
    expect(checkpointSeconds).toBeGreaterThan(0);
    const resumed = run(lenet(out, "--epochs", "2", "--resume", "--json"));
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain("pocketflow train: resumed from step 56 of 56");
    expect(existsSync(staleTemp)).toBe(false);
    const resumedSummary = lastJson(resumed.stdout);
    expect(resumedSummary).toMatchObject({ steps: 56, complete: true, testAccuracy: summary.testAccuracy });
    // the seconds of the whole run, not only of the process that found it finished
    expect(resumedSummary.seconds).toBeGreaterThan(checkpointSeconds);

    // a checkpoint written before trainingSeconds existed still resumes
    const checkpoint = await readCheckpoint(join(out, CHECKPOINT_FILE));
    delete checkpoint.trainingSeconds;
    await writeCheckpoint(join(out, CHECKPOINT_FILE), checkpoint);
    const older = run(lenet(out, "--epochs", "2", "--resume", "--json"));
    expect(older.status, older.stderr).toBe(0);
    expect(Number.isFinite(lastJson(older.stdout).seconds)).toBe(true);

    const forced = run(lenet(out, "--epochs", "1", "--force", "--json"));
    expect(forced.status, forced.stderr).toBe(0);
    expect(lastJson(forced.stdout)).toMatchObject({ epochs: 1, steps: 28, complete: true });
    expect(run(lenet(out, "--epochs", "1", "--resume", "--force")).stderr).toMatch(/give --resume .* or --force .*, not both/);
  });

  it("--resume with nothing to resume says so and exits 2, instead of starting over", () => {
    const empty = join(root, "empty");
    mkdirSync(empty);
    const nothing = run(lenet(empty, "--resume"));
    expect(nothing.status).toBe(2);
    expect(nothing.stderr).toContain(`nothing to resume in ${empty}; drop --resume to start`);
    expect(existsSync(join(empty, "model.json"))).toBe(false);
    expect(run(lenet(join(root, "never-made"), "--resume")).status).toBe(2);
    expect(existsSync(join(root, "never-made"))).toBe(false);

    const modelOnly = join(root, "model-only");
    expect(run(lenet(modelOnly, "--max-steps", "2")).status).toBe(0);
    rmSync(join(modelOnly, CHECKPOINT_FILE));
    const noCheckpoint = run(lenet(modelOnly, "--max-steps", "2", "--resume"));
    expect(noCheckpoint.status).toBe(2);
    expect(noCheckpoint.stderr).toContain(`nothing to resume in ${modelOnly}: it holds a model but no training checkpoint`);
  });
});

describe("pocketflow train: what a run records", () => {
  it("a --max-steps run is recorded as incomplete, with the step it stopped at, and its summary says so", () => {
    const out = join(root, "max-steps");
    const stopped = run(lenet(out, "--epochs", "2", "--max-steps", "5", "--json"));
    expect(stopped.status, stopped.stderr).toBe(0);
    expect(lastJson(stopped.stdout)).toMatchObject({ steps: 5, complete: false, stoppedAtStep: 5 });
    expect(historyOf(out).at(-1)).toMatchObject({ step: "train", steps: 5, complete: false, stoppedAtStep: 5 });
    const text = run(lenet(join(root, "max-steps-text"), "--epochs", "2", "--max-steps", "3"));
    expect(text.stdout).toMatch(/3 steps in \d+ s \(stopped at step 3 by --max-steps: not fully trained\)/);
  });
});

/** Like `run`, but in the background, so that the cases of a table run side by side. */
function runAsync(args: string[]): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn("node", [cli, ...args], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("close", (status) => resolve({ status, stderr }));
  });
}

describe.concurrent("pocketflow train: option errors exit 2, name the flag, and create no --out", () => {
  const cases: Array<{ name: string; args: string[]; message: RegExp }> = [
    { name: "--validation of the whole training set", args: ["--validation", "2048"], message: /--validation must be smaller than the 2048 training samples, but got 2048/ },
    { name: "--batch-size larger than the training split", args: ["--batch-size", "5000"], message: /--batch-size 5000 is larger than the 1844 training samples left/ },
    { name: "--validation leaving less than a batch", args: ["--validation", "2000"], message: /the default batch size 64 is larger than the 48 training samples left .* or a smaller --validation/ },
    { name: "--lr-boundaries with a non-number", args: ["--schedule", "piecewise", "--lr-boundaries", "1,x"], message: /--lr-boundaries must be comma-separated epochs .* \('x' is not a number\)/ },
    { name: "--lr-boundaries past the last epoch", args: ["--schedule", "piecewise", "--lr-boundaries", "1,5"], message: /--lr-boundaries must be increasing epochs between 0 and 2 .* but got '1,5'/ },
    { name: "--lr-boundaries not increasing", args: ["--schedule", "piecewise", "--lr-boundaries", "1,1"], message: /--lr-boundaries must be increasing epochs/ },
    { name: "--lr-boundaries without a piecewise schedule", args: ["--lr-boundaries", "1"], message: /--lr-boundaries apply to --schedule piecewise only, but the schedule is cosine/ },
    { name: "--lr-decay 0", args: ["--schedule", "piecewise", "--lr-decay", "0"], message: /--lr-decay must be > 0, but got 0/ },
    { name: "--lr 0", args: ["--lr", "0"], message: /--lr must be > 0, but got 0/ },
    { name: "--momentum 1", args: ["--momentum", "1"], message: /--momentum must be in \[0, 1\), but got 1/ },
    { name: "--momentum with adam", args: ["--optimizer", "adam", "--momentum", "0.5"], message: /--momentum applies to --optimizer sgd only/ },
    { name: "--width for lenet", args: ["--width", "0.5"], message: /--width applies to --net mobilenet-v1 or mobilenet-v2 only, but got --net lenet/ },
    { name: "--width 0 for mobilenet-v2", args: ["--net", "mobilenet-v2", "--width", "0"], message: /--width must be > 0 .* but got 0/ },
    { name: "--width below mobilenet-v1's bound", args: ["--net", "mobilenet-v1", "--width", "0.01"], message: /--width 0.01 is too small for mobilenet-v1 .*; pass a larger --width/ },
    { name: "--backend wasm", args: ["--backend", "wasm"], message: /--backend wasm cannot train: tfjs-backend-wasm has no gradient kernels for convolutions; use --backend pocketflow/ },
  ];
  cases.forEach(({ name, args, message }, i) => {
    it(name, async ({ expect }) => {
      const parent = join(root, `bad-options-${i}`);
      const net = args.includes("--net") ? [] : ["--net", "lenet"];
      const result = await runAsync(["train", ...net, "--dataset", "synthetic", "--epochs", "2", "--max-steps", "1", "--out", join(parent, "out"), ...args]);
      expect(result.status, result.stderr).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(result.stderr.split("\n")[0]).not.toMatch(/batchSize|validationCount|learningRate|boundaryEpochs|^[^(]*widthMultiplier/);
      expect(existsSync(parent)).toBe(false);
    });
  });
});

describe("withOutDir", () => {
  const failing = async (): Promise<never> => {
    throw new Error("the run failed");
  };
  const nothing = { exists: false, hasModel: false, hasCheckpoint: false };

  it("removes the directories it created when the run fails before writing anything resumable", async () => {
    const top = join(root, "made-by-run");
    await expect(withOutDir(join(top, "nested", "out"), nothing, false, failing)).rejects.toThrow("the run failed");
    expect(existsSync(top)).toBe(false);
  });

  it("keeps a directory that was there before, and one the run left a checkpoint in", async () => {
    const before = join(root, "users-own");
    mkdirSync(before);
    await expect(withOutDir(before, { exists: true, hasModel: false, hasCheckpoint: false }, false, failing)).rejects.toThrow();
    expect(existsSync(before)).toBe(true);
    const resumable = join(root, "resumable");
    await expect(withOutDir(resumable, nothing, false, async () => {
      writeFileSync(join(resumable, CHECKPOINT_FILE), "checkpoint");
      throw new Error("the run failed");
    })).rejects.toThrow();
    expect(existsSync(join(resumable, CHECKPOINT_FILE))).toBe(true);
  });

  it("--force drops the old run's checkpoint before the new run starts", async () => {
    const old = join(root, "forced");
    mkdirSync(old);
    writeFileSync(join(old, CHECKPOINT_FILE), "old run");
    const seen = await withOutDir(old, { exists: true, hasModel: false, hasCheckpoint: true }, true, async () => existsSync(join(old, CHECKPOINT_FILE)));
    expect(seen).toBe(false);
  });
});

describe("pocketflow train: a run killed with SIGKILL", () => {
  it("resumes from its last checkpoint to the same weights as an uninterrupted run", async () => {
    const options = ["--epochs", "10", "--checkpoint-every", "10", "--json"];
    const reference = join(root, "uninterrupted");
    const uninterrupted = run(lenet(reference, ...options));
    expect(uninterrupted.status, uninterrupted.stderr).toBe(0);

    const out = join(root, "killed");
    const child = spawn("node", [cli, ...lenet(out, ...options)], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<string>((resolve) => child.on("exit", (code, signal) => resolve(signal ?? `exit code ${code}`)));
    while (!existsSync(join(out, CHECKPOINT_FILE)) && child.exitCode === null) await new Promise((resolve) => setTimeout(resolve, 5));
    child.kill("SIGKILL");
    expect(await exited, stderr).toBe("SIGKILL");
    const checkpoint = await readCheckpoint(join(out, CHECKPOINT_FILE));
    expect(checkpoint.globalStep).toBeLessThan(280);

    const resumed = run(lenet(out, ...options, "--resume"));
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain(`pocketflow train: resumed from step ${checkpoint.globalStep} of 280`);
    expect(lastJson(resumed.stdout)).toMatchObject({ steps: 280, complete: true });
    expect(lastJson(resumed.stdout).seconds).toBeGreaterThan(checkpoint.trainingSeconds as number);
    expect(weightBytes(out).equals(weightBytes(reference))).toBe(true);
  });
});
