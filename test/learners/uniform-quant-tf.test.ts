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
import { uncompressed, weightOf, withMasks, withQuantization, type CompressedModel } from "../../src/graph/compressed-model.js";
import { foldBatchNorms } from "../../src/graph/fold-batch-norm.js";
import type { Graph, GraphNode } from "../../src/graph/ir.js";
import { checkInt8Model, isWeightedNode, kernelNameOf, outputChannelGrouping } from "../../src/deploy/int8-model.js";
import { quantParamsFromRange } from "../../src/kernels/quant-params.js";
import { fakeQuantize, minMax } from "../../src/kernels/quantize.js";
import { FullPrecLearner } from "../../src/learners/full-prec.js";
import { lastRecord, LearnerOptionError, LearnerRefusedError } from "../../src/learners/learner.js";
import { activationRoles, quantizationPart, UniformQuantTFLearner } from "../../src/learners/uniform-quant-tf.js";
import { WeightSparseLearner } from "../../src/learners/weight-sparse.js";
import { createNet } from "../../src/nets/zoo.js";
import { buildTfjsModel } from "../../src/tfjs/tfjs-from-graph.js";
import { RangeTracker } from "../../src/train/activation-ranges.js";
import { evaluate, modelForward } from "../../src/train/evaluate.js";
import { evaluateGraph } from "../../src/train/evaluate-graph.js";
import { evaluateQuantized } from "../../src/train/evaluate-quantized.js";
import { perChannelSymmetricFakeQuant } from "../../src/train/fake-quant.js";
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
