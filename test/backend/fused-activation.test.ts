// Layers fused on our backend: a relu or relu6 into the batch norm before it
// (fused-activation.ts), and at inference that batch norm into the convolution before it
// (folded-conv-layers.ts). buildTfjsModel fuses exactly where the later layer is the earlier
// one's only reader; the fused model gives tfjs cpu's outputs and gradients in training and
// inference, runs no separate kernels for what it fused, refolds when weights change, falls
// back to the standard layers under a gradient tape in inference, and saves what the unfused
// model saves.
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { describe, expect, it } from "vitest";
import { PocketflowBatchNormalization } from "../../src/tfjs/batch-norm-layer.js";
import { PocketflowConv2D, PocketflowDepthwiseConv2D } from "../../src/tfjs/folded-conv-layers.js";
import { buildTfjsModel } from "../../src/tfjs/tfjs-from-graph.js";
import type { Graph } from "../../src/graph/ir.js";
import { add, batchNorm, conv, dense, depthwise, input, plain } from "../graph/test-graphs.js";
import { floorOf, maxRelativeError, OURS, runOn, seededValues } from "./compare.js";

const TOLERANCE = 1e-4;
const SHAPE = [3, 6, 6, 4];

/**
 * image 6×6×4 → conv → bn1 → relu → conv +bias → bn2 → relu6 → depthwise → bn5 → relu6 → conv →
 * bn3, read by both a relu and an add (so no activation fused) → add(relu, bn3) → bn4 (reads
 * an add: not folded) → gap → dense → softmax. One graph per test: every call seeds new weights.
 */
function mixedGraph(): Graph {
  return {
    name: "fused_activation",
    nodes: [
      input("image", SHAPE.slice(1)),
      conv("conv1", "image", 3, 4, 8), batchNorm("bn1", "conv1", 8), plain("relu", "relu1", "bn1"),
      conv("conv2", "relu1", 3, 8, 8, { useBias: true }), batchNorm("bn2", "conv2", 8), plain("relu6", "relu6_2", "bn2"),
      depthwise("dw", "relu6_2", 3, 8), batchNorm("bn5", "dw", 8), plain("relu6", "relu6_5", "bn5"),
      conv("conv3", "relu6_5", 3, 8, 8), batchNorm("bn3", "conv3", 8), plain("relu", "relu3", "bn3"), add("sum", "relu3", "bn3"),
      batchNorm("bn4", "sum", 8), plain("globalAvgPool", "gap", "bn4"), dense("fc", "gap", 8, 5), plain("softmax", "probs", "fc"),
    ],
    outputs: ["probs"],
  };
}

const fusedActivationOf = (model: tfl.LayersModel, name: string): string | undefined =>
  (model.getLayer(name) as PocketflowBatchNormalization).fusedActivation;

/** Scales x so that the batch norms see values on both sides of 0 and past 6. */
const image = (): tf.Tensor4D => tf.tensor4d(seededValues(SHAPE.reduce((p, d) => p * d, 1), 21).map((v) => 4 * v), SHAPE as [number, number, number, number]);

/** Training-mode logits and the gradients of a weighted sum of them with respect to the image and every trainable weight. */
function trainingStep(model: tfl.LayersModel): tf.Tensor[] {
  const x = tf.variable(image());
  const weights = tf.tensor2d(seededValues(SHAPE[0] * 5, 3), [SHAPE[0], 5]);
  let y: tf.Tensor | undefined;
  const trainable = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const { grads } = tf.variableGrads(() => {
    y = tf.keep(model.apply(x, { training: true }) as tf.Tensor);
    return tf.sum(tf.mul(y, weights));
  }, [x, ...trainable]);
  return [y as tf.Tensor, grads[x.name], ...trainable.map((v) => grads[v.name])];
}

async function kernelsOf(run: () => tf.Tensor | tf.Tensor[]): Promise<Set<string>> {
  const info = await tf.profile(() => run());
  return new Set(info.kernels.map((k) => k.name));
}

