// The int8 ONNX export (QDQ and QOperator) of integer models made in the test (int8-fixture.ts),
// run in onnxruntime-node. The reference is the QDQ graph run with onnxruntime's optimizations
// off: QuantizeLinear/DequantizeLinear as written, that is float fake quantization with the
// model's own parameters. onnxruntime's integer kernels (the optimized QDQ graph and the
// QOperator graph) must agree with it on the logits within a LSB or so of the logits' scale and
// on every top-1 class. (The int8 engine, deploy/engine.ts, has no int8 path yet to compare to.)
// On the shipped trained ResNet-20, top-1 agreement with the float model is reported too.
import * as tf from "@tensorflow/tfjs-core";
import { onnx } from "onnx-proto";
import { beforeAll, describe, expect, it } from "vitest";
import type { Graph } from "../../src/graph/ir.js";
import { activationParams } from "../../src/deploy/int8-model.js";
import { exportOnnx } from "../../src/export/onnx.js";
import { createNet } from "../../src/nets/zoo.js";
import { uncompressed, type CompressedModel } from "../../src/graph/compressed-model.js";
import type { Dataset } from "../../src/data/dataset.js";
import { loadDataset } from "../../src/data/registry.js";
import { loadCompressedModel } from "../../src/io/compressed-model-dir.js";
import { everyOpGraph } from "../graph/test-graphs.js";
import { randomizeBatchNorms } from "../graph/shrink-helpers.js";
import { int8Model, withoutFinalSoftmax } from "./int8-fixture.js";
import { argmaxRows, runOnnx, seededBatch } from "./onnx-run.js";

beforeAll(async () => {
  await tf.setBackend("cpu");
});

interface Agreement {
  /** Largest |difference| of an output from the reference, in units of that output's scale (LSB). */
  maxLsb: number;
  /** Share of rows of the first output whose argmax equals the reference's. */
  top1: number;
}

async function compare(model: CompressedModel, flavor: "qdq" | "qoperator", batch: number, seed: number): Promise<Agreement> {
  const { graph } = model;
  const x = seededBatch(graph, batch, seed);
  const inputName = graph.nodes[0].id;
  const reference = await runOnnx(exportOnnx(model, { flavor: "qdq" }), inputName, x, "disabled");
  const actual = await runOnnx(exportOnnx(model, { flavor }), inputName, x, "all");
  let maxLsb = 0;
  for (const id of graph.outputs) {
    const { scale } = activationParams(model, id);
    actual[id].forEach((v, i) => { maxLsb = Math.max(maxLsb, Math.abs(v - reference[id][i]) / scale); });
  }
  const first = graph.outputs[0];
  const classes = actual[first].length / batch;
  const [a, r] = [argmaxRows(actual[first], classes), argmaxRows(reference[first], classes)];
  return { maxLsb, top1: a.filter((c, i) => c === r[i]).length / batch };
}

function quantized(graph: Graph, seed: number): CompressedModel {
  const logits = withoutFinalSoftmax(graph);
  return int8Model(logits, seededBatch(logits, 8, seed));
}

const MODELS: Array<[string, () => Graph]> = [
  ["every int8 op (pad, folded bn, fused relu, depthwise, relu6, max/avg pool, add, dilation, flatten, dropout, dense, gap)", everyOpGraph],
  ["lenet", () => createNet("lenet", { seed: 2 })],
  ["resnet20 (16×16 input)", () => randomizeBatchNorms(createNet("resnet20", { seed: 3, inputShape: [16, 16, 3] }), 5)],
  ["mobilenet-v2 0.5 (16×16 input)", () => randomizeBatchNorms(createNet("mobilenet-v2", { seed: 4, widthMultiplier: 0.5, inputShape: [16, 16, 3] }), 6)],
];

