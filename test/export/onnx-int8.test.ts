// The int8 ONNX export (QDQ and QOperator) of integer models made in the test (int8-fixture.ts),
// run in onnxruntime-node. The reference is the QDQ graph run with onnxruntime's optimizations
// off: QuantizeLinear/DequantizeLinear as written, that is float fake quantization with the
// model's own parameters. onnxruntime's integer kernels (the optimized QDQ graph and the
// QOperator graph) must agree with it on the logits within a LSB or so of the logits' scale and
// on every top-1 class; so must they with our int8 engine (deploy/engine.ts, precision int8).
// On the shipped trained ResNet-20, top-1 agreement with the float model is reported too.
import * as tf from "@tensorflow/tfjs-core";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import * as ort from "onnxruntime-node";
import { onnx } from "onnx-proto";
import { beforeAll, describe, expect, it } from "vitest";
import type { Graph } from "../../src/graph/ir.js";
import { activationParams } from "../../src/deploy/int8-model.js";
import { exportOnnx } from "../../src/export/onnx.js";
import { loadEngine } from "../../src/deploy/engine.js";
import { createNet } from "../../src/nets/zoo.js";
import { uncompressed, type CompressedModel, type UniformWeightQuantization } from "../../src/graph/compressed-model.js";
import type { Dataset } from "../../src/data/dataset.js";
import { loadDataset } from "../../src/data/registry.js";
import { loadCompressedModel } from "../../src/io/compressed-model-dir.js";
import { add, concatenate, conv, dense, everyOpGraph, input, plain } from "../graph/test-graphs.js";
import { randomizeBatchNorms } from "../graph/shrink-helpers.js";
import { int8Model, withoutFinalSoftmax } from "./int8-fixture.js";
import { topClassOfRows } from "../../kernels-bench/top-class.js";
import { runOnnx, seededBatch } from "./onnx-run.js";

beforeAll(async () => {
  await tf.setBackend("cpu");
});

interface Agreement {
  /** Largest |difference| of an output from the reference, in units of that output's scale (LSB). */
  maxLsb: number;
  /** Share of rows of the first output whose argmax equals the reference's. */
  top1: number;
}

/** The int8 engine's outputs by output id (dequantized, as the ONNX outputs are). */
function engineOutputs(model: CompressedModel, x: { shape: number[]; values: Float32Array }): Record<string, Float32Array> {
  const outputs = loadEngine(model, { precision: "int8" }).runOutputs(x.values, x.shape[0]);
  return Object.fromEntries(model.graph.outputs.map((id, i) => [id, Float32Array.from(outputs[i])]));
}

/**
 * The export's outputs in onnxruntime (its integer kernels: optimizations on) against a reference:
 * the QDQ graph unoptimized (fake quantization) or our int8 engine.
 */
async function compare(model: CompressedModel, flavor: "qdq" | "qoperator", batch: number, seed: number, against: "fake quantization" | "int8 engine"): Promise<Agreement> {
  const { graph } = model;
  const x = seededBatch(graph, batch, seed);
  const inputName = graph.nodes[0].id;
  const reference = against === "int8 engine" ? engineOutputs(model, x) : await runOnnx(exportOnnx(model, { flavor: "qdq" }), inputName, x, "disabled");
  const actual = await runOnnx(exportOnnx(model, { flavor }), inputName, x, "all");
  let maxLsb = 0;
  for (const id of graph.outputs) {
    const { scale } = activationParams(model, id);
    actual[id].forEach((v, i) => { maxLsb = Math.max(maxLsb, Math.abs(v - reference[id][i]) / scale); });
  }
  const first = graph.outputs[0];
  const classes = actual[first].length / batch;
  const [a, r] = [topClassOfRows(actual[first], classes), topClassOfRows(reference[first], classes)];
  return { maxLsb, top1: a.filter((c, i) => c === r[i]).length / batch };
}

function quantized(graph: Graph, seed: number): CompressedModel {
  const logits = withoutFinalSoftmax(graph);
  return int8Model(logits, seededBatch(logits, 8, seed));
}

/** Name, graph, and whether the int8 engine runs it (it has no three-input add). */
const MODELS: Array<[string, () => Graph, boolean?]> = [
  ["every int8 op (pad, folded bn, fused relu, depthwise, relu6, max/avg pool, add, dilation, flatten, dropout, dense, gap)", everyOpGraph],
  ["float islands in QOperator (relu after a max pool, a three-input add, a concatenation)", () => ({
    name: "islands",
    nodes: [
      input("x", [8, 8, 3]), conv("a", "x", 3, 3, 4, { useBias: true }), conv("b", "x", 1, 3, 4), conv("c", "x", 3, 3, 4),
      { op: "maxPool", id: "mp", inputs: ["a"], poolSize: [2, 2], strides: [1, 1], padding: "same" }, plain("relu", "mp/relu", "mp"),
      add("sum3", "mp/relu", "b", "c"), concatenate("cat", "sum3", "b"), plain("globalAvgPool", "gap", "cat"), dense("fc", "gap", 8, 4),
    ],
    outputs: ["fc"],
  }), false],
  ["lenet", () => createNet("lenet", { seed: 2 })],
  ["resnet20 (16×16 input)", () => randomizeBatchNorms(createNet("resnet20", { seed: 3, inputShape: [16, 16, 3] }), 5)],
  ["mobilenet-v2 0.5 (16×16 input)", () => randomizeBatchNorms(createNet("mobilenet-v2", { seed: 4, widthMultiplier: 0.5, inputShape: [16, 16, 3] }), 6)],
];