describe("a batch norm fuses the relu or relu6 that alone reads it", () => {
  it("buildTfjsModel fuses bn1 (relu) and bn2 (relu6), not bn3 (two readers) nor bn4 (no activation), nor with fusedBatchNorm false", async () => {
    await tf.setBackend(OURS);
    const graph = mixedGraph();
    const model = buildTfjsModel(graph);
    expect(["bn1", "bn2", "bn5", "bn3", "bn4"].map((name) => fusedActivationOf(model, name))).toEqual(["relu", "relu6", "relu6", undefined, undefined]);
    const folds = (name: string): unknown => (model.getLayer(name) as PocketflowConv2D).foldedBatchNorm;
    expect(["conv1", "conv2", "dw", "conv3"].map(folds)).toEqual(["bn1", "bn2", "bn5", "bn3"].map((name) => model.getLayer(name)));
    expect(model.getLayer("dw")).toBeInstanceOf(PocketflowDepthwiseConv2D);
    const standard = buildTfjsModel(graph, { fusedBatchNorm: false });
    expect(standard.getLayer("bn1")).not.toBeInstanceOf(PocketflowBatchNormalization);
    tf.dispose([model, standard].flatMap((m) => m.weights.map((w) => w.read())));
  });

  it("training mode: logits and every gradient as tfjs cpu's, with no separate Relu or Relu6 kernel for the fused pairs", async () => {
    const graph = mixedGraph();
    const expected = await runOn("cpu", () => trainingStep(buildTfjsModel(graph, { fusedBatchNorm: false, batchNormMomentum: 0.9 })));
    const model = buildTfjsModel(graph, { batchNormMomentum: 0.9 });
    await tf.setBackend(OURS);
    const actual = await runOn(OURS, () => trainingStep(model));
    expect(actual.length).toBe(expected.length);
    // A conv's bias before a batch norm has no gradient in exact arithmetic (the norm takes the
    // mean out): what is computed is rounding at the scale of the other gradients, 0.1% of the largest.
    const termScale = floorOf(expected, 1e-3);
    actual.forEach((a, i) => expect(maxRelativeError(a, expected[i], Math.max(termScale, floorOf(expected[i]))), `output ${i}`).toBeLessThanOrEqual(TOLERANCE));
    const kernels = await kernelsOf(() => trainingStep(model));
    // relu3 still runs (bn3 has two readers); both relu6 are fused away entirely, and nothing is folded in training
    expect(kernels.has("Relu6")).toBe(false);
    expect(kernels.has("FusedBatchNorm")).toBe(false);
    expect(kernels.has("PocketflowBatchNormTraining")).toBe(true);
    const reluCalls = (await tf.profile(() => trainingStep(model))).kernels.filter((k) => k.name === "Relu").length;
    expect(reluCalls).toBe(1);
  });

  it("inference: tfjs cpu's predictions, the batch norms folded into the convolutions, only bn4 and relu3 run on their own", async () => {
    const graph = mixedGraph();
    const expected = await runOn("cpu", () => buildTfjsModel(graph, { fusedBatchNorm: false }).predict(image()) as tf.Tensor);
    const model = buildTfjsModel(graph);
    const actual = await runOn(OURS, () => model.predict(image()) as tf.Tensor);
    expect(maxRelativeError(actual[0], expected[0])).toBeLessThanOrEqual(TOLERANCE);
    const info = await tf.profile(() => model.predict(image()) as tf.Tensor);
    const names = info.kernels.map((k) => k.name);
    const calls = (name: string): number => names.filter((n) => n === name).length;
    expect([calls("FusedBatchNorm"), calls("Relu"), calls("Relu6"), calls("PocketflowBatchNormActivation")]).toEqual([1, 1, 0, 0]);
    expect([calls("FusedConv2D"), calls("FusedDepthwiseConv2D")]).toEqual([3, 1]);
  });

  it("inference refolds after the weights change (setWeights, and a training step's moving statistics)", async () => {
    const graph = mixedGraph();
    const model = buildTfjsModel(graph, { batchNormMomentum: 0.5 });
    await runOn(OURS, () => model.predict(image()) as tf.Tensor);
    const scaled = tf.tidy(() => model.getWeights().map((w) => tf.keep(tf.mul(w, 1.5))));
    model.setWeights(scaled);
    await runOn(OURS, () => trainingStep(model));
    const actual = await runOn(OURS, () => model.predict(image()) as tf.Tensor);
    const weights = await runOn(OURS, () => model.getWeights().map((w) => tf.clone(w)));
    const shapes = model.getWeights().map((w) => w.shape);
    const expected = await runOn("cpu", () => {
      const reference = buildTfjsModel(graph, { fusedBatchNorm: false });
      reference.setWeights(weights.map((values, i) => tf.tensor(values, shapes[i])));
      return reference.predict(image()) as tf.Tensor;
    });
    expect(maxRelativeError(actual[0], expected[0])).toBeLessThanOrEqual(TOLERANCE);
    tf.dispose(scaled);
  });

  it("inference under a gradient tape takes the standard layers: the input gradient is tfjs cpu's", async () => {
    const graph = mixedGraph();
    const inputGradient = (model: tfl.LayersModel) => (): tf.Tensor => tf.grad((x: tf.Tensor) => tf.sum(tf.square(model.apply(x, { training: false }) as tf.Tensor)))(image());
    const expected = await runOn("cpu", inputGradient(buildTfjsModel(graph, { fusedBatchNorm: false })));
    const model = buildTfjsModel(graph);
    const actual = await runOn(OURS, inputGradient(model));
    expect(maxRelativeError(actual[0], expected[0])).toBeLessThanOrEqual(TOLERANCE);
    expect(actual[0].some((v) => v !== 0)).toBe(true);
  });

  it("saves exactly what the unfused model saves: standard BatchNormalization and ReLU layers", async () => {
    await tf.setBackend(OURS);
    const graph = mixedGraph();
    const topology = async (model: tfl.LayersModel): Promise<string> => {
      let artifacts: tf.io.ModelArtifacts | undefined;
      await model.save(tf.io.withSaveHandler(async (a) => {
        artifacts = a;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } };
      }));
      return JSON.stringify(artifacts?.modelTopology);
    };
    expect(await topology(buildTfjsModel(graph))).toBe(await topology(buildTfjsModel(graph, { fusedBatchNorm: false })));
  });
});
