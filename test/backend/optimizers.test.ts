// The trainer's optimizers on our backend (one PocketflowSgdMomentum / PocketflowAdam kernel a
// variable) against the same optimizers on cpu (tfjs ops): the same weights and slots bit for bit.
import * as tf from "@tensorflow/tfjs-core";
import { describe, expect, it } from "vitest";
import { TrainingOptimizer, type TrainingOptimizerConfig } from "../../src/train/optimizers.js";
import { OURS, seededValues } from "./compare.js";

const SHAPES = [[3, 3, 16, 16], [37], [1], [10]];

/** Weights and slots after `steps` updates with seeded gradients and a changing learning rate. */
async function train(backend: string, config: TrainingOptimizerConfig, steps: number): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const size = (shape: number[]): number => shape.reduce((p, d) => p * d, 1);
  const parameters = SHAPES.map((shape, k) => ({ name: `w${k}`, variable: tf.variable(tf.tensor(seededValues(size(shape), 10 + k), shape)) }));
  const optimizer = new TrainingOptimizer(config);
  for (let t = 0; t < steps; t++) {
    const gradients = Object.fromEntries(parameters.map(({ name, variable }, k) => [name, tf.tensor(seededValues(variable.size, 100 * t + k), variable.shape)]));
    optimizer.apply(parameters, gradients, 0.05 / (t + 1));
    tf.dispose(Object.values(gradients));
  }
  const slots = Object.values(optimizer.getState().slots).flat();
  const weights = parameters.map(({ variable }) => Float32Array.from(variable.dataSync() as Float32Array));
  optimizer.dispose();
  parameters.forEach(({ variable }) => variable.dispose());
  return [...weights, ...slots];
}

describe("optimizer updates on ours match the tfjs ops on cpu bit for bit", () => {
  const configs: TrainingOptimizerConfig[] = [
    { kind: "sgd", momentum: 0.9 }, { kind: "sgd", momentum: 0.8, nesterov: true }, { kind: "adam" }, { kind: "adam", beta1: 0.5, beta2: 0.9, epsilon: 1e-3 },
  ];
  for (const config of configs) {
    it(`${JSON.stringify(config)}, 4 steps, shapes ${SHAPES.map((s) => `[${s}]`).join(" ")}`, async () => {
      const expected = await train("cpu", config, 4);
      const actual = await train(OURS, config, 4);
      expect(actual.length).toBe(expected.length);
      actual.forEach((a, i) => expect(Array.from(a), `array ${i}`).toEqual(Array.from(expected[i])));
    });
  }
  it("runs one kernel a variable on ours", async () => {
    await tf.setBackend(OURS);
    for (const [config, kernel] of [[{ kind: "sgd" }, "PocketflowSgdMomentum"], [{ kind: "adam" }, "PocketflowAdam"]] as const) {
      const variable = tf.variable(tf.ones([5]));
      const gradient = tf.ones([5]);
      const optimizer = new TrainingOptimizer(config);
      optimizer.apply([{ name: "w", variable }], { w: gradient }, 0.1); // creates the slots
      const info = await tf.profile(() => optimizer.apply([{ name: "w", variable }], { w: gradient }, 0.1));
      expect(info.kernels.map((k) => k.name)).toEqual([kernel]);
      tf.dispose([variable, gradient]);
      optimizer.dispose();
    }
  });
});
