// Keras models converted by the TensorFlow.js converter: model.json with "format": "layers-model",
// the Keras config under modelTopology.model_config (snake_case keys, class_name "Sequential" or
// "Functional", batch-norm axis as a list), weights in group1-shard1of1.bin. The fixtures are
// written here in that layout from seeded values; loadModel must give their IR with the weights
// as written, `pocketflow info` must report them, and an unsupported layer must be named.
import { spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { buildTfjsModel } from "../../src/tfjs/tfjs-from-graph.js";
import { graphCost } from "../../src/graph/cost.js";
import { weightsOf, type Graph } from "../../src/graph/ir.js";
import { loadModel } from "../../src/io/model-dir.js";
import { registerFileIO } from "../../src/io/register-file-io.js";
import { randomFloats } from "../kernels/random.js";

// ---- the fixture generator: Keras 2.x layer configs as `model.get_config()` gives them ----

type Json = Record<string, unknown>;

/** A Keras layer: its class, its config (name, trainable, dtype first, as Keras writes), its weights. */
interface KerasLayer {
  className: string;
  config: Json;
  /** Weight short names and shapes, in Keras' order ('kernel', 'bias'; 'gamma', ..., 'moving_variance'). */
  weights: Array<[string, number[]]>;
  /** Functional models only: the names of the layers feeding this one. */
  inbound?: string[];
}

/** An initializer as Keras 2.13 serializes it; older versions write only class_name and config. */
const initializer = (className: string, config: Json = {}): Json => ({ module: "keras.initializers", class_name: className, config, registered_name: null });

const base = (name: string): Json => ({ name, trainable: true, dtype: "float32" });
const NO_REGULARIZERS = { kernel_regularizer: null, bias_regularizer: null, activity_regularizer: null, kernel_constraint: null, bias_constraint: null };

function inputLayer(name: string, shape: number[]): KerasLayer {
  return { className: "InputLayer", config: { batch_input_shape: [null, ...shape], dtype: "float32", sparse: false, ragged: false, name }, weights: [] };
}

interface ConvArgs { filters: number; kernel: number; strides?: number; padding?: "same" | "valid"; activation?: string; useBias?: boolean; dataFormat?: string }

function conv2d(name: string, inChannels: number, args: ConvArgs, extra: Json = {}): KerasLayer {
  const { filters, kernel, strides = 1, padding = "same", activation = "linear", useBias = true, dataFormat = "channels_last" } = args;
  return {
    className: "Conv2D",
    config: {
      ...base(name), ...extra, filters, kernel_size: [kernel, kernel], strides: [strides, strides], padding, data_format: dataFormat,
      dilation_rate: [1, 1], groups: 1, activation, use_bias: useBias,
      kernel_initializer: initializer("GlorotUniform", { seed: null }), bias_initializer: initializer("Zeros"), ...NO_REGULARIZERS,
    },
    weights: [["kernel", [kernel, kernel, inChannels, filters]], ...(useBias ? [["bias", [filters]] as [string, number[]]] : [])],
  };
}

function batchNorm(name: string, channels: number): KerasLayer {
  return {
    className: "BatchNormalization",
    // Keras writes the axis as the list it normalised it to when the layer was built.
    config: {
      ...base(name), axis: [3], momentum: 0.99, epsilon: 0.001, center: true, scale: true,
      beta_initializer: initializer("Zeros"), gamma_initializer: initializer("Ones"),
      moving_mean_initializer: initializer("Zeros"), moving_variance_initializer: initializer("Ones"),
      beta_regularizer: null, gamma_regularizer: null, beta_constraint: null, gamma_constraint: null,
    },
    weights: [["gamma", [channels]], ["beta", [channels]], ["moving_mean", [channels]], ["moving_variance", [channels]]],
  };
}

const maxPool = (name: string): KerasLayer => ({
  className: "MaxPooling2D", config: { ...base(name), pool_size: [2, 2], padding: "valid", strides: [2, 2], data_format: "channels_last" }, weights: [],
});
const dropout = (name: string, rate: number): KerasLayer => ({ className: "Dropout", config: { ...base(name), rate, noise_shape: null, seed: null }, weights: [] });
const flatten = (name: string): KerasLayer => ({ className: "Flatten", config: { ...base(name), data_format: "channels_last" }, weights: [] });
const globalAvgPool = (name: string): KerasLayer => ({
  className: "GlobalAveragePooling2D", config: { ...base(name), data_format: "channels_last", keepdims: false }, weights: [],
});
const add = (name: string): KerasLayer => ({ className: "Add", config: base(name), weights: [] });
const relu = (name: string): KerasLayer => ({ className: "ReLU", config: { ...base(name), max_value: null, negative_slope: 0, threshold: 0 }, weights: [] });

function dense(name: string, inFeatures: number, units: number, activation: string): KerasLayer {
  return {
    className: "Dense",
    config: { ...base(name), units, activation, use_bias: true, kernel_initializer: initializer("GlorotUniform", { seed: null }), bias_initializer: initializer("Zeros"), ...NO_REGULARIZERS },
    weights: [["kernel", [inFeatures, units]], ["bias", [units]]],
  };
}

const withInbound = (layer: KerasLayer, ...inbound: string[]): KerasLayer => ({ ...layer, inbound });

/** The converter's model_config: Sequential lists layer configs; Functional adds the wiring. */
function modelConfig(className: "Sequential" | "Functional" | "Model", name: string, layers: KerasLayer[]): Json {
  if (className === "Sequential") {
    return { class_name: "Sequential", config: { name, layers: layers.map((layer) => ({ class_name: layer.className, config: layer.config })) } };
  }
  const entries = layers.map((layer) => ({
    class_name: layer.className, config: layer.config, name: layer.config.name,
    inbound_nodes: layer.inbound === undefined ? [] : [layer.inbound.map((source) => [source, 0, 0, {}])],
  }));
  const fed = new Set(layers.flatMap((layer) => layer.inbound ?? []));
  const inputs = layers.filter((layer) => layer.className === "InputLayer").map((layer) => [layer.config.name, 0, 0]);
  const outputs = layers.filter((layer) => !fed.has(layer.config.name as string)).map((layer) => [layer.config.name, 0, 0]);
  return { class_name: className, config: { name, layers: entries, input_layers: inputs, output_layers: outputs } };
}

/** Seeded weight values by '<layer>/<weight>'; variances positive, the rest small around 0. */
function weightValues(layers: KerasLayer[], seed: number): Map<string, Float32Array> {
  const values = new Map<string, Float32Array>();
  let k = 0;
  for (const layer of layers) {
    for (const [name, shape] of layer.weights) {
      const size = shape.reduce((p, d) => p * d, 1);
      const positive = name === "moving_variance" || name === "gamma";
      values.set(`${layer.config.name as string}/${name}`, randomFloats(size, seed + k++, positive ? 0.3 : 0.5, positive ? 1 : 0));
    }
  }
  return values;
}

/**
 * Writes a converted Keras model: model.json in the converter's layout and one weight file,
 * group1-shard1of1.bin, little-endian float32 in manifest order. Returns the values written.
 */
async function writeKerasModel(dir: string, keras: { version: string; config: Json; layers: KerasLayer[]; seed: number }): Promise<Map<string, Float32Array>> {
  const values = weightValues(keras.layers, keras.seed);
  const specs = keras.layers.flatMap((layer) => layer.weights.map(([name, shape]) => ({ name: `${layer.config.name as string}/${name}`, shape, dtype: "float32" })));
  const modelJson = {
    format: "layers-model",
    generatedBy: `keras v${keras.version}`,
    convertedBy: "TensorFlow.js Converter v4.10.0",
    modelTopology: {
      keras_version: keras.version,
      backend: "tensorflow",
      model_config: keras.config,
      // The converter keeps Keras' training config inside the topology, where tfjs does not read it.
      training_config: { loss: "categorical_crossentropy", metrics: ["accuracy"], weighted_metrics: null, loss_weights: null, optimizer_config: { class_name: "Adam", config: { name: "Adam", learning_rate: 0.001 } } },
    },
    weightsManifest: [{ paths: ["group1-shard1of1.bin"], weights: specs }],
  };
  const bytes = Buffer.concat(specs.map((spec) => Buffer.from((values.get(spec.name) as Float32Array).buffer)));
  await writeFile(join(dir, "model.json"), JSON.stringify(modelJson));
  await writeFile(join(dir, "group1-shard1of1.bin"), bytes);
  return values;
}

// ---- the two models: a Sequential LeNet-like net and a Functional one with a residual add ----

function sequentialLayers(): KerasLayer[] {
  return [
    inputLayer("conv2d_input", [12, 12, 1]),
    conv2d("conv2d", 1, { filters: 4, kernel: 3, activation: "relu" }, { batch_input_shape: [null, 12, 12, 1] }),
    batchNorm("batch_normalization", 4),
    maxPool("max_pooling2d"),
    conv2d("conv2d_1", 4, { filters: 8, kernel: 3, padding: "valid", activation: "relu", useBias: false }),
    dropout("dropout", 0.25),
    flatten("flatten"),
    dense("dense", 4 * 4 * 8, 10, "softmax"),
  ];
}

function functionalLayers(): KerasLayer[] {
  return [
    inputLayer("input_1", [8, 8, 3]),
    withInbound(conv2d("conv2d", 3, { filters: 8, kernel: 3, activation: "relu", useBias: false }), "input_1"),
    withInbound(batchNorm("batch_normalization", 8), "conv2d"),
    withInbound(conv2d("conv2d_1", 8, { filters: 8, kernel: 3, activation: "relu", useBias: false }), "batch_normalization"),
    withInbound(batchNorm("batch_normalization_1", 8), "conv2d_1"),
    withInbound(add("add"), "batch_normalization_1", "batch_normalization"),
    withInbound(relu("re_lu"), "add"),
    withInbound(maxPool("max_pooling2d"), "re_lu"),
    withInbound(globalAvgPool("global_average_pooling2d"), "max_pooling2d"),
    withInbound(dropout("dropout", 0.5), "global_average_pooling2d"),
    withInbound(dense("dense", 8, 5, "softmax"), "dropout"),
  ];
}

/** The IR of functionalLayers(): [op, id, inputs, output shape] per node. */
const FUNCTIONAL_LAYOUT: Array<[string, string, string[], number[]]> = [
  ["input", "input_1", [], [8, 8, 3]],
  ["conv2d", "conv2d", ["input_1"], [8, 8, 8]],
  ["relu", "conv2d/relu", ["conv2d"], [8, 8, 8]],
  ["batchNorm", "batch_normalization", ["conv2d/relu"], [8, 8, 8]],
  ["conv2d", "conv2d_1", ["batch_normalization"], [8, 8, 8]],
  ["relu", "conv2d_1/relu", ["conv2d_1"], [8, 8, 8]],
  ["batchNorm", "batch_normalization_1", ["conv2d_1/relu"], [8, 8, 8]],
  ["add", "add", ["batch_normalization_1", "batch_normalization"], [8, 8, 8]],
  ["relu", "re_lu", ["add"], [8, 8, 8]],
  ["maxPool", "max_pooling2d", ["re_lu"], [4, 4, 8]],
  ["globalAvgPool", "global_average_pooling2d", ["max_pooling2d"], [8]],
  ["dropout", "dropout", ["global_average_pooling2d"], [8]],
  ["dense", "dense", ["dropout"], [5]],
  ["softmax", "dense/softmax", ["dense"], [5]],
];

let dir: string;
beforeAll(async () => {
  await tf.setBackend("cpu");
  registerFileIO();
});
beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), "pf-keras-")); });
afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

