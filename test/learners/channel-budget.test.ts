// Which convs channel pruning thins, and the uniform fraction that meets a FLOPs budget.
import { describe, expect, it } from "vitest";
import { graphCost } from "../../src/graph/cost.js";
import { channelsForBudget, keptChannels, prunableLayers, thinnedMacs } from "../../src/learners/channel-budget.js";
import { createNet } from "../../src/nets/zoo.js";

const resnet20 = () => createNet("resnet20", { inputShape: [32, 32, 3], classes: 10, seed: 1 });

describe("prunable layers", () => {
  it("ResNet-20: the second conv of each of the 9 blocks (its input is its block's first conv alone); no stem, no residual stream, no classifier", () => {
    const layers = prunableLayers(resnet20());
    expect(layers).toHaveLength(9);
    for (const layer of layers) {
      expect(layer.group.producers).toHaveLength(1);
      expect(layer.group.consumers.map((c) => c.id)).toEqual([layer.id]);
    }
    expect(layers.map((l) => l.channels)).toEqual([16, 16, 16, 32, 32, 32, 64, 64, 64]);
  });

  it("LeNet: conv2 (conv1's channels) only; its dense layers read a flatten and stay", () => {
    const layers = prunableLayers(createNet("lenet", { inputShape: [28, 28, 1], classes: 10, seed: 1 }));
    expect(layers.map((l) => [l.id, l.group.producers])).toEqual([["conv2", ["conv1"]]]);
  });
});

describe("FLOPs budget", () => {
  it("thinnedMacs with nothing thinned is the graph's MACs; halving a block's channels halves both its convs", () => {
    const graph = resnet20();
    const layers = prunableLayers(graph);
    const total = graphCost(graph).macs;
    expect(thinnedMacs(graph, layers, new Map())).toBe(total);
    const [first] = layers;
    const cost = new Map(graphCost(graph).nodes.map((n) => [n.id, n.macs]));
    const [producer] = first.group.producers;
    const saved = (cost.get(producer) as number) / 2 + (cost.get(first.id) as number) / 2;
    const thinned = thinnedMacs(graph, layers, new Map([[first.id, 8]]));
    expect(total - thinned).toBeGreaterThanOrEqual(saved); // plus the batch norm's share
    expect(total - thinned).toBeLessThan(saved * 1.05);
  });

  it("keeps at most the budget, and as much of it as the channel counts allow", () => {
    const graph = resnet20();
    const layers = prunableLayers(graph);
    const total = graphCost(graph).macs;
    for (const ratio of [0.5, 0.7]) {
      const kept = channelsForBudget(graph, layers, ratio);
      const macs = thinnedMacs(graph, layers, kept);
      expect(macs).toBeLessThanOrEqual(ratio * total);
      const oneMore = new Map([...kept].map(([id, k]) => [id, keptChannels(layers.find((l) => l.id === id)?.channels ?? k, (k + 1) / (layers.find((l) => l.id === id)?.channels ?? k))]));
      expect(thinnedMacs(graph, layers, oneMore)).toBeGreaterThan(ratio * total * 0.98);
    }
  });

  it("aligned counts: multiples of 8 (15 and 31 channels ran slower than 32), layers of 8 or fewer cut channel by channel", () => {
    expect([keptChannels(32, 0.48, 8), keptChannels(64, 0.48, 8), keptChannels(16, 0.3, 8), keptChannels(6, 0.5, 8), keptChannels(32, 0.48)]).toEqual([16, 32, 8, 3, 15]);
    const graph = resnet20();
    const layers = prunableLayers(graph);
    const kept = channelsForBudget(graph, layers, 0.5, 8);
    expect([...kept.values()].every((k) => k % 8 === 0)).toBe(true);
    expect(thinnedMacs(graph, layers, kept)).toBeLessThanOrEqual(0.5 * graphCost(graph).macs);
  });

  it("names a ratio out of (0, 1] and a budget that cannot be met", () => {
    const graph = resnet20();
    const layers = prunableLayers(graph);
    expect(() => channelsForBudget(graph, layers, 0)).toThrow("preserveRatio must be in (0, 1], but got 0");
    expect(() => channelsForBudget(graph, layers, 1.5)).toThrow("preserveRatio must be in (0, 1], but got 1.5");
    expect(() => channelsForBudget(graph, layers, 0.05)).toThrow(/keeping 5.0% of the MACs cannot be met: with the fewest channels in each of the 9 prunable layers the model keeps \d+\.\d%; raise preserveRatio/);
  });
});
