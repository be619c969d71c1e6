// DDPG learns: on a synthetic reward over 8 per-layer actions under a budget (reward = −Σ(a_i −
// target_i)², the sum of actions clipped to a budget as the episode walks), the median reward of
// its last episodes beats its warm-up's and random search's over as many trials; and a seed gives
// the same points.
import { describe, expect, it } from "vitest";
import { walkRepair, type LayerConstraint } from "../../src/search/constraints.js";
import { Ddpg, truncatedNormal } from "../../src/search/ddpg.js";
import type { Optimizer } from "../../src/search/optimizer.js";
import { RandomSearch } from "../../src/search/random-search.js";
import { spaceOfHyperParameters, type Point } from "../../src/search/space.js";
import { seededRandom } from "../../src/util/random.js";

const layers = Array.from({ length: 8 }, (_, i) => `conv_${i}`);
const space = spaceOfHyperParameters([{ option: "ratios", kind: "continuous", low: 0, high: 1, perLayer: layers }]);
const targets = [0.2, 0.8, 0.3, 0.6, 0.1, 0.5, 0.4, 0.7];
const budget = 3.4; // Σ targets = 3.6: the best feasible point trims the targets a little

/** Σ values ≤ budget, each layer clipped so the ones before it leave room (later ones may take 0). */
const sumBudget: LayerConstraint = (() => {
  const base = {
    description: "sum of values within a budget",
    dimensions: layers.map((_, i) => i),
    clip: (_step: number, value: number, chosen: readonly number[]) => Math.max(0, Math.min(value, budget - chosen.reduce((s, v) => s + v, 0))),
    budgetState: (_step: number, chosen: readonly number[]): [number, number] => [chosen.reduce((s, v) => s + v, 0) / layers.length, (budget - chosen.reduce((s, v) => s + v, 0)) / layers.length],
  };
  return { ...base, repair: (point: Point) => walkRepair(space, base, point) };
})();

const reward = (point: Point) => -layers.reduce((sum, layer, i) => sum + ((point[`ratios/${layer}`] as number) - targets[i]) ** 2, 0);
const median = (values: number[]) => { const sorted = [...values].sort((a, b) => a - b); return (sorted[(sorted.length - 1) >> 1] + sorted[sorted.length >> 1]) / 2; };

function run(optimizer: Optimizer, trials: number): number[] {
  return Array.from({ length: trials }, () => {
    const point = sumBudget.repair(optimizer.ask());
    const score = reward(point);
    optimizer.tell({ point, score });
    return score;
  });
}

describe("ddpg", () => {
  it("learns a per-layer reward under a budget: its last episodes beat its warm-up and random search (8 layers, 80 episodes)", () => {
    const features = layers.map((_, i) => [i + 1, 16 * (1 + (i % 3)), 3]);
    const ddpg = new Ddpg(space, { seed: 1, constraint: sumBudget, layerFeatures: features, warmupEpisodes: 15, batchSize: 32 });
    const rewards = run(ddpg, 80);
    ddpg.dispose();
    const random = run(new RandomSearch(space, { seed: 1 }), 80);
    const last = median(rewards.slice(-20));
    expect(last).toBeGreaterThan(median(rewards.slice(0, 15)) + 0.3);
    expect(last).toBeGreaterThan(median(random) + 0.3);
  }, 60_000);

  it("repeats its points for a seed, and differs for another", () => {
    const draw = (seed: number) => { const ddpg = new Ddpg(space, { seed, constraint: sumBudget, warmupEpisodes: 3, batchSize: 8 }); const points = run(ddpg, 8); ddpg.dispose(); return points; };
    const first = draw(5);
    expect(draw(5)).toEqual(first);
    expect(draw(6)).not.toEqual(first);
  });

  it("every asked point already meets the constraint (the walk clips as it goes)", () => {
    const ddpg = new Ddpg(space, { seed: 2, constraint: sumBudget, warmupEpisodes: 2, batchSize: 8 });
    for (let i = 0; i < 6; i++) {
      const point = ddpg.ask();
      expect(sumBudget.repair(point)).toEqual(point);
      expect(layers.reduce((sum, layer) => sum + (point[`ratios/${layer}`] as number), 0)).toBeLessThanOrEqual(budget + 1e-9);
      ddpg.tell({ point, score: reward(point) });
    }
    ddpg.tell({ point: ddpg.ask() }); // a failed trial is accepted and teaches nothing
    ddpg.dispose();
  });

  it("draws truncated-normal noise inside [0, 1]", () => {
    const random = seededRandom(3);
    const draws = Array.from({ length: 2000 }, () => truncatedNormal(random, 0.9, 0.3));
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...draws)).toBeLessThanOrEqual(1);
    expect(median(draws)).toBeGreaterThan(0.6);
  });
});
