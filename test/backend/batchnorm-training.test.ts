// Batch norm in training mode through the fused kernels (PocketflowBatchNormTraining and its
// gradient) against tfjs's own path on the cpu backend: the op against tf.moments + tf.batchNorm,
// the layer against tfjs-layers' BatchNormalization (output, moving statistics, gradients with
// respect to x, gamma and beta), a model's loss curve, and the layer's serialized form.
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { describe, expect, it } from "vitest";
import { PocketflowBatchNormalization, pocketflowBatchNormalization } from "../../src/tfjs/batch-norm-layer.js";
import { fusedBatchNormTraining } from "../../src/backend/batch-norm-training.js";
import { graphFromTfjs } from "../../src/tfjs/graph-from-tfjs.js";
import { buildTfjsModel } from "../../src/tfjs/tfjs-from-graph.js";
import type { Graph } from "../../src/graph/ir.js";
import { batchNorm, conv, dense, input, plain } from "../graph/test-graphs.js";
import { floorOf, maxRelativeError, OURS, runOn, seededValues } from "./compare.js";

const TOLERANCE = 1e-4;
const EPSILON = 1e-3;
const SHAPES: number[][] = [[2, 5, 3, 7], [4, 6, 6, 16], [3, 17], [1, 1, 1, 3], [2, 3, 3, 6]];

const count = (shape: number[]): number => shape.reduce((p, d) => p * d, 1);
const channelsOf = (shape: number[]): number => shape[shape.length - 1];
const label = (shape: number[]): string => `x=[${shape.join(",")}]`;

/**
 * Each output against a floor at the scale of all of them: with one value per channel (x=[1,1,1,3])
 * dx and dgamma are zero in exact arithmetic, and what is computed is rounding of that scale.
 */
function expectClose(actual: Float32Array[], expected: Float32Array[], names: string[]): void {
  const floor = floorOf(expected);
  names.forEach((name, i) => expect(maxRelativeError(actual[i], expected[i], floor), name).toBeLessThanOrEqual(TOLERANCE));
}

/** Seeded x (offset so the mean is not 0), gamma around 1, beta, and loss weights for a shape. */
function inputs(shape: number[], seed: number): { x: tf.Tensor; gamma: tf.Tensor1D; beta: tf.Tensor1D; weights: tf.Tensor } {
  const c = channelsOf(shape);
  return {
    x: tf.tensor(seededValues(count(shape), seed).map((v) => 2 * v + 0.5), shape),
    gamma: tf.tensor1d(seededValues(c, seed + 1).map((v) => 1 + 0.5 * v)),
    beta: tf.tensor1d(seededValues(c, seed + 2)),
    weights: tf.tensor(seededValues(count(shape), seed + 3), shape),
  };
}

/** y, mean, variance and the gradients of sum(y·weights) with respect to x, gamma and beta. */
function forwardAndGradients(shape: number[], seed: number, fused: boolean): tf.Tensor[] {
  const { x, gamma, beta, weights } = inputs(shape, seed);
  const axes = shape.slice(0, -1).map((_, i) => i);
  const normalize = (xs: tf.Tensor, g: tf.Tensor, b: tf.Tensor): tf.Tensor[] => {
    if (fused) {
      const { y, mean, variance } = fusedBatchNormTraining(xs, { gamma: g, beta: b, varianceEpsilon: EPSILON });
      return [y, mean, variance];
    }
    const { mean, variance } = tf.moments(xs, axes);
    return [tf.batchNorm(xs, mean, variance, b as tf.Tensor1D, g as tf.Tensor1D, EPSILON), mean, variance];
  };
  const grads = tf.grads((xs: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(normalize(xs, g, b)[0], weights)))([x, gamma, beta]);
  return [...normalize(x, gamma, beta), ...grads];
}