describe("exportOnnx int8 in onnxruntime vs fake quantization", () => {
  it.each(MODELS)("%s: QDQ and QOperator within 1 LSB of the logits' scale, top-1 identical", async (name, make) => {
    const model = quantized(make(), 1);
    for (const flavor of ["qdq", "qoperator"] as const) {
      const agreement = await compare(model, flavor, 8, 9);
      console.log(`${name} ${flavor}: max ${agreement.maxLsb.toFixed(2)} LSB, top-1 ${agreement.top1}`);
      expect(agreement.maxLsb, flavor).toBeLessThanOrEqual(1 + 1e-3);
      expect(agreement.top1, flavor).toBe(1);
    }
  });

  it("the shipped ResNet-20 quantized on 16 training images: 100 test images, top-1 of QOperator = fake quantization; agreement with the float model reported", async () => {
    const { model: float, extras } = await loadCompressedModel("models/resnet20-fashion-mnist");
    const { mean, std } = (extras.preprocessing as { normalization: { mean: number[]; std: number[] } }).normalization;
    const data = loadDataset("fashion-mnist");
    const images = (d: Dataset, count: number) => ({ shape: [count, 28, 28, 1], values: Float32Array.from(d.images.subarray(0, count * 784), (p) => (p - mean[0]) / std[0]) });
    const logits = withoutFinalSoftmax(float.graph);
    const model = int8Model(logits, images(data.train, 16));
    const x = images(data.test, 100);
    const inputName = logits.nodes[0].id;
    const reference = argmaxRows((await runOnnx(exportOnnx(model, { flavor: "qdq" }), inputName, x, "disabled"))[logits.outputs[0]], 10);
    const integer = argmaxRows((await runOnnx(exportOnnx(model, { flavor: "qoperator" }), inputName, x))[logits.outputs[0]], 10);
    const floatTop1 = argmaxRows((await runOnnx(exportOnnx(uncompressed(logits)), inputName, x))[logits.outputs[0]], 10);
    const labels = Array.from(data.test.labels.subarray(0, 100));
    const share = (a: number[], b: number[]) => a.filter((c, i) => c === b[i]).length / a.length;
    console.log(`shipped resnet20 int8 (QOperator): top-1 agreement with fake quantization ${share(integer, reference)}, with float ${share(integer, floatTop1)}; accuracy int8 ${share(integer, labels)}, float ${share(floatTop1, labels)}`);
    expect(share(integer, reference)).toBe(1);
    expect(share(integer, floatTop1)).toBeGreaterThan(0.97);
  }, 180_000);
});

describe("exportOnnx int8: the model files", () => {
  const model = quantized(everyOpGraph(), 1);
  const opTypes = (bytes: Uint8Array) => (onnx.ModelProto.decode(bytes).graph?.node ?? []).map((n) => `${n.domain ? `${n.domain}.` : ""}${n.opType}`);

  it("an int8 model exports as QDQ by default: int8 per-channel weights through DequantizeLinear, int32 biases", () => {
    const decoded = onnx.ModelProto.decode(exportOnnx(model));
    const graph = decoded.graph as onnx.GraphProto;
    const kernel = graph.initializer.find((t) => t.name === "conv1/kernel_quantized");
    expect(kernel?.dataType).toBe(onnx.TensorProto.DataType.INT8);
    expect(graph.initializer.find((t) => t.name === "conv1/bias_quantized")?.dataType).toBe(onnx.TensorProto.DataType.INT32);
    expect(opTypes(exportOnnx(model))).toContain("QuantizeLinear");
    expect(opTypes(exportOnnx(model)).filter((op) => op === "Conv")).toHaveLength(4);
  });

  it("QOperator: every conv and dense a QLinearConv, adds and average pools as com.microsoft QLinear ops, no float Conv", () => {
    const ops = opTypes(exportOnnx(model, { flavor: "qoperator" }));
    expect(ops.filter((op) => op === "QLinearConv")).toHaveLength(5);
    expect(ops).toEqual(expect.arrayContaining(["com.microsoft.QLinearAdd", "com.microsoft.QLinearAveragePool", "com.microsoft.QLinearGlobalAveragePool"]));
    expect(ops).not.toContain("Conv");
  });

  it("a model that breaks the integer-model contract is an error naming the node", () => {
    const broken = structuredClone(model);
    delete broken.quantization.fc.activation;
    expect(() => exportOnnx(broken, { flavor: "qoperator" })).toThrow(/dense 'fc'.*no activation range/);
    expect(() => exportOnnx(uncompressed(everyOpGraph()), { flavor: "qdq" })).toThrow(/no activation range|not uniformly quantized|batch norm/);
  });
});