/** Each node as [op, id, inputs, output shape]. */
function layout(graph: Graph): Array<[string, string, string[], number[]]> {
  const cost = graphCost(graph);
  return graph.nodes.map((node, i) => [node.op, node.id, node.inputs, cost.nodes[i].outputShape]);
}

/** Every weight of the graph equals the value written under '<node id>/<keras name>'. */
function expectWeightsAsWritten(graph: Graph, written: Map<string, Float32Array>): void {
  const kerasName: Record<string, string> = { kernel: "kernel", bias: "bias", depthwiseKernel: "depthwise_kernel", gamma: "gamma", beta: "beta", movingMean: "moving_mean", movingVariance: "moving_variance" };
  const seen: string[] = [];
  for (const node of graph.nodes) {
    for (const [name, weight] of weightsOf(node)) {
      const key = `${node.id}/${kerasName[name]}`;
      const expected = written.get(key);
      expect(expected, key).toBeDefined();
      expect(Buffer.from(weight.values.buffer, weight.values.byteOffset, weight.values.byteLength).equals(Buffer.from((expected as Float32Array).buffer)), key).toBe(true);
      seen.push(key);
    }
  }
  expect(seen.sort()).toEqual([...written.keys()].sort());
}

/** The IR, rebuilt in tfjs, predicts as tfjs's own reading of the converted directory. */
async function expectPredictsAsTfjs(graph: Graph, inputShape: number[]): Promise<void> {
  const plain = await tf.loadLayersModel(`file://${dir}/model.json`);
  const rebuilt = buildTfjsModel(graph);
  const x = tf.tensor(randomFloats(2 * inputShape.reduce((p, d) => p * d, 1), 5), [2, ...inputShape]);
  const [expected, actual] = [plain.predict(x) as tf.Tensor, rebuilt.predict(x) as tf.Tensor];
  const difference = tf.max(tf.abs(tf.sub(expected, actual))).dataSync()[0];
  expect(difference).toBeLessThan(1e-6);
  // Not a degenerate comparison: the two examples get different predictions.
  expect(tf.max(tf.abs(tf.sub(expected.slice(0, 1), expected.slice(1, 1)))).dataSync()[0]).toBeGreaterThan(1e-4);
  tf.dispose([x, expected, actual]);
  plain.dispose();
  rebuilt.dispose();
}

