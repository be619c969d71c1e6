// The search loop on a tiny model, in-process: trials repaired to the budget, logged one JSON
// line each, the best chosen by reward; a learner that throws fails its trial and the search goes
// on; a resumed search replays the log (a torn last line ignored) and ends with the same trials as
// an uninterrupted one, and says so when its settings changed; report.html is well-formed and
// escapes what it shows.
import { appendFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registerPocketflowBackend } from "../../src/backend/register.js";
import { computeNormalization } from "../../src/data/batches.js";
import { syntheticDataset } from "../../src/data/synthetic.js";
import { uncompressed, type CompressedModel } from "../../src/graph/compressed-model.js";
import { keptChannelsOf, prunableLayers, thinnedMacs } from "../../src/learners/channel-budget.js";
import { ChannelPrunedLearner, type ChannelPrunedOptions } from "../../src/learners/channel-pruned.js";
import type { LearnerData, LearnerOptionSpec } from "../../src/learners/learner.js";
import { graphCost } from "../../src/graph/cost.js";
import { createNet } from "../../src/nets/zoo.js";
import { escapeHtml, searchReport } from "../../src/search/report.js";
import { layerValues, runSearch, type SearchOptions } from "../../src/search/search-loop.js";
import { readTrials, TRIAL_LOG, type TrialRecord } from "../../src/search/trial-log.js";
import { InlineTrialRunner } from "../../src/search/trial-runner.js";

/** Channel pruning that throws when the first layer is asked to keep less than `failBelow`: a trial that fails. */
class FlakyChannelLearner extends ChannelPrunedLearner {
  override readonly options: readonly LearnerOptionSpec[] = [...new ChannelPrunedLearner().options, { name: "failBelow", kind: "number", help: "throw below this ratio" }];
  override async compress(model: CompressedModel, data: LearnerData, options: ChannelPrunedOptions & { failBelow?: number }): Promise<CompressedModel> {
    const low = Object.values(options.ratios ?? {})[0] ?? 1;
    if (options.failBelow !== undefined && low < options.failBelow) throw new Error(`flaky: a ratio of ${low} is below ${options.failBelow}`);
    return super.compress(model, data, options);
  }
}

const data = syntheticDataset({ imageShape: [8, 8, 1], numClasses: 4, trainCount: 96, testCount: 48, seed: 2 });
const learnerData = { train: data.train, validation: data.test, normalization: computeNormalization(data.train) };
const graph = createNet("resnet20", { inputShape: [8, 8, 1], classes: 4, seed: 3 });
const model = uncompressed(graph);
const lookup = (name: string) => (name === "flaky" ? new FlakyChannelLearner() : new ChannelPrunedLearner());
const chain = (extra: Record<string, unknown> = {}) => [{ learner: "flaky", options: { preserveRatio: 0.6, channelMultiple: 4, samples: 24, positionsPerImage: 4, ...extra } }];

