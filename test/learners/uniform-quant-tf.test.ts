// UniformQuantTFLearner: 8-bit quantization-aware training ending in an integer model. Refusals
// and option errors come before any work; the result keeps the integer-model contract on the zoo
// nets; post-training quantization moves the folded weights only onto their grid; the ranges
// follow the EMA and contain the calibration activations' bulk; the quantization delay leaves
// activations float; a pruned model's zeros survive; evaluateQuantized really applies the ranges.
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { registerPocketflowBackend } from "../../src/backend/register.js";
import { batches, computeNormalization } from "../../src/data/batches.js";
import { syntheticDataset } from "../../src/data/synthetic.js";
import { uncompressed, weightOf, withQuantization, type CompressedModel } from "../../src/graph/compressed-model.js";
import { foldBatchNorms } from "../../src/graph/fold-batch-norm.js";
import type { Graph, GraphNode } from "../../src/graph/ir.js";
import { checkInt8Model, isWeightedNode, kernelNameOf, outputChannelGrouping, uint8Params } from "../../src/deploy/int8-model.js";
import { quantParamsFromRange } from "../../src/kernels/quant-params.js";
import { fakeQuantize, minMax } from "../../src/kernels/quantize.js";
import { compress } from "../../src/learners/compress.js";
import { FullPrecLearner } from "../../src/learners/full-prec.js";
import { lastRecord, LearnerOptionError, LearnerRefusedError } from "../../src/learners/learner.js";
import { activationRoles, quantizationPart, UniformQuantTFLearner } from "../../src/learners/uniform-quant-tf.js";
import { WeightSparseLearner } from "../../src/learners/weight-sparse.js";
import { createNet } from "../../src/nets/zoo.js";
import { buildTfjsModel } from "../../src/tfjs/tfjs-from-graph.js";
import { RangeTracker } from "../../src/train/activation-ranges.js";
import { modelForward } from "../../src/train/evaluate.js";
import { evaluateGraph } from "../../src/train/evaluate-graph.js";
import { evaluateQuantized, quantizedForward } from "../../src/train/evaluate-quantized.js";
import { asymmetricGrid, fakeQuantizeOnGrid, perChannelSymmetricFakeQuant, roundHalfEven } from "../../src/train/fake-quant.js";
import { composeTraining } from "../../src/train/training-parts.js";
import { randomizeBatchNorms } from "../graph/shrink-helpers.js";

const data = syntheticDataset({ imageShape: [16, 16, 1], numClasses: 4, trainCount: 256, testCount: 128, seed: 4 });
const normalization = computeNormalization(data.train);
const learnerData = { train: data.train, validation: data.test, normalization };
const ptq = { postTraining: true, batchSize: 32, calibrationBatches: 2 };
const learner = new UniformQuantTFLearner();

let trainedLenet: CompressedModel;

beforeAll(async () => {
  await tf.setBackend(registerPocketflowBackend());
  const graph = createNet("lenet", { inputShape: [16, 16, 1], classes: 4, seed: 1 });
  trainedLenet = await new FullPrecLearner().compress(uncompressed(graph), learnerData, { epochs: 3, batchSize: 16, seed: 2 });
}, 60_000);

/** A resnet20 with batch norms that differ from the identity, so folding matters. */
const resnet = (): CompressedModel => uncompressed(randomizeBatchNorms(createNet("resnet20", { inputShape: [16, 16, 1], classes: 4, seed: 3 }), 7));