describe("fusedBatchNormTraining (fused op) matches tf.moments + tf.batchNorm on cpu", () => {
  for (const [i, shape] of SHAPES.entries()) {
    it(`${label(shape)}: y, mean, variance, dx, dgamma, dbeta`, async () => {
      const expected = await runOn("cpu", () => forwardAndGradients(shape, 10 * i + 1, false));
      const actual = await runOn(OURS, () => forwardAndGradients(shape, 10 * i + 1, true));
      expectClose(actual, expected, ["y", "mean", "variance", "dx", "dgamma", "dbeta"]);
    });
  }

  it("names the backend it needs on another one", async () => {
    await tf.setBackend("cpu");
    expect(() => tf.tidy(() => {
      fusedBatchNormTraining(tf.ones([2, 3]), { varianceEpsilon: EPSILON });
    })).toThrow(/runs on the 'pocketflow' backend only, but the active backend is 'cpu'/);
  });
});

type Layer = tfl.layers.Layer;

/** Frees a layer called on tensors only (Layer.dispose wants a layer used in a model). */
const disposeWeights = (layer: Layer): void => layer.weights.forEach((w) => w.dispose());

/**
 * One training-mode call of a batch-norm layer under variableGrads: y, the moving mean and
 * variance afterwards, and the gradients of sum(y·weights) with respect to x and the layer's
 * trainable weights (gamma, beta when it has them).
 */
function layerStep(make: () => Layer, shape: number[], seed: number, weights: (gamma: tf.Tensor, beta: tf.Tensor) => tf.Tensor[]): tf.Tensor[] {
  const { x, gamma, beta, weights: lossWeights } = inputs(shape, seed);
  const c = channelsOf(shape);
  const layer = make();
  layer.build(shape);
  const moving = [tf.tensor1d(seededValues(c, seed + 4).map((v) => 0.2 * v)), tf.tensor1d(seededValues(c, seed + 5).map((v) => 1 + 0.5 * v))];
  layer.setWeights([...weights(gamma, beta), ...moving]);
  const xv = tf.variable(x);
  let y: tf.Tensor | undefined;
  const trainable = layer.trainableWeights.map((w) => w.read() as tf.Variable);
  const { grads } = tf.variableGrads(() => {
    y = tf.keep(layer.apply(xv, { training: true }) as tf.Tensor);
    return tf.sum(tf.mul(y, lossWeights));
  }, [xv, ...trainable]);
  const after = layer.getWeights().slice(-2);
  const out = [y as tf.Tensor, ...after.map((t) => t.clone()), grads[xv.name], ...trainable.map((v) => grads[v.name])];
  disposeWeights(layer);
  xv.dispose();
  return out;
}

const MOMENTUM = 0.9;
const bnArgs = { axis: -1, epsilon: EPSILON, momentum: MOMENTUM };

describe("PocketflowBatchNormalization in training mode matches tfjs-layers' BatchNormalization on cpu", () => {
  for (const [i, shape] of SHAPES.entries()) {
    it(`${label(shape)}: y, moving mean and variance after the step, dx, dgamma, dbeta`, async () => {
      const both = (g: tf.Tensor, b: tf.Tensor): tf.Tensor[] => [g, b];
      const expected = await runOn("cpu", () => layerStep(() => tfl.layers.batchNormalization(bnArgs), shape, 7 * i + 3, both));
      const actual = await runOn(OURS, () => layerStep(() => pocketflowBatchNormalization(bnArgs), shape, 7 * i + 3, both));
      expect(actual.length).toBe(6);
      expectClose(actual, expected, ["y", "moving mean", "moving variance", "dx", "dgamma", "dbeta"]);
    });
  }

  // tfjs-layers' own training path reads gamma and beta unconditionally, so it cannot run
  // without them; the standard layer with gamma = 1 and beta = 0 is the same computation.
  for (const [scale, center] of [[false, false], [false, true], [true, false]]) {
    it(`scale=${scale} center=${center}: as the standard layer with gamma 1 / beta 0`, async () => {
      const shape = [2, 4, 4, 5];
      const expectedAll = await runOn("cpu", () => layerStep(() => tfl.layers.batchNormalization(bnArgs), shape, 50, (g, b) => [
        scale ? g : tf.onesLike(g), center ? b : tf.zerosLike(b),
      ]));
      const actual = await runOn(OURS, () => layerStep(() => pocketflowBatchNormalization({ ...bnArgs, scale, center }), shape, 50, (g, b) => [
        ...(scale ? [g] : []), ...(center ? [b] : []),
      ]));
      const kept = [true, true, true, true, scale, center];
      const expected = expectedAll.filter((_, k) => kept[k]);
      expectClose(actual, expected, ["y", "moving mean", "moving variance", "dx", ...(scale ? ["dgamma"] : []), ...(center ? ["dbeta"] : [])]);
    });
  }

  it("inference mode and other backends take the standard path", async () => {
    const shape = [2, 3, 3, 4];
    const infer = (make: () => Layer) => (): tf.Tensor => {
      const layer = make();
      layer.build(shape);
      const out = layer.apply(inputs(shape, 9).x, { training: false }) as tf.Tensor;
      disposeWeights(layer);
      return out;
    };
    const expected = await runOn("cpu", infer(() => tfl.layers.batchNormalization(bnArgs)));
    expectClose(await runOn(OURS, infer(() => pocketflowBatchNormalization(bnArgs))), expected, ["inference y"]);
    const onCpu = await runOn("cpu", () => layerStep(() => pocketflowBatchNormalization(bnArgs), shape, 9, (g, b) => [g, b]));
    const standard = await runOn("cpu", () => layerStep(() => tfl.layers.batchNormalization(bnArgs), shape, 9, (g, b) => [g, b]));
    onCpu.forEach((t, k) => expect(t).toEqual(standard[k]));
  });
});