describe("exportOnnx int8 in onnxruntime vs fake quantization and vs the int8 engine", () => {
  it.each(MODELS)("%s: QDQ and QOperator within 1 LSB of fake quantization and 4 LSB of the int8 engine (logits' scale), top-1 identical", async (name, make, engine = true) => {
    const model = quantized(make(), 1);
    const references = engine ? (["fake quantization", "int8 engine"] as const) : (["fake quantization"] as const);
    for (const [flavor, against] of references.flatMap((r) => [["qdq", r], ["qoperator", r]] as const)) {
      const agreement = await compare(model, flavor, 8, 9, against);
      console.log(`${name} ${flavor} vs ${against}: max ${agreement.maxLsb.toFixed(2)} LSB, top-1 ${agreement.top1}`);
      // onnxruntime requantizes in float (round half to even), the engine in TFLite's fixed point:
      // one layer differs by at most 1 LSB (below), and those differences travel to the logits
      expect(agreement.maxLsb, `${flavor} vs ${against}`).toBeLessThanOrEqual((against === "int8 engine" ? 4 : 1) + 1e-3);
      expect(agreement.top1, `${flavor} vs ${against}`).toBe(1);
    }
  });

  it("one layer (conv + bias + fused relu; dense + bias): onnxruntime and the int8 engine within 1 LSB", async () => {
    const graph: Graph = {
      name: "one_layer",
      nodes: [input("x", [6, 6, 3]), conv("c", "x", 3, 3, 8, { useBias: true }), plain("relu", "r", "c"), plain("flatten", "f", "r"), dense("d", "f", 288, 5)],
      outputs: ["d"],
    };
    const model = quantized(graph, 3);
    for (const flavor of ["qdq", "qoperator"] as const) {
      const agreement = await compare(model, flavor, 8, 4, "int8 engine");
      expect(agreement.maxLsb, flavor).toBeLessThanOrEqual(1 + 1e-3);
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
    const reference = topClassOfRows((await runOnnx(exportOnnx(model, { flavor: "qdq" }), inputName, x, "disabled"))[logits.outputs[0]], 10);
    const integer = topClassOfRows((await runOnnx(exportOnnx(model, { flavor: "qoperator" }), inputName, x))[logits.outputs[0]], 10);
    const floatTop1 = topClassOfRows((await runOnnx(exportOnnx(uncompressed(logits)), inputName, x))[logits.outputs[0]], 10);
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

  it("onnxruntime runs the QDQ graph on its integer kernels: after its fusions no float Conv or Gemm is left", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "pf-qdq-")), "optimized.onnx");
    const lenet = quantized(createNet("lenet", { seed: 2 }), 1);
    const session = await ort.InferenceSession.create(exportOnnx(lenet), { graphOptimizationLevel: "all", optimizedModelFilePath: file });
    await session.release();
    const ops = opTypes(new Uint8Array(readFileSync(file))).map((op) => op.replace(/^com\.microsoft\./, ""));
    rmSync(dirname(file), { recursive: true, force: true });
    expect(ops.filter((op) => op === "QLinearConv")).toHaveLength(2);
    expect(ops.some((op) => /^(Fused)?(Conv|Gemm)$/.test(op))).toBe(false);
  });

  it("a model that breaks the integer-model contract is an error naming the node", () => {
    const broken = structuredClone(model);
    delete broken.quantization.fc.activation;
    expect(() => exportOnnx(broken, { flavor: "qoperator" })).toThrow(/dense 'fc'.*no activation range/);
    expect(() => exportOnnx(uncompressed(everyOpGraph()), { flavor: "qdq" })).toThrow(/no activation range|not uniformly quantized|batch norm/);
    // 8-bit activations but 4-bit weights: the default (QDQ) says how to get the float graph, which exports
    const fourBit = structuredClone(model);
    fourBit.quantization.fc.weights = { kernel: { ...(fourBit.quantization.fc.weights?.kernel as UniformWeightQuantization), bits: 4 } };
    expect(() => exportOnnx(fourBit)).toThrow(/dense 'fc'.*4-bit.*or export its float graph: flavor 'float', --float/);
    expect(exportOnnx(fourBit, { flavor: "float" }).length).toBeGreaterThan(0);
  });
});
