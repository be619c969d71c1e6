// What a resumed run reports (the step it picked up at, the training seconds of every process),
// and which temp files a run start removes as stale: only the checkpoint's own.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registerPocketflowBackend } from "../../src/backend/register.js";
import { syntheticDataset } from "../../src/data/synthetic.js";
import { readCheckpoint, removeStaleCheckpointTemps, writeCheckpoint } from "../../src/train/checkpoint.js";
import { train, type ResumePoint, type TrainOptions } from "../../src/train/trainer.js";

const data = syntheticDataset({ imageShape: [8, 8, 1], numClasses: 3, trainCount: 64, testCount: 16, seed: 1 });
let directory: string;

beforeAll(async () => {
  await tf.setBackend(registerPocketflowBackend());
  directory = mkdtempSync(join(tmpdir(), "pocketflow-resume-report-"));
});
afterAll(() => rmSync(directory, { recursive: true, force: true }));

function tinyCnn(): tfl.LayersModel {
  return tfl.sequential({
    layers: [
      tfl.layers.conv2d({ inputShape: [8, 8, 1], filters: 4, kernelSize: 3, name: "conv", kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }) }),
      tfl.layers.flatten({ name: "flatten" }),
      tfl.layers.dense({ units: 3, name: "dense", kernelInitializer: tfl.initializers.glorotUniform({ seed: 3 }) }),
    ],
  });
}

describe("a resumed run", () => {
  it("tells onResume and its result the step it picked up at, and sums the training seconds of both processes", async () => {
    const file = join(directory, "run.ckpt");
    const options: TrainOptions = { epochs: 2, batchSize: 8, seed: 4 };
    const first = await train(tinyCnn(), data.train, { ...options, checkpoint: { file }, hooks: { onStep: (p) => (p.globalStep === 3 ? "stop" : undefined) } });
    expect(first).toMatchObject({ globalStep: 3, resumed: false, resumedFromStep: undefined });
    const saved = (await readCheckpoint(file)).trainingSeconds as number;
    expect(saved).toBeGreaterThan(0);
    expect(saved).toBeLessThanOrEqual(first.trainingSeconds);

    // as if the first process had trained for 1000 s: the second adds its own time to that
    await writeCheckpoint(file, { ...(await readCheckpoint(file)), trainingSeconds: 1000 });
    const resumes: ResumePoint[] = [];
    const started = performance.now();
    const second = await train(tinyCnn(), data.train, { ...options, checkpoint: { file, resume: true }, hooks: { onResume: (point) => void resumes.push(point) } });
    const wallSeconds = (performance.now() - started) / 1000;
    expect(resumes).toEqual([{ globalStep: 3, totalSteps: 16, trainingSeconds: 1000 }]);
    expect(second).toMatchObject({ globalStep: 16, resumed: true, resumedFromStep: 3 });
    expect(second.trainingSeconds).toBeGreaterThan(1000);
    expect(second.trainingSeconds).toBeLessThanOrEqual(1000 + wallSeconds);
    const final = (await readCheckpoint(file)).trainingSeconds as number;
    expect(final).toBeGreaterThan(1000);
    expect(final).toBeLessThanOrEqual(second.trainingSeconds);
  });
});

describe("removeStaleCheckpointTemps", () => {
  it("removes the checkpoint's temp files (.name.<12 hex>.tmp) and nothing else", async () => {
    const folder = mkdtempSync(join(directory, "temps-"));
    const file = join(folder, "run.ckpt");
    const names = [".run.ckpt.0123456789ab.tmp", ".run.ckpt.ba9876543210.tmp", ".model.json.0123456789ab.tmp", ".run.ckpt.notahexvalue.tmp", "run.ckpt", ".other.ckpt.0123456789ab.tmp"];
    for (const name of names) writeFileSync(join(folder, name), "x");
    expect((await removeStaleCheckpointTemps(file)).sort()).toEqual([".run.ckpt.0123456789ab.tmp", ".run.ckpt.ba9876543210.tmp"]);
    expect(names.filter((name) => existsSync(join(folder, name)))).toEqual([".model.json.0123456789ab.tmp", ".run.ckpt.notahexvalue.tmp", "run.ckpt", ".other.ckpt.0123456789ab.tmp"]);
    expect(await removeStaleCheckpointTemps(join(folder, "missing", "run.ckpt"))).toEqual([]);
  });
});
