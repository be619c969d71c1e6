// DDPG (Lillicrap et al. 2016) as AMC (He et al. 2018) and PocketFlow use it to choose per-layer
// values: an episode walks the space's dimensions in order (the layers, in graph order) and the
// actor emits one action in [0, 1] per layer (the dimension's unit coordinate) from that layer's
// state: its index, AMC's static features (channels, size, stride, kernel, MACs), the budget
// spent and still free (from the constraint), and the previous action. Each action is clipped by
// the constraint as the walk goes, so the episode ends on budget. The episode's reward (minus a
// moving-average baseline) is given to every transition of it; the critic learns Q(state, action)
// and the actor climbs the critic's gradient. Warm-up episodes act at random, then the actor's
// action is perturbed by truncated-normal noise whose width decays every episode.
// Choices of ours, and why:
// - 2×64 hidden units (PocketFlow's size, AMC has 2×300): the state has 12 features and a search
//   sees a few hundred episodes at most, so a larger net only trains slower on the CPU.
// - Everything runs on tfjs's plain 'cpu' backend with weights drawn from our seeded generator,
//   minibatches and noise from the same generator: a seed gives the same points, which is what a
//   resumed search needs when it replays the trial log through ask and tell.
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import "@tensorflow/tfjs"; // registers the gradients (tfjs-core alone does not)
import { seededRandom } from "../util/random.js";
import type { LayerConstraint } from "./constraints.js";
import { normalizeColumns } from "./layer-state.js";
import type { Optimizer, OptimizerOptions, TrialResult } from "./optimizer.js";
import { fromUnit, toUnit, type Point, type SearchSpace } from "./space.js";

export interface DdpgOptions extends OptimizerOptions {
  /** Static features per dimension (layer-state.ts layerFeatures); normalized here. Default: none. */
  layerFeatures?: readonly number[][];
  /** Applied to each action as the episode walks the layers. */
  constraint?: LayerConstraint;
  /** Episodes of random actions before the actor acts (default 20; AMC 100 of 400+). */
  warmupEpisodes?: number;
  /** Hidden units of both layers of actor and critic (default 64). */
  hidden?: number;
  /** Transitions per update (default 64) and transitions the replay buffer keeps (default 2000). */
  batchSize?: number;
  bufferSize?: number;
  /** Adam learning rates (default 1e-3 both, PocketFlow) and soft target update (default 0.01). */
  actorLearningRate?: number;
  criticLearningRate?: number;
  tau?: number;
  /** Discount of the next state's value (default 0.9, PocketFlow). */
  discount?: number;
  /** Width of the exploration noise after warm-up (default 0.5, AMC) and its decay per episode (default 0.95). */
  noise?: number;
  noiseDecay?: number;
  /** Weight of the old baseline in its moving average (default 0.95). */
  baselineDecay?: number;
}

interface Transition {
  state: number[];
  action: number;
  reward: number;
  next: number[];
  done: boolean;
}

interface Layer { kernel: tf.Variable; bias: tf.Variable }

/** Runs `work` on the cpu backend, the caller's backend restored after (tensors stay where they were made). */
function onCpu<T>(work: () => T): T {
  const previous = tf.getBackend();
  if (previous !== "cpu") void tf.setBackend("cpu");
  try {
    return work();
  } finally {
    if (previous !== "cpu" && previous !== undefined) void tf.setBackend(previous);
  }
}

/** A Glorot-uniform dense layer (the last one of a net ±3e-3, as Lillicrap et al.), drawn from `random`. */
function denseLayer(inputs: number, outputs: number, random: () => number, last: boolean): Layer {
  const limit = last ? 3e-3 : Math.sqrt(6 / (inputs + outputs));
  const values = Float32Array.from({ length: inputs * outputs }, () => (2 * random() - 1) * limit);
  return { kernel: tf.variable(tf.tensor2d(values, [inputs, outputs]), true), bias: tf.variable(tf.zeros([outputs]), true) };
}

const forward = (layers: readonly Layer[], x: tf.Tensor2D): tf.Tensor2D =>
  layers.reduce((h, layer, i) => {
    const out = tf.add(tf.matMul(h, layer.kernel), layer.bias) as tf.Tensor2D;
    return i < layers.length - 1 ? tf.relu(out) : out;
  }, x);