describe("UniformQuantTFLearner refuses before any work", () => {
  it("an already-quantized model, naming the node", async () => {
    const model = withQuantization(trainedLenet, { conv1: { activation: { bits: 8, min: 0, max: 1, symmetric: false } } });
    await expect(learner.compress(model, learnerData, ptq)).rejects.toThrow(LearnerRefusedError);
    await expect(learner.compress(model, learnerData, ptq)).rejects.toThrow(/'conv1'/);
  });

  it("a batch norm that cannot fold, an op without an integer kernel, a softmax inside the model", async () => {
    const graph = createNet("resnet20", { inputShape: [16, 16, 1], classes: 4, seed: 3 });
    const input = graph.nodes[0];
    const bn = graph.nodes.find((node) => node.op === "batchNorm") as GraphNode;
    const preActivation: Graph = { ...graph, nodes: [input, { ...structuredClone(bn), id: "bn_on_input", inputs: [input.id] }, ...graph.nodes.slice(1).map((node) => (node.inputs.includes(input.id) ? { ...node, inputs: ["bn_on_input"] } : node))] };
    await expect(learner.compress(uncompressed(preActivation), learnerData, ptq)).rejects.toThrow(/batch norm 'bn_on_input'.*cannot fold/);
    const sigmoid = structuredClone(trainedLenet.graph);
    (sigmoid.nodes.find((node) => node.op === "relu") as { op: string }).op = "sigmoid";
    await expect(learner.compress(uncompressed(sigmoid), learnerData, ptq)).rejects.toThrow(/sigmoid '.*' has no integer kernel/);
    const inner = structuredClone(trainedLenet.graph);
    (inner.nodes.find((node) => node.op === "relu") as { op: string }).op = "softmax";
    await expect(learner.compress(uncompressed(inner), learnerData, ptq)).rejects.toThrow(/softmax '.*' is not a model output/);
  });

  it("options out of range, and a training run with no epochs, naming the option", async () => {
    await expect(learner.compress(trainedLenet, learnerData, { ...ptq, emaDecay: 1 })).rejects.toThrow(LearnerOptionError);
    await expect(learner.compress(trainedLenet, learnerData, { ...ptq, quantDelay: -1 })).rejects.toThrow(/quantDelay must be an integer >= 0/);
    await expect(learner.compress(trainedLenet, learnerData, { batchSize: 32 } as never)).rejects.toThrow(/epochs must be an integer >= 1 \(or pass postTraining/);
  });
});

describe("the integer model", () => {
  it("keeps the contract on lenet, resnet20 and mobilenet-v2 (post-training)", async () => {
    const mobilenet = uncompressed(randomizeBatchNorms(createNet("mobilenet-v2", { inputShape: [16, 16, 1], classes: 4, widthMultiplier: 0.35, seed: 5 }), 9));
    for (const model of [trainedLenet, resnet(), mobilenet]) {
      const quantized = await learner.compress(model, learnerData, ptq);
      expect(() => checkInt8Model(quantized)).not.toThrow();
      expect(quantized.graph.nodes.some((node) => node.op === "batchNorm")).toBe(false);
      expect(lastRecord(quantized)).toMatchObject({ learner: "uniform-tf", steps: 0 });
    }
  }, 60_000);

  it("post-training quantization moves no folded weight but onto its per-channel int8 grid", async () => {
    const model = resnet();
    const quantized = await learner.compress(model, learnerData, ptq);
    const folded = foldBatchNorms(model.graph);
    for (const node of folded.nodes) {
      const after = quantized.graph.nodes.find((candidate) => candidate.id === node.id) as GraphNode;
      if (!isWeightedNode(node) || !isWeightedNode(after)) continue;
      const name = kernelNameOf(node);
      const { values } = weightOf(folded, node.id, name);
      const grouping = outputChannelGrouping(node);
      const { min, max } = minMax(values, grouping);
      const snapped = fakeQuantize(values, quantParamsFromRange(min, max, { bits: 8, symmetric: true }, grouping));
      expect(weightOf(quantized.graph, node.id, name).values).toEqual(snapped);
      expect(weightOf(quantized.graph, node.id, "bias").values).toEqual(weightOf(folded, node.id, "bias").values);
    }
  }, 30_000);
});

/** The first `count` training images, normalized, as a tensor. */
function trainImages(count: number): tf.Tensor4D {
  const batch = batches(data.train, { batchSize: count, normalization }).next().value as { images: Float32Array; size: number };
  return tf.tensor4d(batch.images, [batch.size, 16, 16, 1]);
}

/** The float activations of the nodes on these images, by node id (the logits are the model's first output). */
function floatActivations(graph: Graph, ids: string[], images: tf.Tensor4D): Map<string, Float32Array> {
  const softmax = graph.nodes.find((node) => node.op === "softmax" && graph.outputs.includes(node.id)) as GraphNode;
  const extra = ids.filter((id) => id !== softmax.inputs[0]);
  const model = buildTfjsModel(graph, { withoutSoftmax: true, extraOutputs: extra });
  try {
    const outputs = model.predict(images) as tf.Tensor[];
    const values = new Map(extra.map((id, i) => [id, outputs[i + 1].dataSync() as Float32Array]));
    values.set(softmax.inputs[0], outputs[0].dataSync() as Float32Array);
    tf.dispose(outputs);
    return values;
  } finally {
    model.dispose();
  }
}

describe("activation ranges", () => {
  it("RangeTracker: the first batch sets the range, then an EMA of decay d (training) or the mean of the batch extremes (calibration)", () => {
    const ema = new RangeTracker(0.5);
    const mean = new RangeTracker(0.5);
    for (const [low, high] of [[-1, 1], [-3, 5], [-2, 8]]) {
      tf.tidy(() => { const x = tf.tensor1d([low, 0.5, high]); ema.observe(x, "ema"); mean.observe(x, "mean"); });
    }
    expect(ema.range()).toEqual({ min: -2, max: 5.5 }); // (-1, 1) → (-2, 3) → (-2, 5.5)
    expect(mean.range().min).toBe(-2);
    expect(mean.range().max).toBeCloseTo(14 / 3, 6);
    expect(ema.batches).toBe(3);
    ema.dispose();
    mean.dispose();
  });

  it("calibrated ranges hold the bulk of the float activations (>= 99% of each tensor), relu ranges start at 0, and range-preserving ops copy their input's", async () => {
    const quantized = await learner.compress(trainedLenet, learnerData, { ...ptq, calibrationBatches: 4 });
    const roles = activationRoles(quantized.graph);
    const ids = [...roles].filter(([id, role]) => role === "quantize" && quantized.graph.nodes.find((node) => node.id === id)?.op !== "input").map(([id]) => id);
    const activations = floatActivations(trainedLenet.graph, ids, trainImages(128));
    for (const id of ids) {
      const { min, max } = quantized.quantization[id].activation as { min: number; max: number };
      const values = activations.get(id) as Float32Array;
      const inside = values.filter((v) => v >= min && v <= max).length / values.length;
      expect(inside, id).toBeGreaterThanOrEqual(0.99);
      if (quantized.graph.nodes.find((node) => node.id === id)?.op === "relu") expect(min, id).toBe(0);
    }
    for (const node of quantized.graph.nodes) {
      if (roles.get(node.id) === "inherit") expect(quantized.quantization[node.id].activation).toEqual(quantized.quantization[node.inputs[0]].activation);
    }
  }, 30_000);

  it("a quantDelay longer than the run leaves the training forward the weight-only fake-quant one; without delay activations are quantized", () => {
    const graph = trainedLenet.graph;
    const weightOnly = composeTraining(graph, [{
      name: "weights only",
      overrides: Object.fromEntries(graph.nodes.filter(isWeightedNode).map((node) => [node.id, { weightTransforms: { [kernelNameOf(node)]: perChannelSymmetricFakeQuant(outputChannelGrouping(node).groups, 8) } }])),
    }]);
    const images = trainImages(32);
    const reference = weightOnly.trainOptions.forward(images, true).dataSync();
    const logitsWith = (quantDelay: number) => {
      const part = quantizationPart(graph, { quantDelay });
      const composed = composeTraining(graph, [part]);
      part.phase = "train";
      try {
        const logits = part.quantizeInput(composed.trainOptions.forward)(images, true).dataSync();
        expect(part.trackers.get("conv1")?.batches).toBe(1); // ranges tracked even while delayed
        return logits;
      } finally {
        composed.dispose();
      }
    };
    expect(logitsWith(1000)).toEqual(reference);
    expect(logitsWith(0)).not.toEqual(reference);
    weightOnly.dispose();
  });
});

describe("quantization-aware training", () => {
  it("fine-tunes through the quantizers (Adam by default), the EMA moving the calibrated ranges, and keeps the accuracy and the contract", async () => {
    const options = { epochs: 1, batchSize: 16, mode: "fast" as const, fastSteps: 12, calibrationBatches: 2, seed: 3 };
    const calibrated = await learner.compress(trainedLenet, learnerData, { ...options, postTraining: true, batchSize: 16 });
    const trained = await learner.compress(trainedLenet, learnerData, options);
    expect(() => checkInt8Model(trained)).not.toThrow();
    const record = lastRecord(trained) as unknown as Record<string, unknown>;
    expect(record).toMatchObject({ learner: "uniform-tf", mode: "fast", steps: 12, activationQuantizedSteps: 12, options: { optimizer: { kind: "adam" } } });
    expect(trained.quantization.conv1.activation).not.toEqual(calibrated.quantization.conv1.activation);
    const float = evaluateGraph(trainedLenet.graph, data.test, { normalization }).accuracy;
    expect(evaluateQuantized(trained, data.test, { normalization }).accuracy).toBeGreaterThan(float - 0.05);
    expect(record.validationAccuracy).toBeCloseTo(evaluateQuantized(trained, data.test, { normalization }).accuracy, 10);
  }, 60_000);

  it("keeps a pruned model's zeros and masks through a chain weight-sparse → uniform-tf", async () => {
    const pruned = await new WeightSparseLearner().compress(trainedLenet, learnerData, { epochs: 1, batchSize: 16, mode: "fast", fastSteps: 8, sparsity: 0.5 });
    const quantized = await learner.compress(pruned, learnerData, { epochs: 1, batchSize: 16, mode: "fast", fastSteps: 8, calibrationBatches: 2 });
    expect(quantized.masks).toEqual(pruned.masks);
    for (const [id, byWeight] of Object.entries(pruned.masks)) {
      for (const [name, mask] of Object.entries(byWeight)) {
        const { values } = weightOf(quantized.graph, id, name);
        expect(values.filter((_, i) => mask.kept[i] === 0 && values[i] !== 0)).toHaveLength(0);
      }
    }
    expect(() => checkInt8Model(quantized)).not.toThrow();
    expect(quantized.history.map((entry) => entry.step)).toEqual([...pruned.history.map((entry) => entry.step), "quantize"]);
  }, 60_000);
});

describe("evaluateQuantized", () => {
  it("simulated int8 predictions differ from the float ones but agree on top-1 for most examples; absurdly narrow ranges lose the accuracy", async () => {
    const quantized = await learner.compress(trainedLenet, learnerData, ptq);
    const images = trainImages(128);
    const floatModel = buildTfjsModel(trainedLenet.graph, { withoutSoftmax: true });
    const simulated = quantizedForward(quantized);
    const floatLogits = modelForward(floatModel)(images, false);
    const intLogits = simulated.forward(images, false);
    expect(intLogits.dataSync()).not.toEqual(floatLogits.dataSync());
    const agree = tf.mean(tf.cast(tf.equal(tf.argMax(floatLogits, 1), tf.argMax(intLogits, 1)), "float32")).dataSync()[0];
    expect(agree).toBeGreaterThanOrEqual(0.95);
    tf.dispose([floatLogits, intLogits, images]);
    floatModel.dispose();
    simulated.dispose();
    const narrow = structuredClone(quantized);
    for (const entry of Object.values(narrow.quantization)) if (entry.activation !== undefined) entry.activation = { ...entry.activation, min: 0, max: 1e-3 };
    const accuracy = evaluateQuantized(quantized, data.test, { normalization }).accuracy;
    expect(accuracy).toBeGreaterThan(0.85);
    expect(evaluateQuantized(narrow, data.test, { normalization }).accuracy).toBeLessThan(0.5);
  }, 30_000);
});

describe("chains", () => {
  it("channel (half the MACs) → uniform-tf gives an integer model of the shrunk graph", async () => {
    const result = await compress(trainedLenet, {
      learners: [
        { learner: "channel", options: { preserveRatio: 0.5, channelMultiple: 1, samples: 64, finetune: "none" } },
        { learner: "uniform-tf", options: ptq },
      ],
      data: learnerData, test: data.test, latency: false,
    });
    expect(result.after.macs).toBeLessThan(0.6 * result.before.macs);
    expect(() => checkInt8Model(result.model)).not.toThrow();
    expect(result.after.testAccuracy).toBeCloseTo(evaluateQuantized(result.model, data.test, { normalization }).accuracy, 10);
  }, 60_000);
});

describe("fake quantizers in tfjs ops", () => {
  it("weights x=[3,3,4,6]: per-channel symmetric int8 as the core's fakeQuantize computes it, identity gradient", () => {
    const values = Float32Array.from({ length: 3 * 3 * 4 * 6 }, (_, i) => Math.sin(i * 12.9898) * (1 + (i % 6)));
    const grouping = { inner: 1, groups: 6 };
    const { min, max } = minMax(values, grouping);
    const expected = fakeQuantize(values, quantParamsFromRange(min, max, { bits: 8, symmetric: true }, grouping));
    const transform = perChannelSymmetricFakeQuant(6, 8);
    const w = tf.tensor4d(values, [3, 3, 4, 6]);
    const actual = transform(w).dataSync() as Float32Array;
    const differing = actual.filter((v, i) => Math.abs(v - expected[i]) > 1e-6 * Math.abs(expected[i]) + 1e-7).length;
    expect(differing).toBe(0);
    expect(tf.grad((x: tf.Tensor) => tf.sum(transform(x)))(w).dataSync().every((g) => g === 1)).toBe(true);
  });

  it("activations x=[8]: asymmetricGrid is uint8Params' grid, and the gradient passes only inside the range", () => {
    const grid = asymmetricGrid(tf.scalar(-0.7), tf.scalar(2.3), 8);
    const params = uint8Params(-0.7, 2.3);
    expect((grid.scale as tf.Tensor).dataSync()[0]).toBeCloseTo(params.scale, 7);
    expect((grid.zeroPoint as tf.Tensor).dataSync()[0]).toBe(params.zeroPoint);
    const x = tf.tensor1d([-2, -0.65, -0.1, 0, 0.33, 1, 2.25, 5]); // inside the range as nudged to put 0 on the grid
    const y = fakeQuantizeOnGrid(x, grid).dataSync();
    expect(y[3]).toBe(0); // real 0 is exact
    expect(y[0]).toBeCloseTo(-params.zeroPoint * params.scale, 6); // clamped at the range's low end
    const gradient = tf.grad((input: tf.Tensor) => tf.sum(fakeQuantizeOnGrid(input, grid)))(x).dataSync();
    expect(Array.from(gradient)).toEqual([0, 1, 1, 1, 1, 1, 1, 0]);
  });
});

describe("roundHalfEven", () => {
  it("x=[14]: rounds as tf.round (half to even), negatives and grid-sized values included", () => {
    const x = tf.tensor1d([-2.5, -1.5, -0.5, -0.49, 0.5, 1.5, 2.5, 3.4999, 126.5, 127.5, -127.5, 254.5, 1e6 + 0.5, 0]);
    const plusZero = (t: tf.Tensor) => Array.from(t.dataSync(), (v) => v + 0); // -0 and 0 alike
    expect(plusZero(roundHalfEven(x))).toEqual(plusZero(tf.round(x)));
  });
});
