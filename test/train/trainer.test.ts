// The trainer: it learns, a killed run resumes to the very same weights, hooks and weight decay
// act where they should, checkpoints of another run are refused, and no tensors leak per step.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registerPocketflowBackend } from "../../src/backend/register.js";
import { syntheticDataset } from "../../src/data/synthetic.js";
import { computeNormalization } from "../../src/data/batches.js";
import { evaluate, modelForward } from "../../src/train/evaluate.js";
import { applyGradients, computeGradients, modelParameters, train, type TrainOptions } from "../../src/train/trainer.js";
import { TrainingOptimizer } from "../../src/train/optimizers.js";

const data = syntheticDataset({ imageShape: [8, 8, 2], numClasses: 4, trainCount: 96, testCount: 64, seed: 3 });
const normalization = computeNormalization(data.train);
let directory: string;

beforeAll(async () => {
  await tf.setBackend(registerPocketflowBackend());
  directory = mkdtempSync(join(tmpdir(), "pocketflow-trainer-"));
});
afterAll(() => rmSync(directory, { recursive: true, force: true }));

/** conv 3×3 → batch-norm → relu → maxpool → flatten → dense (logits), initialized from `seed`. */
function smallCnn(seed: number, softmax = false): tfl.LayersModel {
  return tfl.sequential({
    layers: [
      tfl.layers.conv2d({ inputShape: [8, 8, 2], filters: 6, kernelSize: 3, padding: "same", name: "conv", kernelInitializer: tfl.initializers.glorotUniform({ seed }) }),
      tfl.layers.batchNormalization({ name: "bn" }),
      tfl.layers.reLU({ name: "relu" }),
      tfl.layers.maxPooling2d({ poolSize: 2, name: "pool" }),
      tfl.layers.flatten({ name: "flatten" }),
      tfl.layers.dense({ units: 4, name: "dense", activation: softmax ? "softmax" : "linear", kernelInitializer: tfl.initializers.glorotUniform({ seed: seed + 1 }) }),
    ],
  });
}

const weightsOf = (model: tfl.LayersModel): Float32Array[] => model.weights.map((w) => Float32Array.from(w.read().dataSync() as Float32Array));

const baseOptions: TrainOptions = {
  epochs: 3, batchSize: 16, seed: 5, normalization,
  optimizer: { kind: "sgd", momentum: 0.9 },
  schedule: { schedule: { kind: "piecewise", learningRate: 0.05, boundaryEpochs: [2], decay: 0.1 }, warmupEpochs: 0.5 },
  weightDecay: 1e-3, augmentation: { cropPadding: 1, horizontalFlip: true },
};

