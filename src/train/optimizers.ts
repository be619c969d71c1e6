// Momentum SGD and Adam written on tfjs ops, rather than tfjs's own optimizers, because the
// trainer needs three things those hide: the learning rate set per step by a schedule, the slot
// state read and written by checkpoints, and updates applied to gradients that the trainer
// computed separately (compute-gradients and apply-update stay apart for data parallelism).
//   momentum (TensorFlow's form)  a ← m·a + g;  w ← w − lr·a   (Nesterov: w ← w − lr·(g + m·a))
//   Adam (Kingma & Ba 2015)       m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;
//                                 w ← w − lr·m̂ / (√v̂ + ε), m̂ = m/(1−β1^t), v̂ = v/(1−β2^t)
// On the pocketflow backend each variable's update is one kernel (optimizer-updates.ts) giving
// the ops' values bit for bit; the ops run everywhere else.
import * as tf from "@tensorflow/tfjs-core";
import { fusedAdam, fusedSgdMomentum } from "../backend/optimizer-updates.js";

export type TrainingOptimizerConfig =
  | { kind: "sgd"; momentum?: number; nesterov?: boolean }
  | { kind: "adam"; beta1?: number; beta2?: number; epsilon?: number };

/** Slot arrays by variable name, plus the number of updates applied (Adam's t). */
export interface TrainingOptimizerState {
  steps: number;
  slots: Record<string, Float32Array[]>;
}

function checkFraction(name: string, value: number): void {
  if (!(value >= 0 && value < 1)) throw new RangeError(`optimizer: ${name} must be in [0, 1), but got ${value}`);
}

export function checkTrainingOptimizerConfig(config: TrainingOptimizerConfig): void {
  if (config.kind === "sgd") {
    checkFraction("momentum", config.momentum ?? 0.9);
  } else if (config.kind === "adam") {
    checkFraction("beta1", config.beta1 ?? 0.9);
    checkFraction("beta2", config.beta2 ?? 0.999);
    if (!((config.epsilon ?? 1e-8) > 0)) throw new RangeError(`optimizer: epsilon must be positive, but got ${config.epsilon}`);
  } else {
    throw new RangeError(`optimizer: unknown kind '${(config as { kind: string }).kind}'; use 'sgd' or 'adam'`);
  }
}

/** A trainable variable under a stable name (the layer's weight name, not tfjs's unique one). */
export interface Parameter {
  name: string;
  variable: tf.Variable;
}

export class TrainingOptimizer {
  readonly config: TrainingOptimizerConfig;
  private steps = 0;
  private readonly slots = new Map<string, tf.Variable[]>();

  constructor(config: TrainingOptimizerConfig) {
    checkTrainingOptimizerConfig(config);
    this.config = config;
  }

  /** Applies one update to `parameters` from `gradients` (by parameter name) at `learningRate`. */
  apply(parameters: readonly Parameter[], gradients: tf.NamedTensorMap, learningRate: number): void {
    this.steps += 1;
    for (const { name, variable } of parameters) {
      const gradient = gradients[name];
      if (gradient === undefined) continue;
      const count = this.config.kind === "sgd" ? 1 : 2;
      const slots = this.slotsOf(name, variable, count);
      tf.tidy(() => (this.config.kind === "sgd" ? this.momentumUpdate(variable, slots, gradient, learningRate) : this.adamUpdate(variable, slots, gradient, learningRate)));
    }
  }

  private slotsOf(name: string, variable: tf.Variable, count: number): tf.Variable[] {
    let slots = this.slots.get(name);
    if (slots === undefined) {
      slots = Array.from({ length: count }, () => tf.tidy(() => tf.variable(tf.zeros(variable.shape), false)));
      this.slots.set(name, slots);
    }
    return slots;
  }

  private momentumUpdate(variable: tf.Variable, [accumulator]: tf.Variable[], gradient: tf.Tensor, learningRate: number): void {
    const config = this.config as Extract<TrainingOptimizerConfig, { kind: "sgd" }>;
    const momentum = config.momentum ?? 0.9;
    const fused = fusedSgdMomentum(variable, accumulator, gradient, { momentum, learningRate, nesterov: config.nesterov === true });
    if (fused) {
      variable.assign(fused[0]);
      accumulator.assign(fused[1]);
      return;
    }
    const next = tf.add(tf.mul(accumulator, momentum), gradient);
    accumulator.assign(next);
    const step = config.nesterov === true ? tf.add(gradient, tf.mul(next, momentum)) : next;
    variable.assign(tf.sub(variable, tf.mul(step, learningRate)));
  }

  private adamUpdate(variable: tf.Variable, [first, second]: tf.Variable[], gradient: tf.Tensor, learningRate: number): void {
    const config = this.config as Extract<TrainingOptimizerConfig, { kind: "adam" }>;
    const beta1 = config.beta1 ?? 0.9;
    const beta2 = config.beta2 ?? 0.999;
    const epsilon = config.epsilon ?? 1e-8;
    const correctedRate = (learningRate * Math.sqrt(1 - beta2 ** this.steps)) / (1 - beta1 ** this.steps);
    const fused = fusedAdam(variable, first, second, gradient, { beta1, beta2, epsilon, correctedRate });
    if (fused) {
      [variable, first, second].forEach((target, i) => target.assign(fused[i]));
      return;
    }
    first.assign(tf.add(tf.mul(first, beta1), tf.mul(gradient, 1 - beta1)));
    second.assign(tf.add(tf.mul(second, beta2), tf.mul(tf.square(gradient), 1 - beta2)));
    variable.assign(tf.sub(variable, tf.mul(tf.div(first, tf.add(tf.sqrt(second), epsilon)), correctedRate)));
  }

  getState(): TrainingOptimizerState {
    const slots: Record<string, Float32Array[]> = {};
    for (const [name, variables] of this.slots) slots[name] = variables.map((slot) => Float32Array.from(slot.dataSync() as Float32Array));
    return { steps: this.steps, slots };
  }

  /** Restores slots saved by getState; every slot must match the shape of its variable. */
  setState(state: TrainingOptimizerState, parameters: readonly Parameter[]): void {
    this.dispose();
    this.steps = state.steps;
    const byName = new Map(parameters.map(({ name, variable }) => [name, variable]));
    for (const [name, arrays] of Object.entries(state.slots)) {
      const variable = byName.get(name);
      if (variable === undefined) throw new Error(`optimizer state: slot for unknown variable '${name}'; the checkpoint belongs to another model`);
      if (arrays.some((values) => values.length !== variable.size)) {
        throw new Error(`optimizer state: slot for '${name}' does not match the variable's ${variable.size} values; the checkpoint belongs to another model`);
      }
      this.slots.set(name, arrays.map((values) => tf.tidy(() => tf.variable(tf.tensor(values, variable.shape), false))));
    }
  }

  dispose(): void {
    for (const slots of this.slots.values()) for (const slot of slots) slot.dispose();
    this.slots.clear();
    this.steps = 0;
  }
}