describe("loadModel of a converted Keras model", () => {
  it("Sequential (keras v2.11, InputLayer first): conv relu → bn → maxPool → conv valid relu → dropout → flatten → dense softmax", async () => {
    const layers = sequentialLayers();
    // Keras before 2.13 writes initializers without module and registered_name.
    for (const layer of layers) {
      for (const [key, value] of Object.entries(layer.config)) {
        if (key.endsWith("_initializer")) layer.config[key] = { class_name: (value as Json).class_name, config: (value as Json).config };
      }
    }
    const written = await writeKerasModel(dir, { version: "2.11.0", config: modelConfig("Sequential", "sequential", layers), layers, seed: 10 });
    const { graph, sidecar } = await loadModel(dir);
    expect(sidecar).toBeUndefined();
    expect(graph.name).toBe("sequential");
    expect(layout(graph)).toEqual([
      ["input", "conv2d_input", [], [12, 12, 1]],
      ["conv2d", "conv2d", ["conv2d_input"], [12, 12, 4]],
      ["relu", "conv2d/relu", ["conv2d"], [12, 12, 4]],
      ["batchNorm", "batch_normalization", ["conv2d/relu"], [12, 12, 4]],
      ["maxPool", "max_pooling2d", ["batch_normalization"], [6, 6, 4]],
      ["conv2d", "conv2d_1", ["max_pooling2d"], [4, 4, 8]],
      ["relu", "conv2d_1/relu", ["conv2d_1"], [4, 4, 8]],
      ["dropout", "dropout", ["conv2d_1/relu"], [4, 4, 8]],
      ["flatten", "flatten", ["dropout"], [128]],
      ["dense", "dense", ["flatten"], [10]],
      ["softmax", "dense/softmax", ["dense"], [10]],
    ]);
    expect(graph.outputs).toEqual(["dense/softmax"]);
    expect(graph.nodes[1]).toMatchObject({ kernelSize: [3, 3], strides: [1, 1], padding: "same", dilation: [1, 1], filters: 4, useBias: true });
    expect(graph.nodes[3]).toMatchObject({ epsilon: 0.001 });
    expect(graph.nodes[5]).toMatchObject({ padding: "valid", useBias: false });
    expect(graph.nodes[7]).toMatchObject({ rate: 0.25 });
    expectWeightsAsWritten(graph, written);
    await expectPredictsAsTfjs(graph, [12, 12, 1]);
  });

  it("Functional (keras v2.13): a residual add of two conv-bn branches, ReLU layer, global average pooling", async () => {
    const layers = functionalLayers();
    const written = await writeKerasModel(dir, { version: "2.13.1", config: modelConfig("Functional", "model", layers), layers, seed: 20 });
    const { graph } = await loadModel(dir);
    expect(graph.name).toBe("model");
    // tfjs lists layers by depth; the add's inputs keep Keras' order.
    expect(layout(graph)).toEqual(FUNCTIONAL_LAYOUT);
    expectWeightsAsWritten(graph, written);
    await expectPredictsAsTfjs(graph, [8, 8, 3]);
  });

  it("class_name 'Model' (Keras before 2.4) loads as 'Functional' does", async () => {
    const layers = functionalLayers();
    await writeKerasModel(dir, { version: "2.3.1", config: modelConfig("Model", "model", layers), layers, seed: 30 });
    expect(layout((await loadModel(dir)).graph)).toEqual(FUNCTIONAL_LAYOUT);
  });

  it("a batch norm after a dense: Keras writes axis [1], the last axis of [batch, features]", async () => {
    const normalization = batchNorm("batch_normalization", 6);
    normalization.config.axis = [1];
    const layers = [inputLayer("dense_input", [5]), dense("dense", 5, 6, "relu"), normalization, dense("dense_1", 6, 2, "softmax")];
    const written = await writeKerasModel(dir, { version: "2.13.1", config: modelConfig("Sequential", "sequential", layers), layers, seed: 35 });
    const { graph } = await loadModel(dir);
    expect(layout(graph)).toEqual([
      ["input", "dense_input", [], [5]], ["dense", "dense", ["dense_input"], [6]], ["relu", "dense/relu", ["dense"], [6]],
      ["batchNorm", "batch_normalization", ["dense/relu"], [6]], ["dense", "dense_1", ["batch_normalization"], [2]], ["softmax", "dense_1/softmax", ["dense_1"], [2]],
    ]);
    expectWeightsAsWritten(graph, written);
    await expectPredictsAsTfjs(graph, [5]);
  });

  it("`pocketflow info --model DIR --json` reports its layers, MACs and parameters", async () => {
    const layers = sequentialLayers();
    await writeKerasModel(dir, { version: "2.11.0", config: modelConfig("Sequential", "sequential", layers), layers, seed: 40 });
    const result = spawnSync("node", ["dist/src/cli/main.js", "info", "--model", dir, "--json"], { encoding: "utf8" });
    expect(result.status, result.stderr).toBe(0);
    const info = JSON.parse(result.stdout.trim().split("\n").at(-1) as string) as Record<string, any>;
    // conv 12·12·9·1·4 + conv 4·4·9·4·8 + dense 128·10
    const macs = 12 * 12 * 9 * 4 + 4 * 4 * 9 * 4 * 8 + 128 * 10;
    // conv (9+1)·4 + bn 4·4 + conv 9·4·8 + dense 129·10; the bn's moving statistics are not trainable
    const params = 40 + 16 + 288 + 1290;
    expect(info).toMatchObject({ command: "info", name: "sequential", macs, params, trainableParams: params - 8, history: [] });
    expect(info.layers.map((layer: Record<string, unknown>) => [layer.id, layer.op, layer.outputShape])).toEqual([
      ["conv2d_input", "input", [12, 12, 1]], ["conv2d", "conv2d", [12, 12, 4]], ["conv2d/relu", "relu", [12, 12, 4]],
      ["batch_normalization", "batchNorm", [12, 12, 4]], ["max_pooling2d", "maxPool", [6, 6, 4]], ["conv2d_1", "conv2d", [4, 4, 8]],
      ["conv2d_1/relu", "relu", [4, 4, 8]], ["dropout", "dropout", [4, 4, 8]], ["flatten", "flatten", [128]], ["dense", "dense", [10]],
      ["dense/softmax", "softmax", [10]],
    ]);
    expect(info.layers.find((layer: Record<string, unknown>) => layer.id === "conv2d_1")).toMatchObject({ macs: 4608, params: 288 });
  });
});