/** image 8×8×3 → conv 3×3 ·6 → bn → relu → conv 3×3 stride 2 ·5 → bn → relu → gap → dense 4 → softmax. */
function convBnReluGraph(): Graph {
  return {
    name: "conv_bn_relu",
    nodes: [
      input("image", [8, 8, 3]), conv("conv1", "image", 3, 3, 6), batchNorm("bn1", "conv1", 6), plain("relu", "relu1", "bn1"),
      conv("conv2", "relu1", 3, 6, 5, { strides: 2 }), batchNorm("bn2", "conv2", 5), plain("relu", "relu2", "bn2"),
      plain("globalAvgPool", "gap", "relu2"), dense("fc", "gap", 5, 4), plain("softmax", "probs", "fc"),
    ],
    outputs: ["probs"],
  };
}

const BATCH = 6;
const STEPS = 20;

/** Runs `steps` SGD steps on a fresh model of the graph; returns the losses and the kernels of the last step. */
async function train(graph: Graph, backend: string, fusedBatchNorm: boolean, steps: number): Promise<{ losses: number[]; kernels: Set<string> }> {
  await tf.setBackend(backend);
  const model = buildTfjsModel(graph, { batchNormMomentum: MOMENTUM, fusedBatchNorm });
  model.compile({ optimizer: tf.train.sgd(0.5), loss: "categoricalCrossentropy" });
  const x = tf.tensor4d(seededValues(BATCH * 8 * 8 * 3, 77), [BATCH, 8, 8, 3]);
  const y = tf.tidy(() => tf.oneHot(tf.tensor1d(Array.from({ length: BATCH }, (_, i) => i % 4), "int32"), 4));
  const losses: number[] = [];
  for (let step = 1; step < steps; step++) losses.push(Number(await model.trainOnBatch(x, y)));
  const info = await tf.profile(async () => {
    losses.push(Number(await model.trainOnBatch(x, y)));
    return 0;
  });
  tf.dispose([x, y]);
  model.dispose();
  return { losses, kernels: new Set(info.kernels.map((k) => k.name)) };
}

const lossCurve = async (graph: Graph, backend: string, fusedBatchNorm: boolean): Promise<number[]> => (await train(graph, backend, fusedBatchNorm, STEPS)).losses;