let root: string;
beforeAll(async () => {
  await tf.setBackend(registerPocketflowBackend());
  root = await mkdtemp(join(tmpdir(), "pocketflow-search-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const search = (dir: string, overrides: Partial<SearchOptions> = {}) =>
  runSearch({ model, learners: chain(), learnerByName: lookup, optimizer: "random", trials: 6, seed: 4, dir: join(root, dir), runner: new InlineTrialRunner(model, learnerData, lookup), ...overrides });
const withoutTimes = (trials: readonly TrialRecord[]) => trials.map(({ seconds: _seconds, ...rest }) => rest);

describe("search loop", () => {
  it("runs the trials on budget, logs one JSON line each and picks the best reward (resnet20 8×8, the uniform baseline then 5 random trials)", async () => {
    const progress: number[] = [];
    const result = await search("plain", { onTrial: (p) => progress.push(p.done) });
    expect(progress).toEqual([1, 2, 3, 4, 5, 6]);
    const lines = (await readFile(join(root, "plain", TRIAL_LOG), "utf8")).trimEnd().split("\n");
    expect(lines).toHaveLength(6);
    const layers = prunableLayers(graph);
    for (const [i, line] of lines.entries()) {
      const record = JSON.parse(line) as TrialRecord;
      expect(Object.keys(record)).toEqual(["index", "point", "repaired", "score", "metrics", "seconds", ...(i === 0 ? ["baseline"] : [])]);
      expect(record.index).toBe(i);
      expect(record.score).toBe(record.metrics?.validationAccuracy);
      const ratios = Object.fromEntries(Object.entries(record.repaired).map(([name, value]) => [name.split("/")[1], value as number]));
      const macs = thinnedMacs(graph, layers, keptChannelsOf("channel", graph, layers, 0.6, ratios, 4));
      expect(record.metrics?.macs).toBe(macs);
      expect(macs).toBeLessThanOrEqual(0.6 * graphCost(graph).macs);
      if (i === 0) {
        // the baseline: what preserveRatio alone prunes, repaired as any point (the walk may give later layers the MACs it leaves)
        expect(record.baseline).toBe("uniform");
        const uniform = keptChannelsOf("channel", graph, layers, 0.6, undefined, 4);
        expect(record.point).toEqual(Object.fromEntries(layers.map((layer) => [`ratios/${layer.id}`, (uniform.get(layer.id) as number) / layer.channels])));
        expect(macs).toBeGreaterThanOrEqual(thinnedMacs(graph, layers, uniform));
      } else {
        expect(new Set(Object.values(record.repaired)).size).toBeGreaterThan(1); // per-layer, not uniform
      }
    }
    expect(result.best.score).toBe(Math.max(...result.trials.map((t) => t.score as number)));
  }, 60_000);

  it("skips the baselines when asked: every trial an asked point", async () => {
    const result = await search("no-baselines", { baselines: false, trials: 2 });
    expect(result.trials.map((trial) => trial.baseline)).toEqual([undefined, undefined]);
    const withBaselines = await search("baselines", { trials: 2 });
    expect(withBaselines.trials.map((trial) => trial.baseline)).toEqual(["uniform", undefined]);
    // the optimizer's first point comes second, unchanged by the baseline told before it
    expect(withBaselines.trials[1].point).toEqual(result.trials[0].point);
  }, 60_000);

  it("records a trial whose learner throws as failed, with its error, and goes on", async () => {
    const result = await search("flaky", { learners: chain({ failBelow: 0.6 }), trials: 8 });
    const failed = result.trials.filter((t) => t.error !== undefined);
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.length).toBeLessThan(8);
    for (const trial of failed) {
      expect(trial.error).toMatch(/flaky: a ratio of .* is below 0.6/);
      expect(trial.score).toBeUndefined();
    }
    expect(await readTrials(join(root, "flaky", TRIAL_LOG))).toHaveLength(8);
  }, 60_000);

  it("resumes from the log: a torn last line ignored, no trial run twice, the same trials as an uninterrupted run", async () => {
    const uninterrupted = await search("whole");
    await search("parts", { trials: 3 });
    await appendFile(join(root, "parts", TRIAL_LOG), '{"index":3,"point":{"rat'); // killed mid-write
    let ran = 0;
    const runner = new InlineTrialRunner(model, learnerData, lookup);
    const counting = { run: (request: Parameters<typeof runner.run>[0]) => { ran++; return runner.run(request); }, close: () => runner.close() };
    const resumed = await search("parts", { resume: true, runner: counting });
    expect(ran).toBe(3);
    expect(resumed.replayed).toBe(3);
    expect(withoutTimes(await readTrials(join(root, "parts", TRIAL_LOG)))).toEqual(withoutTimes(uninterrupted.trials));
    expect(resumed.best.index).toBe(uninterrupted.best.index);
  }, 60_000);

  for (const optimizer of ["random", "tpe", "gp", "ddpg"]) {
    it(`drives ${optimizer} through the loop, every evaluated point on budget (a runner scoring the ratios, 12 trials)`, async () => {
      const layers = prunableLayers(graph);
      const budget = 0.6 * graphCost(graph).macs;
      const runner = {
        run: async (request: { learners: ReadonlyArray<{ options: Record<string, unknown> }> }) => {
          const ratios = request.learners[0].options.ratios as Record<string, number>;
          const macs = thinnedMacs(graph, layers, keptChannelsOf("channel", graph, layers, 0.6, ratios, 4));
          const validationAccuracy = 1 - Object.values(ratios).reduce((sum, r, i) => sum + (r - (i % 2 === 0 ? 1 : 0.25)) ** 2, 0) / 9;
          return { metrics: { validationAccuracy, macs, params: 1, unprunedParams: 1, weightBytes: 4, sparseBytes: 4, packedBytes: 4 }, seconds: 0 };
        },
        close: async () => {},
      };
      const result = await search(`optimizer-${optimizer}`, { optimizer, trials: 12, runner, ddpg: { warmupEpisodes: 4, batchSize: 16 } });
      expect(result.trials).toHaveLength(12);
      for (const trial of result.trials) expect(trial.metrics?.macs).toBeLessThanOrEqual(budget);
    }, 60_000);
  }

  it("refuses to run over a log without --resume, and names what changed when resuming", async () => {
    await expect(search("whole")).rejects.toThrow(/already holds 6 trials; pass --resume/);
    await expect(search("whole", { resume: true, seed: 5 })).rejects.toThrow(/seed was 4, now 5/);
  });

  it("names the trial whose re-asked point is not the logged one", async () => {
    const dir = join(root, "edited");
    await search("edited", { trials: 1, runner: { run: async () => ({ error: "skipped", seconds: 0 }), close: async () => {} } }).catch(() => undefined);
    const [record] = await readTrials(join(dir, TRIAL_LOG));
    const name = Object.keys(record.point)[0];
    await writeFile(join(dir, TRIAL_LOG), `${JSON.stringify({ ...record, point: { ...record.point, [name]: 0.123 } })}\n`);
    await expect(search("edited", { resume: true })).rejects.toThrow(/trial 0 of the log was asked at .*0\.123.* but the optimizer now asks .*: the seed, optimizer, learner options or model differ/);
  });
});

describe("report.html", () => {
  it("is one well-formed page with no script, and escapes every string it shows", () => {
    const evil = `<script>alert("x")</script>&'`;
    const trials: TrialRecord[] = [0, 1, 2].map((index) => ({
      index, point: {}, repaired: {}, seconds: 1,
      ...(index === 1 ? { error: evil } : { score: 0.5 + index / 10, metrics: { validationAccuracy: 0.5 + index / 10, macs: 1000 - index, params: 10, unprunedParams: 10, weightBytes: 40, sparseBytes: 40, packedBytes: 40 - index } }),
    }));
    const html = searchReport({ title: evil, settings: { learners: evil }, trials, best: trials[2], layers: [{ layer: evil, option: "ratios", value: 0.5 }], final: { testAccuracy: 0.9 } });
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/https?:\/\/(?!www\.w3\.org\/2000\/svg)/); // nothing fetched: the svg namespace is the only URL
    expect(html).toContain(escapeHtml(evil));
    expect(html.match(/<svg/g)?.length).toBe(html.match(/<\/svg>/g)?.length);
    expect(html.match(/<svg/g)?.length).toBe(4);
    for (const tag of ["html", "head", "body", "table", "ul", "title"]) expect(html.split(`<${tag}`).length).toBe(html.split(`</${tag}>`).length);
    expect(html.startsWith("<!DOCTYPE html>")).toBe(true);
  });

  it("shows the winner's per-layer values", () => {
    const record: TrialRecord = { index: 0, point: { "ratios/conv_1": 0.5 }, repaired: { "ratios/conv_1": 0.5 }, score: 1, seconds: 1 };
    const plan = { space: { dimensions: [{ name: "ratios/conv_1", option: "ratios", layer: "conv_1", kind: "continuous" as const, low: 0.1, high: 1 }] }, learnerIndex: 0, features: [[0]], baselines: [] };
    expect(layerValues(plan, record.repaired)).toEqual([{ layer: "conv_1", option: "ratios", value: 0.5 }]);
  });
});
