// DisChnPrunedLearner: a model of the same family with fewer channels for real, selected stage by
// stage with auxiliary classifiers that never reach the saved model; on a layer where only some
// input channels carry the label, the gradient criterion keeps exactly those and a random choice
// does worse.
import * as tf from "@tensorflow/tfjs-core";
import type * as tfl from "@tensorflow/tfjs-layers";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { Dataset } from "../../src/data/dataset.js";
import { graphCost } from "../../src/graph/cost.js";
import { uncompressed, weightOf, withQuantization, type CompressedModel } from "../../src/graph/compressed-model.js";
import type { Graph } from "../../src/graph/ir.js";
import { loadCompressedModel, saveCompressedModel } from "../../src/io/compressed-model-dir.js";
import { AuxiliaryHead, blockEnd } from "../../src/learners/dis-chn-heads.js";
import { DisChnPrunedLearner } from "../../src/learners/dis-chn-pruned.js";
import { LearnerOptionError, LearnerRefusedError } from "../../src/learners/learner.js";
import { learnerByName } from "../../src/learners/registry.js";
import { createNet } from "../../src/nets/zoo.js";
import { copyWeightsToGraph } from "../../src/tfjs/tfjs-from-graph.js";
import { evaluateGraph } from "../../src/train/evaluate-graph.js";
import { crossEntropy } from "../../src/train/losses.js";
import { train } from "../../src/train/trainer.js";
import { composeTraining } from "../../src/train/training-parts.js";
import { seededRandom } from "../../src/util/random.js";
import { data, learnerData, normalization, trainedResNet } from "./trained-resnet.js";

let trained: CompressedModel;

beforeAll(async () => {
  trained = await trainedResNet();
}, 120_000);

const tiny = { batchSize: 32, stageSteps: 2, layerSteps: 1, selectionRounds: 2, samples: 32 };
const prune = (options: Record<string, unknown>) => new DisChnPrunedLearner().compress(trained, learnerData, { ...tiny, finetune: "none", ...options });

