// Constraints are exact: clipped channel ratios land on the MACs budget within one channel
// multiple of one layer (counted the way the channel learner counts), repaired sparsities prune
// round(s·N) weights to the weight (as the learner rounds), bits never exceed the average-bits
// budget; a feasible point is left as it is; an agent walking the layers is clipped the same way.
import { describe, expect, it } from "vitest";
import { keptChannelsOf, prunableLayers, thinnedMacs } from "../../src/learners/channel-budget.js";
import { ChannelPrunedLearner } from "../../src/learners/channel-pruned.js";
import { uncompressed } from "../../src/graph/compressed-model.js";
import { graphCost } from "../../src/graph/cost.js";
import { heuristicSparsities, WeightSparseLearner, prunableLayers as sparseLayers } from "../../src/learners/weight-sparse.js";
import { UniformQuantLearner } from "../../src/learners/uniform-quant.js";
import { createNet } from "../../src/nets/zoo.js";
import { bitsBudget, channelBudget, constraintFor, sparsityTarget, walkRepair } from "../../src/search/constraints.js";
import { RandomSearch } from "../../src/search/random-search.js";
import { optionsOfPoint, pointOfOptions, spaceOfHyperParameters } from "../../src/search/space.js";

const graph = createNet("resnet20", { inputShape: [16, 16, 1], classes: 4, seed: 1 });
const model = uncompressed(graph);

describe("channel budget (AMC clipping)", () => {
  const space = spaceOfHyperParameters(new ChannelPrunedLearner().searchSpace(model));
  const layers = prunableLayers(graph);
  const total = graphCost(graph).macs;

  for (const [preserveRatio, multiple] of [[0.5, 8], [0.3, 4], [0.8, 1]] as const) {
    it(`lands within one channel multiple of the budget: resnet20 16×16 keep=${preserveRatio} multiple=${multiple}, 200 random points`, () => {
      const constraint = channelBudget(space, graph, preserveRatio, multiple);
      // one channel multiple of each layer, at full width elsewhere: the most one step of the last clip can miss by
      const step = Math.max(...layers.map((layer) => total - thinnedMacs(graph, layers, new Map([[layer.id, Math.max(1, layer.channels - multiple)]]))));
      const search = new RandomSearch(space, { seed: 7 });
      for (let i = 0; i < 200; i++) {
        const repaired = constraint.repair(search.ask());
        const { ratios } = optionsOfPoint(space, repaired) as { ratios: Record<string, number> };
        const macs = thinnedMacs(graph, layers, keptChannelsOf("channel", graph, layers, 0.5, ratios, multiple));
        expect(macs).toBeLessThanOrEqual(preserveRatio * total + 1e-6);
        expect(macs).toBeGreaterThanOrEqual(preserveRatio * total - step - 1e-6);
        expect(constraint.repair(repaired)).toEqual(repaired); // feasible points stay
      }
    });
  }

  it("keeps what the budget allows of an asked point and says when the budget cannot be met", () => {
    const constraint = channelBudget(space, graph, 0.5, 8);
    const full = Object.fromEntries(space.dimensions.map((d) => [d.name, 1]));
    const repaired = constraint.repair(full);
    const values = space.dimensions.map((d) => repaired[d.name] as number);
    expect(values[0]).toBe(1); // the first layers keep all they ask for while the later ones can still meet the budget
    expect(values.at(-1)).toBeLessThan(1);
    expect(() => channelBudget(space, graph, 0.01, 8)).toThrow(/keeping 1\.0% of the MACs cannot be met.*raise --preserve-ratio/);
  });
});

