// Trials apart from the loop: a worker that exits abruptly or runs out of its heap fails its trial
// and the search goes on with a fresh worker; a learner's error in the real worker is the trial's
// error; and `pocketflow compress --optimizer ddpg` killed with SIGKILL mid-search, then run again
// with --resume, writes the same trials.jsonl (timings aside) as a run never interrupted.
// Needs the compiled worker and CLI (`npx tsc -p tsconfig.build.json`).
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uncompressed } from "../../src/graph/compressed-model.js";
import { saveCompressedModel } from "../../src/io/compressed-model-dir.js";
import { learnerByName } from "../../src/learners/registry.js";
import { createNet } from "../../src/nets/zoo.js";
import { runSearch } from "../../src/search/search-loop.js";
import { readTrials, TRIAL_LOG, type TrialRecord } from "../../src/search/trial-log.js";
import { WorkerTrialRunner } from "../../src/search/trial-runner.js";

const cli = "dist/src/cli/main.js";
const graph = createNet("resnet20", { inputShape: [16, 16, 1], classes: 4, seed: 1 });
const model = uncompressed(graph, [{ step: "train", at: "2026-01-01T00:00:00Z", net: "resnet20" }]);
const chain = [{ learner: "channel", options: { preserveRatio: 0.5 } }];

/** Answers trials with made-up metrics, except trial 1 (exits) and trial 2 (fills its heap). */
const FLAKY_WORKER = `
import { parentPort } from "node:worker_threads";
parentPort.on("message", (request) => {
  if (request.index === 1) process.exit(7);
  if (request.index === 2) { const hoard = []; for (;;) hoard.push(new Array(1e5).fill(request.index)); }
  parentPort.postMessage({ metrics: { validationAccuracy: 0.5 + request.index / 100, macs: 1, params: 1, unprunedParams: 1, weightBytes: 4, sparseBytes: 4, packedBytes: 4 }, seconds: 0 });
});
`;

let root: string;
let modelDir: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "pocketflow-trial-worker-"));
  modelDir = join(root, "resnet20");
  await saveCompressedModel(modelDir, model, { preprocessing: { dataset: "synthetic" } });
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const workerData = () => ({ modelDir, dataset: "synthetic", validationCount: 128, splitSeed: 0 });

describe("trial workers", () => {
  it("a worker that exits abruptly or runs out of memory fails its trial; the next trial gets a fresh worker", async () => {
    const script = join(root, "flaky-worker.mjs");
    await writeFile(script, FLAKY_WORKER);
    const runner = new WorkerTrialRunner(workerData(), { script, memoryMb: 64 });
    const result = await runSearch({ model, learners: chain, learnerByName, optimizer: "random", trials: 5, dir: join(root, "flaky"), runner });
    await runner.close();
    const [exited, hoarded] = [result.trials[1], result.trials[2]];
    expect(exited.error).toMatch(/trial worker exited with code 7 before reporting/);
    expect(hoarded.error).toMatch(/trial worker failed: .*(memory|heap)/i);
    expect([0, 3, 4].map((i) => result.trials[i].score)).toEqual([0.5, 0.53, 0.54]);
    expect(result.best.index).toBe(4);
    expect((await readTrials(join(root, "flaky", TRIAL_LOG))).map((t) => t.error === undefined)).toEqual([true, false, false, true, true]);
  }, 60_000);

  it("a learner option that makes the real worker's trial throw is that trial's logged error", async () => {
    const runner = new WorkerTrialRunner(workerData());
    const learners = [{ learner: "channel", options: { selection: "sum-abs", samples: 16 } }, { learner: "weight-sparse", options: { layerSparsity: { nowhere: 0.5 }, epochs: 1, batchSize: 64 } }];
    const search = runSearch({ model, learners, learnerByName, optimizer: "random", trials: 2, dir: join(root, "bogus"), runner });
    await expect(search).rejects.toThrow(/all 2 trials failed/);
    await runner.close();
    const logged = await readTrials(join(root, "bogus", TRIAL_LOG));
    expect(logged).toHaveLength(2);
    for (const trial of logged) expect(trial.error).toMatch(/learner 'weight-sparse': option layerSparsity must be a map over .*'nowhere' is not one/);
  }, 60_000);
});

describe("pocketflow compress --optimizer ddpg --resume", () => {
  const args = (out: string) => ["compress", "--model", modelDir, "--learner", "channel", "--preserve-ratio", "0.5", "--selection", "sum-abs", "--samples", "16", "--validation", "128",
    "--optimizer", "ddpg", "--trials", "5", "--warmup", "2", "--epochs", "1", "--batch-size", "128", "--no-latency", "--out", out, "--json"];
  const withoutTimes = (trials: readonly TrialRecord[]) => trials.map(({ seconds: _seconds, ...rest }) => rest);

  it("killed with SIGKILL mid-search and resumed, it logs the same trials as an uninterrupted run", async () => {
    const whole = spawnSync("node", [cli, ...args(join(root, "whole"))], { encoding: "utf8" });
    expect(whole.status, whole.stderr).toBe(0);
    const summary = JSON.parse(whole.stdout.trim().split("\n").at(-1) as string);
    expect(summary.search).toMatchObject({ optimizer: "ddpg", trials: 5, replayed: 0, failed: 0 });
    expect(existsSync(join(root, "whole", "report.html"))).toBe(true);

    const out = join(root, "killed");
    const child = spawn("node", [cli, ...args(out)], { stdio: "ignore" });
    const log = join(out, TRIAL_LOG);
    const lines = () => (existsSync(log) ? readFileSync(log, "utf8").split("\n").length - 1 : 0);
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        if (lines() >= 2) { clearInterval(timer); child.kill("SIGKILL"); resolve(); }
      }, 50);
      child.on("exit", () => { clearInterval(timer); reject(new Error("the search ended before it was killed")); });
    });
    await new Promise((resolve) => child.on("exit", resolve));
    expect(lines()).toBeLessThan(5);
    expect(existsSync(join(out, "model.json"))).toBe(false);

    const resumed = spawnSync("node", [cli, ...args(out), "--resume"], { encoding: "utf8" });
    expect(resumed.status, resumed.stderr).toBe(0);
    const again = JSON.parse(resumed.stdout.trim().split("\n").at(-1) as string);
    expect(again.search.replayed).toBeGreaterThanOrEqual(2);
    expect(withoutTimes(await readTrials(log))).toEqual(withoutTimes(await readTrials(join(root, "whole", TRIAL_LOG))));
    expect(again.search.best).toEqual(summary.search.best);
  }, 240_000);
});
