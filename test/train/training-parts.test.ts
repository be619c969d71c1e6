// Training parts: several learners' changes to one run, keyed by IR names. Gradient rewrites of
// one weight apply in part order; an auxiliary head's outputs reach its own part's loss term;
// a part's own variables are trained; hooks merge with the caller's.
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { registerPocketflowBackend } from "../../src/backend/register.js";
import { syntheticDataset } from "../../src/data/synthetic.js";
import { createNet } from "../../src/nets/zoo.js";
import { markAuxiliary } from "../../src/tfjs/tfjs-from-graph.js";
import { parameterName, irWeightOfParameter } from "../../src/tfjs/weight-names.js";
import { train } from "../../src/train/trainer.js";
import { composeTraining, mergeHooks, type TrainingPart } from "../../src/train/training-parts.js";

const data = syntheticDataset({ imageShape: [16, 16, 1], numClasses: 4, trainCount: 64, testCount: 16, seed: 4 });
const lenet = () => createNet("lenet", { inputShape: [16, 16, 1], classes: 4, seed: 1 });
const options = { epochs: 1, batchSize: 16, maxSteps: 2, schedule: { schedule: { kind: "constant" as const, learningRate: 0.1 } } };

beforeAll(async () => {
  await tf.setBackend(registerPocketflowBackend());
});

describe("weight names", () => {
  it("map IR weights to the trainer's parameter names and back", () => {
    expect(parameterName("dw1", "depthwiseKernel")).toBe("dw1/depthwise_kernel");
    expect(irWeightOfParameter("block/conv1/moving_mean")).toEqual({ nodeId: "block/conv1", weight: "movingMean" });
    expect(() => parameterName("conv1", "kernal")).toThrow("'kernal' is no IR weight name");
  });
});

describe("composeTraining", () => {
  it("applies gradient rewrites of the same weight in part order, and leaves other weights' gradients alone", async () => {
    const seen: string[] = [];
    const part = (name: string, factor: number): TrainingPart => ({
      name, gradients: { fc2: { kernel: (g) => { seen.push(name); return tf.mul(g, factor); } } },
    });
    const composed = composeTraining(lenet(), [part("first", 0), undefined, part("second", 3)]);
    const before = Object.fromEntries(composed.model.weights.map((w) => [w.originalName, w.read().dataSync().slice()]));
    try {
      await train(composed.model, data.train, { ...options, ...composed.trainOptions });
      const after = Object.fromEntries(composed.model.weights.map((w) => [w.originalName, w.read().dataSync()]));
      expect(after["fc2/kernel"]).toEqual(before["fc2/kernel"]); // 0 then ×3: no update
      expect(after["fc2/bias"]).not.toEqual(before["fc2/bias"]);
      expect(after["fc1/kernel"]).not.toEqual(before["fc1/kernel"]);
      expect(seen).toEqual(["first", "second", "first", "second"]);
    } finally {
      composed.dispose();
    }
  });

  it("gives a part's loss its own heads, trains its own variables, and reaches only the logits through the model output", async () => {
    const scale = tf.variable(tf.scalar(1), true, "aux_scale");
    const headOutputs: number[][] = [];
    const part: TrainingPart = {
      name: "aux",
      overrides: {
        fc1_relu: {
          heads: (features) => [markAuxiliary(tfl.layers.dense({ units: 4, name: "aux_head" })).apply(features) as tfl.SymbolicTensor],
        },
      },
      parameters: [{ name: "aux_scale", variable: scale }],
      loss: (_logits, labels, heads) => {
        headOutputs.push(heads.map((head) => head.shape[1] as number));
        return tf.mul(scale, tf.losses.softmaxCrossEntropy(tf.oneHot(labels, 4), heads[0] as tf.Tensor2D)) as tf.Scalar;
      },
    };
    const other: TrainingPart = { name: "other", loss: (logits) => tf.mul(0, tf.sum(logits)) as tf.Scalar };
    const composed = composeTraining(lenet(), [other, part]);
    try {
      expect(composed.model.outputs.map((output) => output.shape)).toEqual([[null, 4], [null, 4]]);
      const result = await train(composed.model, data.train, { ...options, ...composed.trainOptions });
      expect(result.globalStep).toBe(2);
      expect(headOutputs).toEqual([[4], [4]]); // one head each step, its own
      expect(scale.dataSync()[0]).toBeLessThan(1); // the loss grows with the scale: SGD lowers it
    } finally {
      composed.dispose();
      scale.dispose();
    }
  });

  it("a part's own variables are checkpointed and restored on resume, as the model's weights are", async () => {
    const file = join(await mkdtemp(join(tmpdir(), "pocketflow-parts-")), "checkpoint.msgpack");
    const runWith = async (checkpoint: { file: string; resume?: boolean } | undefined, stopAfter?: number): Promise<number> => {
      const scale = tf.variable(tf.scalar(1), true, `scale_${Math.random()}`);
      const part: TrainingPart = { name: "scaled", parameters: [{ name: "scale", variable: scale }], loss: (logits) => tf.mul(scale, tf.mean(tf.square(logits))) as tf.Scalar };
      const composed = composeTraining(lenet(), [part]);
      try {
        const hooks = { ...composed.trainOptions.hooks, onStep: (p: { globalStep: number }) => (p.globalStep === stopAfter ? "stop" as const : undefined) };
        await train(composed.model, data.train, { ...options, maxSteps: 4, ...composed.trainOptions, hooks, checkpoint });
        return scale.dataSync()[0];
      } finally {
        composed.dispose();
        scale.dispose();
      }
    };
    const uninterrupted = await runWith(undefined);
    const stopped = await runWith({ file }, 2);
    const resumed = await runWith({ file, resume: true });
    expect(stopped).not.toBe(uninterrupted);
    expect(resumed).toBe(uninterrupted);
  });

  it("mergeHooks calls the caller's hooks and the parts', and frees the tensors between the two gradient rewrites", () => {
    const calls: string[] = [];
    const merged = mergeHooks(
      { afterUpdate: () => calls.push("own"), transformGradients: (g) => ({ w: tf.mul(g.w, 2) }) },
      { afterUpdate: () => calls.push("parts"), transformGradients: (g) => ({ w: tf.add(g.w, 1) }) },
    );
    const input = { w: tf.tensor1d([1, 2]) };
    const before = tf.memory().numTensors;
    const output = merged.transformGradients?.(input, 0) as tf.NamedTensorMap;
    expect(Array.from(output.w.dataSync())).toEqual([3, 5]);
    expect(tf.memory().numTensors).toBe(before + 1);
    merged.afterUpdate?.(0);
    expect(calls).toEqual(["own", "parts"]);
    tf.dispose([input.w, output.w]);
  });
});