describe("weight-sparse target", () => {
  const learner = new WeightSparseLearner();
  const spaceFor = (sparsity: number) => spaceOfHyperParameters(learner.searchSpace(model, { sparsity }));
  const space = spaceFor(0.5);
  const sizes = new Map(sparseLayers(graph).map((layer) => [layer.id, layer.size]));
  const total = [...sizes.values()].reduce((sum, size) => sum + size, 0);

  it("asks each layer for a sparsity in PocketFlow's range around the target: [1 - 3(1 - s), 1 - (1 - s)/3]", () => {
    expect(spaceFor(0.9).dimensions.map((d) => [d.low, d.high])).toEqual(spaceFor(0.9).dimensions.map(() => [expect.closeTo(0.7, 12), expect.closeTo(1 - 0.1 / 3, 12)]));
    expect(spaceFor(0.5).dimensions[0]).toMatchObject({ low: 0, high: expect.closeTo(1 - 0.5 / 3, 12) });
  });

  for (const sparsity of [0.5, 0.9]) {
    it(`prunes exactly round(${sparsity}·N) weights, rescaled or walked, each layer within its range: resnet20 16×16, 100 random points`, () => {
      const space = spaceFor(sparsity);
      const constraint = sparsityTarget(space, graph, sparsity);
      const search = new RandomSearch(space, { seed: 3 });
      const { low, high } = space.dimensions[0] as { low: number; high: number };
      const pruned = (point: Record<string, number | string>) => {
        const { layerSparsity } = optionsOfPoint(space, point) as { layerSparsity: Record<string, number> };
        for (const value of Object.values(layerSparsity)) {
          expect(value).toBeLessThanOrEqual(high);
          expect(value).toBeGreaterThanOrEqual(low);
        }
        return Object.entries(layerSparsity).reduce((sum, [id, value]) => sum + Math.round(value * (sizes.get(id) as number)), 0);
      };
      for (let i = 0; i < 100; i++) {
        const asked = search.ask();
        const rescaled = constraint.repair(asked);
        expect(pruned(rescaled)).toBe(Math.round(sparsity * total));
        expect(constraint.repair(rescaled)).toEqual(rescaled);
        expect(pruned(walkRepair(space, constraint, asked))).toBe(Math.round(sparsity * total));
      }
    });
  }

  it("starts a search from uniform (every layer at the target, unchanged by the repair) and PocketFlow's heuristic (held within the range)", () => {
    const space = spaceFor(0.9);
    const constraint = sparsityTarget(space, graph, 0.9);
    const [uniform, heuristic] = learner.searchBaselines(model, { sparsity: 0.9 });
    expect([uniform.name, heuristic.name]).toEqual(["uniform", "heuristic"]);
    const layers = sparseLayers(graph);
    expect(Object.values((uniform.options as { layerSparsity: Record<string, number> }).layerSparsity)).toEqual(layers.map(() => 0.9));
    expect(Object.values((heuristic.options as { layerSparsity: Record<string, number> }).layerSparsity)).toEqual(heuristicSparsities(layers, 0.9));
    const repairedUniform = constraint.repair(pointOfOptions(space, uniform.options));
    for (const value of Object.values(repairedUniform)) expect(value as number).toBeCloseTo(0.9, 3);
    const repaired = constraint.repair(pointOfOptions(space, heuristic.options));
    const { low, high } = space.dimensions[0] as { low: number; high: number };
    for (const value of Object.values(repaired)) {
      expect(value as number).toBeGreaterThanOrEqual(low);
      expect(value as number).toBeLessThanOrEqual(high);
    }
    // larger layers still pruned more, as the heuristic has it
    const first = repaired[space.dimensions[0].name] as number;
    const last = repaired[space.dimensions.at(-1)?.name as string] as number;
    expect(last).toBeGreaterThan(first);
  });

  it("keeps the proportions of the asked sparsities", () => {
    const constraint = sparsityTarget(space, graph, 0.5);
    const asked = Object.fromEntries(space.dimensions.map((d, i) => [d.name, i % 2 === 0 ? 0.2 : 0.4]));
    const repaired = constraint.repair(asked);
    const [a, b] = space.dimensions.slice(0, 2).map((d) => repaired[d.name] as number);
    expect(b / a).toBeCloseTo(2, 2);
  });
});

describe("bits budget (PocketFlow's bit optimizer)", () => {
  it("starts a search from every layer at the budget's bits", () => {
    expect(new UniformQuantLearner().searchBaselines(model, { averageBits: 3.5, epochs: 1, batchSize: 1 })).toEqual([
      { name: "uniform", options: { layerBits: Object.fromEntries(sparseLayers(graph).map((layer) => [layer.id, 3])) } },
    ]);
  });

  const space = spaceOfHyperParameters([{ option: "layerBits", kind: "integer", low: 2, high: 8, perLayer: sparseLayers(graph).map((layer) => layer.id) }]);
  const sizes = sparseLayers(graph).map((layer) => layer.size);

  for (const averageBits of [3, 4, 6]) {
    it(`never exceeds an average of ${averageBits} bits, and follows min(asked, 2 + ⌊duty/n⌋, 8): 100 random points`, () => {
      const constraint = bitsBudget(space, graph, averageBits);
      const search = new RandomSearch(space, { seed: 5 });
      for (let i = 0; i < 100; i++) {
        const asked = search.ask();
        const repaired = constraint.repair(asked);
        const bits = space.dimensions.map((d) => repaired[d.name] as number);
        const average = bits.reduce((sum, b, j) => sum + b * sizes[j], 0) / sizes.reduce((sum, n) => sum + n, 0);
        expect(average).toBeLessThanOrEqual(averageBits + 1e-9);
        expect(Math.min(...bits)).toBeGreaterThanOrEqual(2);
        expect(Math.max(...bits)).toBeLessThanOrEqual(8);
        let used = 0;
        for (let j = 0; j < bits.length - 1; j++) {
          const duty = averageBits * sizes.reduce((s, n) => s + n, 0) - used - 2 * sizes.slice(j).reduce((s, n) => s + n, 0);
          expect(bits[j]).toBe(Math.max(2, Math.min(asked[space.dimensions[j].name] as number, 2 + Math.floor(duty / sizes[j] + 1e-9), 8)));
          used += bits[j] * sizes[j];
        }
      }
    });
  }

  it("is chosen by the option the learner's space declares, with the learner's budget options", () => {
    expect(constraintFor(space, graph, { averageBits: 3 })?.description).toMatch(/average of 3 bits/);
    expect(constraintFor(space, graph, { weightBits: 5 })?.description).toMatch(/average of 5 bits/);
    const channels = spaceOfHyperParameters(new ChannelPrunedLearner().searchSpace(model));
    expect(constraintFor(channels, graph, { preserveRatio: 0.6 })?.description).toMatch(/keep 60\.0% of the MACs/);
    expect(constraintFor(spaceOfHyperParameters([{ option: "fastSteps", kind: "integer", low: 1, high: 9 }]), graph, {})).toBeUndefined();
  });
});