const variablesOf = (layers: readonly Layer[]): tf.Variable[] => layers.flatMap((layer) => [layer.kernel, layer.bias]);

/** A standard normal draw (Box-Muller) from a uniform generator. */
function normal(random: () => number): number {
  const u = Math.max(1e-12, random());
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

/** A normal draw around `mean` of width `sigma`, truncated to [0, 1] by rejection (AMC's truncnorm). */
export function truncatedNormal(random: () => number, mean: number, sigma: number): number {
  for (let i = 0; i < 100; i++) {
    const x = mean + sigma * normal(random);
    if (x >= 0 && x <= 1) return x;
  }
  return Math.min(1, Math.max(0, mean));
}

export class Ddpg implements Optimizer {
  readonly name = "ddpg";
  private readonly random: () => number;
  private readonly options: Required<Omit<DdpgOptions, "layerFeatures" | "constraint" | "seed">>;
  private readonly features: number[][];
  private readonly steps: Map<number, number>;
  private readonly actor: Layer[];
  private readonly critic: Layer[];
  private readonly targetActor: Layer[];
  private readonly targetCritic: Layer[];
  private readonly actorOptimizer: tf.Optimizer;
  private readonly criticOptimizer: tf.Optimizer;
  private readonly buffer: Transition[] = [];
  private asked = 0;
  private told = 0;
  private baseline: number | undefined;

  constructor(readonly space: SearchSpace, private readonly given: DdpgOptions = {}) {
    this.random = seededRandom(given.seed ?? 0);
    this.options = {
      warmupEpisodes: 20, hidden: 64, batchSize: 64, bufferSize: 2000, actorLearningRate: 1e-3, criticLearningRate: 1e-3, tau: 0.01, discount: 0.9,
      noise: 0.5, noiseDecay: 0.95, baselineDecay: 0.95, ...Object.fromEntries(Object.entries(given).filter(([, value]) => value !== undefined)),
    } as Ddpg["options"];
    const count = space.dimensions.length;
    this.features = normalizeColumns(given.layerFeatures?.length === count ? given.layerFeatures.map((row) => [...row]) : space.dimensions.map(() => [0]));
    this.steps = new Map((given.constraint?.dimensions ?? []).map((index, step) => [index, step]));
    const stateSize = 1 + this.features[0].length + 2 + 1;
    const { hidden } = this.options;
    [this.actor, this.critic, this.targetActor, this.targetCritic, this.actorOptimizer, this.criticOptimizer] = onCpu(() => {
      const net = (inputs: number) => [denseLayer(inputs, hidden, this.random, false), denseLayer(hidden, hidden, this.random, false), denseLayer(hidden, 1, this.random, true)];
      const actor = net(stateSize);
      const critic = net(stateSize + 1);
      const copy = (layers: Layer[]) => layers.map((layer) => ({ kernel: tf.variable(layer.kernel.clone(), false), bias: tf.variable(layer.bias.clone(), false) }));
      return [actor, critic, copy(actor), copy(critic), tf.train.adam(this.options.actorLearningRate), tf.train.adam(this.options.criticLearningRate)] as const;
    });
  }

  /** The state of dimension `index`: position, static features, budget spent and free, previous action. */
  private state(index: number, chosen: readonly number[], previousAction: number): number[] {
    const step = this.steps.get(index);
    const budget = step === undefined || this.given.constraint === undefined ? [0, 0] : this.given.constraint.budgetState(step, chosen);
    return [index / Math.max(1, this.space.dimensions.length - 1), ...this.features[index], ...budget, previousAction];
  }

  /** Walks the dimensions, choosing each action with `act`, clipping constrained ones; the point and its states and (clipped) actions. */
  private walk(act: (state: number[], index: number) => number): { point: Point; states: number[][]; actions: number[] } {
    const point: Point = {};
    const states: number[][] = [];
    const actions: number[] = [];
    const chosen: number[] = [];
    this.space.dimensions.forEach((dimension, index) => {
      const state = this.state(index, chosen, actions.at(-1) ?? 0);
      let value = fromUnit(dimension, act(state, index));
      const step = this.steps.get(index);
      if (step !== undefined && this.given.constraint !== undefined) {
        value = this.given.constraint.clip(step, value as number, chosen);
        chosen.push(value);
      }
      point[dimension.name] = value;
      states.push(state);
      actions.push(toUnit(dimension, value));
    });
    return { point, states, actions };
  }

  /** One episode of the actor (random during warm-up), perturbed by the decaying noise. */
  ask(): Point {
    const episode = this.asked++;
    const { warmupEpisodes, noise, noiseDecay } = this.options;
    if (episode < warmupEpisodes) return this.walk(() => this.random()).point;
    const sigma = noise * noiseDecay ** (episode - warmupEpisodes);
    return this.walk((state) => truncatedNormal(this.random, this.act(state), sigma)).point;
  }

  /** The actor's action for one state, without noise. */
  act(state: readonly number[]): number {
    return onCpu(() => tf.tidy(() => tf.sigmoid(forward(this.actor, tf.tensor2d([state as number[]]))).dataSync()[0]));
  }

  /** The point's transitions, each with the episode's reward, stored; then one update per layer once warm-up is over. */
  tell(result: TrialResult): void {
    this.told++;
    if (result.score === undefined || !Number.isFinite(result.score)) return; // a failed trial teaches nothing
    const { states, actions } = this.walk((_state, index) => toUnit(this.space.dimensions[index], result.point[this.space.dimensions[index].name]));
    states.forEach((state, t) => {
      const done = t === states.length - 1;
      this.buffer.push({ state, action: actions[t], reward: result.score as number, next: done ? state : states[t + 1], done });
    });
    if (this.buffer.length > this.options.bufferSize) this.buffer.splice(0, this.buffer.length - this.options.bufferSize);
    const decay = this.options.baselineDecay;
    this.baseline = this.baseline === undefined ? result.score : decay * this.baseline + (1 - decay) * result.score;
    if (this.told < this.options.warmupEpisodes || this.buffer.length < this.options.batchSize) return;
    for (let i = 0; i < states.length; i++) this.update();
  }

  /** One minibatch: the critic toward r − baseline + γ·Q'(s', μ'(s')), the actor up the critic, the targets a step τ closer. */
  private update(): void {
    const batch = Array.from({ length: this.options.batchSize }, () => this.buffer[Math.floor(this.random() * this.buffer.length)]);
    const { discount, tau } = this.options;
    const baseline = this.baseline ?? 0;
    onCpu(() => tf.tidy(() => {
      const states = tf.tensor2d(batch.map((t) => t.state));
      const actions = tf.tensor2d(batch.map((t) => [t.action]));
      const nextStates = tf.tensor2d(batch.map((t) => t.next));
      const nextQ = forward(this.targetCritic, tf.concat([nextStates, tf.sigmoid(forward(this.targetActor, nextStates))], 1));
      const notDone = tf.tensor2d(batch.map((t) => [t.done ? 0 : 1]));
      const target = tf.add(tf.tensor2d(batch.map((t) => [t.reward - baseline])), tf.mul(discount, tf.mul(notDone, nextQ)));
      this.criticOptimizer.minimize(() => tf.mean(tf.square(tf.sub(forward(this.critic, tf.concat([states, actions], 1)), target))) as tf.Scalar, false, variablesOf(this.critic));
      this.actorOptimizer.minimize(() => tf.neg(tf.mean(forward(this.critic, tf.concat([states, tf.sigmoid(forward(this.actor, states))], 1)))) as tf.Scalar, false, variablesOf(this.actor));
      for (const [target, source] of [[this.targetActor, this.actor], [this.targetCritic, this.critic]] as const) {
        target.forEach((layer, i) => {
          layer.kernel.assign(tf.add(tf.mul(1 - tau, layer.kernel), tf.mul(tau, source[i].kernel)));
          layer.bias.assign(tf.add(tf.mul(1 - tau, layer.bias), tf.mul(tau, source[i].bias)));
        });
      }
    }));
  }

  /** Frees the networks' tensors. */
  dispose(): void {
    onCpu(() => {
      for (const layers of [this.actor, this.critic, this.targetActor, this.targetCritic]) for (const variable of variablesOf(layers)) variable.dispose();
      this.actorOptimizer.dispose();
      this.criticOptimizer.dispose();
    });
  }
}