describe("training a conv-bn-relu model", () => {
  it(`x=[${BATCH},8,8,3], ${STEPS} SGD steps: the fused path gives the loss curve of the standard path (ours and cpu) within 1e-3`, async () => {
    const graph = convBnReluGraph();
    const cpu = await lossCurve(graph, "cpu", false);
    const standard = await lossCurve(graph, OURS, false);
    const fused = await lossCurve(graph, OURS, true);
    expect(cpu[STEPS - 1], "the run must learn for the comparison to say much").toBeLessThan(0.8 * cpu[0]);
    const worst = (curve: number[]): number => Math.max(...curve.map((loss, i) => Math.abs(loss - cpu[i]) / Math.abs(cpu[i])));
    const curves = `cpu ${cpu.map((v) => v.toFixed(5)).join(" ")}; fused ${fused.map((v) => v.toFixed(5)).join(" ")}`;
    expect(worst(fused), curves).toBeLessThanOrEqual(1e-3);
    expect(worst(standard)).toBeLessThanOrEqual(1e-3);
  });

  it("a step runs the fused kernels forward and backward on ours, tfjs's batch norm otherwise", async () => {
    const graph = convBnReluGraph();
    const fused = (await train(graph, OURS, true, 1)).kernels;
    expect(fused.has("PocketflowBatchNormTraining") && fused.has("PocketflowBatchNormTrainingGrad") && fused.has("PocketflowMovingAverage")).toBe(true);
    expect(fused.has("FusedBatchNorm")).toBe(false);
    for (const [backend, flag] of [[OURS, false], ["cpu", true]] as const) {
      const standard = (await train(graph, backend, flag, 1)).kernels;
      expect(standard.has("FusedBatchNorm") && !standard.has("PocketflowBatchNormTraining"), `${backend} fused=${flag}`).toBe(true);
    }
  });
});

describe("PocketflowMovingAverage", () => {
  it("gives tfjs-layers' moving − (moving − value)·decay of the ops on cpu bit for bit ([16], [37], [64]; momentum 0.9, 0.99, 0.1)", async () => {
    for (const c of [16, 37, 64]) {
      for (const momentum of [0.9, 0.99, 0.1]) {
        const [moving, value] = [seededValues(c, c), seededValues(c, c + 1).map((v) => 3 * v)];
        const decay = 1 - momentum;
        const [expected] = await runOn("cpu", () => tf.sub(tf.tensor1d(moving), tf.mul(tf.sub(tf.tensor1d(moving), tf.tensor1d(value)), decay)));
        const [actual] = await runOn(OURS, () => tf.engine().runKernel("PocketflowMovingAverage", { moving: tf.tensor1d(moving), value: tf.tensor1d(value) }, { decay }) as tf.Tensor);
        expect(Array.from(actual), `[${c}] momentum ${momentum}`).toEqual(Array.from(expected));
      }
    }
  });
});

describe("serialized form", () => {
  it("a model with fused layers saves standard 'BatchNormalization' layers that tf.loadLayersModel and graphFromTfjs read", async () => {
    await tf.setBackend(OURS);
    const graph = convBnReluGraph();
    const model = buildTfjsModel(graph);
    const bn = model.getLayer("bn1");
    expect(bn).toBeInstanceOf(PocketflowBatchNormalization);
    expect(bn.getClassName()).toBe("BatchNormalization");
    let artifacts: tf.io.ModelArtifacts | undefined;
    await model.save(tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } };
    }));
    expect(JSON.stringify(artifacts?.modelTopology)).not.toContain("Pocketflow");
    const loaded = await tfl.loadLayersModel(tf.io.fromMemory(artifacts as tf.io.ModelArtifacts));
    expect(loaded.getLayer("bn1")).not.toBeInstanceOf(PocketflowBatchNormalization);
    expect(loaded.getLayer("bn1").getClassName()).toBe("BatchNormalization");
    expect(graphFromTfjs(loaded)).toEqual(graphFromTfjs(model));
    const x = tf.tensor4d(seededValues(2 * 8 * 8 * 3, 5), [2, 8, 8, 3]);
    // the built model folds its batch norms into the convolutions at inference: the same map, rounded otherwise
    const [fromLoaded, fromBuilt] = [loaded, model].map((m) => (m.predict(x) as tf.Tensor).dataSync() as Float32Array);
    expect(maxRelativeError(fromLoaded, fromBuilt)).toBeLessThanOrEqual(1e-5);
    tf.dispose(x);
    model.dispose();
    loaded.dispose();
  });
});