describe("DisChnPrunedLearner on ResNet-20 16x16x1 (trained 2 epochs on the synthetic set)", () => {
  it("keeps about half the MACs with smaller kernels, records stages and kept channels, and stays accurate after the fine-tune", async () => {
    const pruned = await prune({ preserveRatio: 0.5, finetune: "fast", fastSteps: 30 });
    const [before, after] = [graphCost(trained.graph), graphCost(pruned.graph)];
    expect(after.macs / before.macs).toBeLessThanOrEqual(0.5);
    expect(after.macs / before.macs).toBeGreaterThan(0.4);
    expect(weightOf(pruned.graph, "stage1_block1_2_conv", "kernel").shape).toEqual([3, 3, 8, 16]);
    expect(weightOf(pruned.graph, "stage1_block1_1_conv", "kernel").shape).toEqual([3, 3, 16, 8]);
    const entry = pruned.history.at(-1) as Record<string, any>;
    expect(entry).toMatchObject({ step: "prune", learner: "dis-chn", options: { stages: 3, preserveRatio: 0.5, channelMultiple: 8 } });
    expect(entry.stages.map((stage: { head?: string }) => stage.head)).toEqual(["stage1_block3_out", "stage2_block3_out", undefined]);
    expect(entry.layers).toHaveLength(9);
    for (const layer of entry.layers as Array<{ layer: string; kept: number; keptChannels: number[] }>) {
      expect(layer.keptChannels).toHaveLength(layer.kept);
      expect(layer.kept % 8).toBe(0); // channelMultiple's default
      expect(weightOf(pruned.graph, layer.layer, "kernel").shape[2]).toBe(layer.kept);
    }
    const accuracyBefore = evaluateGraph(trained.graph, data.test, { normalization }).accuracy;
    const accuracyAfter = evaluateGraph(pruned.graph, data.test, { normalization }).accuracy;
    expect(accuracyBefore).toBeGreaterThan(0.9);
    expect(accuracyAfter).toBeGreaterThan(accuracyBefore - 0.1);
  }, 120_000);

  it("before any fine-tune, the gradient criterion keeps more accuracy than a random choice of as many channels (mean of 2 seeds)", async () => {
    const accuracyOf = async (selection: string, seed: number) => evaluateGraph((await prune({ preserveRatio: 0.5, selectionRounds: 4, selection, seed })).graph, data.test, { normalization }).accuracy;
    const meanOf = async (selection: string) => ((await accuracyOf(selection, 0)) + (await accuracyOf(selection, 1))) / 2;
    const [gradient, random] = [await meanOf("gradient"), await meanOf("random")];
    expect(gradient).toBeGreaterThan(random + 0.1);
  }, 90_000);

  it("leaves no auxiliary head in the graph or the saved model directory; the optional re-fit reports its error", async () => {
    const pruned = await prune({ ratios: { stage1_block1_2_conv: 0.5, stage2_block1_2_conv: 0.5 }, stageSteps: 3, reconstruct: true });
    const layers = (pruned.history.at(-1) as Record<string, any>).layers as Array<{ relativeError?: number }>;
    expect(layers.map((layer) => layer.relativeError)).toEqual([expect.any(Number), expect.any(Number)]);
    expect(pruned.graph.nodes.map((node) => node.id)).toEqual(trained.graph.nodes.map((node) => node.id));
    const dir = join(await mkdtemp(join(tmpdir(), "pocketflow-dis-chn-")), "pruned");
    await saveCompressedModel(dir, pruned);
    const loaded = (await loadCompressedModel(dir)).model;
    expect(loaded.graph.nodes.map((node) => node.id)).toEqual(trained.graph.nodes.map((node) => node.id));
    expect(weightOf(loaded.graph, "stage2_block1_2_conv", "kernel").shape[2]).toBe(16);
    expect(weightOf(loaded.graph, "stage2_block2_2_conv", "kernel").shape[2]).toBe(32);
  }, 60_000);

  it("puts a stage's head where its last layer's block ends", () => {
    expect(blockEnd(trained.graph, "stage1_block3_2_conv")).toBe("stage1_block3_out");
    expect(blockEnd(trained.graph, "stage2_block1_1_conv")).toBe("stage2_block1_1_relu");
  });

  it("named errors before any work; the registry knows 'dis-chn'", async () => {
    await expect(prune({ preserveRatio: 1.5 })).rejects.toThrow(LearnerOptionError);
    await expect(prune({ preserveRatio: 1.5 })).rejects.toThrow("option preserveRatio must be a number >= 0 <= 1, but got 1.5");
    await expect(prune({ stages: 0 })).rejects.toThrow("option stages must be an integer >= 1, but got 0");
    await expect(prune({ ratios: { stage2_block1_2_conv: 0 } })).rejects.toThrow("learner 'dis-chn': the ratio of 'stage2_block1_2_conv' must be in (0, 1], but got 0");
    await expect(prune({ ratios: { stem_conv: 0.5 } })).rejects.toThrow(/ratios names 'stem_conv', which is not a prunable layer/);
    await expect(prune({ batchSize: 1024 })).rejects.toThrow("batchSize must be at most the 512 training samples, but got 1024");
    const quantized = withQuantization(trained, { logits: { activation: { bits: 8, min: 0, max: 1, symmetric: false } } });
    await expect(new DisChnPrunedLearner().compress(quantized, learnerData, tiny)).rejects.toThrow(LearnerRefusedError);
    expect(learnerByName("dis-chn")).toBeInstanceOf(DisChnPrunedLearner);
  });
});

// 4 classes from two bits: input channel 0 is bright when bit 0 is set, channel 1 when bit 1 is;
// channels 2-7 are noise, as bright on average, that tells nothing of the label.
function twoBitDataset(count: number, seed: number): Dataset {
  const random = seededRandom(seed);
  const [height, width, channels] = [4, 4, 8];
  const images = new Uint8Array(count * height * width * channels);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const label = Math.floor(random() * 4);
    labels[i] = label;
    for (let p = 0; p < height * width; p++) {
      for (let c = 0; c < channels; c++) {
        const bit = c < 2 ? (label >> c) & 1 : -1;
        const value = bit < 0 ? random() * 255 : bit === 1 ? 200 + random() * 55 : random() * 55;
        images[(i * height * width + p) * channels + c] = Math.round(value);
      }
    }
  }
  return { name: "two-bit", images, labels, imageShape: [height, width, channels], numClasses: 4 };
}

/**
 * conv1 passes the 8 input channels through (identity); conv2 scores class o by how well the
 * two signal channels match its bits (+x where the bit is set, 1 - x where not) and gives the
 * noise channels small weights; pool and a dense scaling give the logits.
 */