describe("train", () => {
  it("learns the synthetic task (test accuracy > 90%) and reports per-epoch metrics", async () => {
    const model = smallCnn(1);
    const result = await train(model, data.train, { ...baseOptions, epochs: 4, validation: data.test });
    expect(result.history.map((h) => h.epoch)).toEqual([1, 2, 3, 4]);
    expect(result.globalStep).toBe(4 * 6);
    expect(result.history[3].loss).toBeLessThan(result.history[0].loss);
    const accuracy = evaluate(modelForward(model), data.test, { normalization }).accuracy;
    expect(accuracy).toBeGreaterThan(0.9);
    expect(result.history[3].validationAccuracy).toBeCloseTo(accuracy, 10);
  });

  it("a run killed mid-epoch and resumed ends with bit-identical weights (Adam, cosine, every step random)", async () => {
    const options: TrainOptions = { ...baseOptions, optimizer: { kind: "adam" }, schedule: { schedule: { kind: "cosine", learningRate: 0.01 }, warmupEpochs: 1 } };
    const uninterrupted = smallCnn(7);
    await train(uninterrupted, data.train, options);

    const file = join(directory, "resume.ckpt");
    const killed = smallCnn(7);
    const kill = { onStep: ({ globalStep }: { globalStep: number }) => { if (globalStep === 11) throw new Error("killed"); } };
    await expect(train(killed, data.train, { ...options, checkpoint: { file, everySteps: 4 }, hooks: kill })).rejects.toThrow("killed");

    const resumed = smallCnn(99); // different initial weights: everything must come from the checkpoint
    const steps: number[] = [];
    const result = await train(resumed, data.train, { ...options, checkpoint: { file, everySteps: 4, resume: true }, hooks: { onStep: (p) => void steps.push(p.globalStep) } });
    expect(result.resumed).toBe(true);
    expect(steps[0]).toBe(9); // the last checkpoint was at step 8
    expect(weightsOf(resumed)).toEqual(weightsOf(uninterrupted));
    expect(result.history.length).toBe(3);
  });

  it("refuses to resume a checkpoint of a run with other options, naming them", async () => {
    const file = join(directory, "other.ckpt");
    await train(smallCnn(1), data.train, { ...baseOptions, epochs: 1, checkpoint: { file } });
    await expect(train(smallCnn(1), data.train, { ...baseOptions, epochs: 1, batchSize: 8, seed: 6, checkpoint: { file, resume: true } }))
      .rejects.toThrow(/different batchSize, seed; resume with the same options/);
  });

  it("stops after maxSteps, and a hook's 'stop' ends the run early", async () => {
    const capped = await train(smallCnn(1), data.train, { ...baseOptions, maxSteps: 4 });
    expect(capped).toMatchObject({ globalStep: 4, stoppedEarly: true, history: [] });
    const stopped = await train(smallCnn(1), data.train, { ...baseOptions, hooks: { onStep: (p) => (p.globalStep === 7 ? "stop" : undefined) } });
    expect(stopped).toMatchObject({ globalStep: 7, stoppedEarly: true });
    expect(stopped.history.length).toBe(1);
  });

  it("a gradient mask hook with a weight mask after each update keeps pruned weights at exactly zero", async () => {
    const model = smallCnn(2);
    const kernel = model.getLayer("conv").getWeights()[0];
    const mask = tf.tidy(() => tf.cast(tf.greater(tf.abs(kernel), 0.2), "float32"));
    const variable = modelParameters(model).find((p) => p.name === "conv/kernel")!.variable;
    variable.assign(tf.mul(variable, mask));
    const hooks = {
      transformGradients: (g: tf.NamedTensorMap) => ({ ...g, "conv/kernel": tf.mul(g["conv/kernel"], mask) }),
      afterUpdate: () => variable.assign(tf.tidy(() => tf.mul(variable, mask))),
    };
    await train(model, data.train, { ...baseOptions, epochs: 1, hooks });
    const values = variable.dataSync();
    const maskValues = mask.dataSync();
    const zeros = maskValues.filter((m) => m === 0).length;
    expect(zeros).toBeGreaterThan(0);
    maskValues.forEach((m, i) => { if (m === 0) expect(Math.abs(values[i])).toBe(0); });
    tf.dispose([kernel, mask]);
  });

  it("weight decay shrinks kernels by lr·decay·w on the first step and leaves biases and batch-norm alone", () => {
    const step = (decay: number): Float32Array[] => {
      const model = smallCnn(4);
      const run = { forward: modelForward(model), parameters: modelParameters(model), optimizer: new TrainingOptimizer({ kind: "sgd", momentum: 0.9 }), options: { ...baseOptions, weightDecay: decay } };
      const before = weightsOf(model);
      const batch = { images: new Float32Array(16 * 128).map((_, i) => Math.sin(i)), labels: new Uint8Array(16).map((_, i) => i % 4), size: 16 };
      const { gradients } = computeGradients(run, batch, [8, 8, 2]);
      applyGradients(run, gradients, 0.1, 0);
      run.optimizer.dispose();
      return weightsOf(model).map((after, i) => after.map((v, j) => v - before[i][j]));
    };
    const plain = step(0);
    const decayed = step(0.5);
    const model = smallCnn(4);
    const initial = weightsOf(model);
    model.weights.forEach((w, i) => {
      const decays = /kernel$/.test(w.originalName);
      decayed[i].forEach((delta, j) => expect(delta - plain[i][j]).toBeCloseTo(decays ? -0.1 * 0.5 * initial[i][j] : 0, 5));
    });
  });

  it("distillation from a teacher changes the updates", async () => {
    const teacher = smallCnn(3);
    const a = smallCnn(8);
    const b = smallCnn(8);
    await train(a, data.train, { ...baseOptions, epochs: 1 });
    await train(b, data.train, { ...baseOptions, epochs: 1, distillation: { teacher } });
    const differs = weightsOf(a).some((w, i) => w.some((v, j) => v !== weightsOf(b)[i][j]));
    expect(differs).toBe(true);
  });

  it("refuses a model that outputs softmax probabilities, and bad options, with the fix", async () => {
    await expect(train(smallCnn(1, true), data.train, baseOptions)).rejects.toThrow(/outputs probabilities \(softmax in layer 'dense'\).*withoutSoftmax/);
    await expect(train(smallCnn(1), data.train, { ...baseOptions, epochs: 0 })).rejects.toThrow("epochs must be an integer >= 1, but got 0");
    await expect(train(smallCnn(1), data.train, { ...baseOptions, batchSize: 1000 })).rejects.toThrow(/fewer than one batch of 1000/);
    await expect(train(smallCnn(1), data.train, { ...baseOptions, schedule: { schedule: { kind: "constant", learningRate: -1 } } })).rejects.toThrow("learningRate must be a positive number, but got -1");
  });

  it("leaves no tensors behind per step", async () => {
    const model = smallCnn(1);
    await train(model, data.train, { ...baseOptions, epochs: 1, maxSteps: 2 });
    const before = tf.memory().numTensors;
    await train(model, data.train, { ...baseOptions, epochs: 2, validation: data.test });
    expect(tf.memory().numTensors).toBe(before);
  });
});