describe("unsupported Keras layers and settings are errors naming the layer and what is supported", () => {
  const SUPPORTED = /supported layers: InputLayer, Conv2D, DepthwiseConv2D, Dense, BatchNormalization, ReLU, Activation, Add, MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, Flatten, Dropout, ZeroPadding2D/;

  it("LSTM", async () => {
    const lstm: KerasLayer = {
      className: "LSTM",
      config: {
        ...base("lstm"), return_sequences: false, return_state: false, go_backwards: false, stateful: false, unroll: false, time_major: false,
        units: 8, activation: "tanh", recurrent_activation: "sigmoid", use_bias: true,
        kernel_initializer: initializer("GlorotUniform", { seed: null }), recurrent_initializer: initializer("Orthogonal", { gain: 1, seed: null }),
        bias_initializer: initializer("Zeros"), unit_forget_bias: true, kernel_regularizer: null, recurrent_regularizer: null, bias_regularizer: null,
        activity_regularizer: null, kernel_constraint: null, recurrent_constraint: null, bias_constraint: null, dropout: 0, recurrent_dropout: 0, implementation: 2,
      },
      // Keras 2.x names an LSTM's weights after its cell: 'lstm/lstm_cell/kernel'.
      weights: [["lstm_cell/kernel", [4, 32]], ["lstm_cell/recurrent_kernel", [8, 32]], ["lstm_cell/bias", [32]]],
    };
    const layers = [inputLayer("lstm_input", [10, 4]), lstm, dense("dense", 8, 3, "softmax")];
    await writeKerasModel(dir, { version: "2.13.1", config: modelConfig("Sequential", "sequential", layers), layers, seed: 50 });
    const error = await loadModel(dir).then(() => null, (caught: Error) => caught);
    expect(error?.message).toMatch(/model\.json: .*layer 'lstm' \(LSTM\) is not supported by the model IR/);
    expect(error?.message).toMatch(SUPPORTED);
  });

  it("Conv2DTranspose", async () => {
    const transpose: KerasLayer = {
      className: "Conv2DTranspose",
      config: { ...conv2d("conv2d_transpose", 4, { filters: 2, kernel: 3 }).config, output_padding: null },
      weights: [["kernel", [3, 3, 2, 4]], ["bias", [2]]],
    };
    delete transpose.config.groups;
    const layers = [
      inputLayer("input_1", [6, 6, 1]),
      withInbound(conv2d("conv2d", 1, { filters: 4, kernel: 3, activation: "relu" }), "input_1"),
      withInbound(transpose, "conv2d"),
    ];
    await writeKerasModel(dir, { version: "2.13.1", config: modelConfig("Functional", "model", layers), layers, seed: 60 });
    const error = await loadModel(dir).then(() => null, (caught: Error) => caught);
    expect(error?.message).toMatch(/layer 'conv2d_transpose' \(Conv2DTranspose\) is not supported by the model IR/);
    expect(error?.message).toMatch(SUPPORTED);
  });

  it("a ReLU with negative_slope or threshold (tfjs-layers would drop them and import a plain relu)", async () => {
    for (const [setting, value] of [["negative_slope", 0.1], ["threshold", 0.5]] as const) {
      const leaky = relu("re_lu");
      leaky.config[setting] = value;
      const layers = [inputLayer("conv2d_input", [6, 6, 1]), conv2d("conv2d", 1, { filters: 2, kernel: 3 }), leaky];
      await writeKerasModel(dir, { version: "2.13.1", config: modelConfig("Sequential", "sequential", layers), layers, seed: 90 });
      await expect(loadModel(dir)).rejects.toThrow(
        new RegExp(`model\\.json: layer 're_lu' \\(ReLU\\) has ${setting} ${value}; tfjs-layers ignores it .*only 0 is supported`),
      );
    }
  });

  it("a grouped Conv2D", async () => {
    const grouped = conv2d("conv2d", 2, { filters: 4, kernel: 3 });
    grouped.config.groups = 2;
    grouped.weights = [["kernel", [3, 3, 1, 4]], ["bias", [4]]];
    const layers = [inputLayer("conv2d_input", [6, 6, 2]), grouped];
    await writeKerasModel(dir, { version: "2.13.1", config: modelConfig("Sequential", "sequential", layers), layers, seed: 91 });
    await expect(loadModel(dir)).rejects.toThrow(/model\.json: layer 'conv2d' \(Conv2D\) has groups 2; only ungrouped convolutions \(groups 1\) are supported/);
  });

  it("a batch norm over axis [1] of an NHWC map (a channels_first Keras model's)", async () => {
    const normalization = batchNorm("batch_normalization", 6);
    normalization.config.axis = [1];
    const layers = [inputLayer("conv2d_input", [6, 6, 2]), conv2d("conv2d", 2, { filters: 6, kernel: 3 }), normalization];
    await writeKerasModel(dir, { version: "2.13.1", config: modelConfig("Sequential", "sequential", layers), layers, seed: 80 });
    await expect(loadModel(dir)).rejects.toThrow(
      "graphFromTfjs: layer 'batch_normalization' (BatchNormalization) normalizes axis [1]; only the last (channel) axis, -1 or 3, is supported",
    );
  });

  it("a 'channels_first' Conv2D", async () => {
    const layers = [
      inputLayer("conv2d_input", [1, 6, 6]),
      conv2d("conv2d", 1, { filters: 4, kernel: 3, dataFormat: "channels_first" }),
      flatten("flatten"),
      dense("dense", 4 * 6 * 6, 3, "softmax"),
    ];
    await writeKerasModel(dir, { version: "2.13.1", config: modelConfig("Sequential", "sequential", layers), layers, seed: 70 });
    await expect(loadModel(dir)).rejects.toThrow(
      /model\.json: graphFromTfjs: layer 'conv2d' \(Conv2D\) has dataFormat 'channelsFirst'; the model IR is NHWC, so only 'channelsLast' is supported/,
    );
  });
});
