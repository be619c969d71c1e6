// ChannelPrunedLearner: a model of the same family with fewer channels for real, each thinned
// conv reconstructed to reproduce the original's outputs; LASSO's choice reconstructs better
// than the sum |W| and random baselines before any fine-tuning.
import { beforeAll, describe, expect, it } from "vitest";
import { graphCost } from "../../src/graph/cost.js";
import { weightOf, withQuantization, type CompressedModel } from "../../src/graph/compressed-model.js";
import { ChannelPrunedLearner } from "../../src/learners/channel-pruned.js";
import { LearnerRefusedError } from "../../src/learners/learner.js";
import { evaluateGraph } from "../../src/train/evaluate-graph.js";
import { data, learnerData, normalization, trainedResNet } from "./trained-resnet.js";

let trained: CompressedModel;

beforeAll(async () => {
  trained = await trainedResNet();
}, 120_000);

const prune = (options: Record<string, unknown>) => new ChannelPrunedLearner().compress(trained, learnerData, { epochs: 1, batchSize: 32, finetune: "none", samples: 64, positionsPerImage: 10, ...options });

describe("ChannelPrunedLearner on ResNet-20 16x16x1 (trained 2 epochs on the synthetic set)", () => {
  it("keeps about half the MACs with smaller arrays, and the pruned model still predicts (before any fine-tune)", async () => {
    const pruned = await prune({ preserveRatio: 0.5 });
    const [before, after] = [graphCost(trained.graph), graphCost(pruned.graph)];
    expect(after.macs / before.macs).toBeLessThanOrEqual(0.5);
    expect(after.macs / before.macs).toBeGreaterThan(0.4);
    expect(after.params).toBeLessThan(before.params * 0.6);
    const kernel = weightOf(pruned.graph, "stage1_block1_2_conv", "kernel").shape;
    expect(kernel[2]).toBeLessThan(16);
    const entry = pruned.history.at(-1) as Record<string, any>;
    expect(entry).toMatchObject({ step: "prune", learner: "channel" });
    expect(entry.layers).toHaveLength(9);
    const accuracyBefore = evaluateGraph(trained.graph, data.test, { normalization }).accuracy;
    const accuracyAfter = evaluateGraph(pruned.graph, data.test, { normalization }).accuracy;
    expect(accuracyBefore).toBeGreaterThan(0.9);
    expect(accuracyAfter).toBeGreaterThan(accuracyBefore - 0.15);
  });

  // On this trained ResNet, LASSO and sum |W| reconstruct about equally well (within a few
  // percent either way); the constructed case where LASSO must win is in channel-selection.test.ts.
  it("LASSO + reconstruction reproduces the layers better than random selection, and as well as sum |W| (mean relative error)", async () => {
    const meanError = async (selection: string) => {
      const entry = (await prune({ preserveRatio: 0.5, selection })).history.at(-1) as Record<string, any>;
      const errors = (entry.layers as Array<{ relativeError: number }>).map((layer) => layer.relativeError);
      return errors.reduce((a, b) => a + b, 0) / errors.length;
    };
    const [lasso, sumAbs, random] = [await meanError("lasso"), await meanError("sum-abs"), await meanError("random")];
    expect(lasso).toBeLessThan(random);
    expect(lasso).toBeLessThan(sumAbs * 1.1);
  });

  it("per-layer ratios, and named errors before any work", async () => {
    const pruned = await prune({ ratios: { stage2_block1_2_conv: 0.25 } });
    expect(weightOf(pruned.graph, "stage2_block1_2_conv", "kernel").shape[2]).toBe(8);
    expect(weightOf(pruned.graph, "stage2_block2_2_conv", "kernel").shape[2]).toBe(32);
    await expect(prune({ ratios: { stem_conv: 0.5 } })).rejects.toThrow(/ratios names 'stem_conv', which is not a prunable layer \(prunable: stage1_block1_2_conv/);
    await expect(prune({ ratios: { stage2_block1_2_conv: 0 } })).rejects.toThrow("the ratio of 'stage2_block1_2_conv' must be in (0, 1], but got 0");
    await expect(prune({ preserveRatio: 0.01 })).rejects.toThrow(/cannot be met/);
    const quantized = withQuantization(trained, { logits: { activation: { bits: 8, min: 0, max: 1, symmetric: false } } });
    await expect(new ChannelPrunedLearner().compress(quantized, learnerData, { epochs: 1, batchSize: 32 })).rejects.toThrow(LearnerRefusedError);
  });
});