function twoBitGraph(): Graph {
  const random = seededRandom(7);
  const identity = Float32Array.from({ length: 64 }, (_, i) => (Math.floor(i / 8) === i % 8 ? 1 : 0));
  const scoring = Float32Array.from({ length: 32 }, (_, i) => {
    const [channel, output] = [Math.floor(i / 4), i % 4];
    return channel < 2 ? ((output >> channel) & 1 ? 1 : -1) : 0.2 * (random() - 0.5);
  });
  const bias = Float32Array.from({ length: 4 }, (_, output) => ((output & 1) === 0 ? 1 : 0) + ((output & 2) === 0 ? 1 : 0));
  const window = { kernelSize: [1, 1] as [number, number], strides: [1, 1] as [number, number], padding: "same" as const, dilation: [1, 1] as [number, number] };
  return {
    name: "two-bit",
    outputs: ["probabilities"],
    nodes: [
      { id: "input", op: "input", inputs: [], shape: [4, 4, 8] },
      { id: "conv1", op: "conv2d", inputs: ["input"], filters: 8, useBias: true, ...window, weights: { kernel: { shape: [1, 1, 8, 8], values: identity }, bias: { shape: [8], values: new Float32Array(8) } } },
      { id: "relu1", op: "relu", inputs: ["conv1"] },
      { id: "conv2", op: "conv2d", inputs: ["relu1"], filters: 4, useBias: true, ...window, weights: { kernel: { shape: [1, 1, 8, 4], values: scoring }, bias: { shape: [4], values: bias } } },
      { id: "relu2", op: "relu", inputs: ["conv2"] },
      { id: "pool", op: "globalAvgPool", inputs: ["relu2"] },
      { id: "logits", op: "dense", inputs: ["pool"], units: 4, useBias: true, weights: { kernel: { shape: [4, 4], values: Float32Array.from({ length: 16 }, (_, i) => (i % 5 === 0 ? 4 : 0)) }, bias: { shape: [4], values: new Float32Array(4) } } },
      { id: "probabilities", op: "softmax", inputs: ["logits"] },
    ],
  };
}

describe("DisChnPrunedLearner's selection on a layer where 2 of 8 input channels carry the label", () => {
  const train = twoBitDataset(256, 1);
  const test = twoBitDataset(256, 2);
  const model = uncompressed(twoBitGraph());
  const keepTwo = (selection: string, seed: number) => new DisChnPrunedLearner().compress(model, { train, validation: test }, {
    ratios: { conv2: 0.25 }, channelMultiple: 1, selection: selection as "gradient", seed, batchSize: 32, stageSteps: 0, layerSteps: 2, finetune: "none",
  });

  it("the gradient criterion keeps channels 0 and 1 and the accuracy; random choices keep less", async () => {
    expect(evaluateGraph(model.graph, test).accuracy).toBeGreaterThan(0.95);
    const chosen = await keepTwo("gradient", 0);
    expect((chosen.history.at(-1) as Record<string, any>).layers[0].keptChannels).toEqual([0, 1]);
    expect(weightOf(chosen.graph, "conv1", "kernel").shape).toEqual([1, 1, 8, 2]);
    const accuracy = evaluateGraph(chosen.graph, test).accuracy;
    expect(accuracy).toBeGreaterThan(0.95);
    const randomAccuracies: number[] = [];
    for (const seed of [0, 1, 2, 3]) randomAccuracies.push(evaluateGraph((await keepTwo("random", seed)).graph, test).accuracy);
    const meanRandom = randomAccuracies.reduce((a, b) => a + b, 0) / randomAccuracies.length;
    expect(meanRandom).toBeLessThan(accuracy - 0.25);
  }, 60_000);
});

describe("AuxiliaryHead", () => {
  it("keeps what a stage's training taught it for the next model built, and its layers stay out of the graph's weights", async () => {
    const lenet = createNet("lenet", { inputShape: [16, 16, 1], classes: 4, seed: 1 });
    const head = new AuxiliaryHead("dis_chn_head1", 4, 3);
    const part = { name: "aux", overrides: { conv2: { heads: (x: tfl.SymbolicTensor) => [head.attach(x)] } }, loss: (_l: tf.Tensor2D, labels: tf.Tensor1D, heads: tf.Tensor[]) => crossEntropy(labels, heads[0] as tf.Tensor2D) };
    const denseKernel = (model: tfl.LayersModel) => Array.from(model.getLayer("dis_chn_head1_dense").getWeights()[0].dataSync());
    const first = composeTraining(lenet, [part]);
    const initial = denseKernel(first.model);
    await train(first.model, data.train, { epochs: 1, batchSize: 32, maxSteps: 3, ...first.trainOptions, schedule: { schedule: { kind: "constant", learningRate: 0.1 } } });
    const trainedKernel = denseKernel(first.model);
    head.remember();
    copyWeightsToGraph(first.model, structuredClone(lenet)); // throws if a head layer were taken for a graph node
    first.dispose();
    const second = composeTraining(lenet, [part]);
    try {
      expect(trainedKernel).not.toEqual(initial);
      expect(denseKernel(second.model)).toEqual(trainedKernel);
    } finally {
      second.dispose();
    }
  });
});
