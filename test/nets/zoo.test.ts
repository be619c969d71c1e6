// The model zoo: shapes infer, exact parameters and MACs of the reference configurations
// (worked out by hand, and checked against Keras' published counts), the nets built in tfjs and
// imported back unchanged, seeded initial weights and their statistics, width and input size,
// and argument errors.
import "@tensorflow/tfjs-backend-cpu";
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { graphFromTfjs } from "../../src/tfjs/graph-from-tfjs.js";
import { buildTfjsModel } from "../../src/tfjs/tfjs-from-graph.js";
import { graphCost, type GraphCost } from "../../src/graph/cost.js";
import { weightsOf, type Graph, type GraphNode, type Weight } from "../../src/graph/ir.js";
import { inferShapes } from "../../src/graph/shapes.js";
import { convnet } from "../../src/nets/convnet.js";
import { lenet } from "../../src/nets/lenet.js";
import { mobilenetV1 } from "../../src/nets/mobilenet-v1.js";
import { makeDivisible, mobilenetV2 } from "../../src/nets/mobilenet-v2.js";
import { resnet } from "../../src/nets/resnet.js";
import { createNet, NET_NAMES, type CreateNetOptions } from "../../src/nets/zoo.js";

beforeAll(async () => {
  await tf.setBackend("cpu");
});

const node = (graph: Graph, id: string): GraphNode => {
  const found = graph.nodes.find((candidate) => candidate.id === id);
  if (found === undefined) throw new Error(`no node '${id}' in ${graph.name}`);
  return found;
};

const weight = (graph: Graph, id: string, name: string): Weight => {
  const found = weightsOf(node(graph, id)).find(([key]) => key === name);
  if (found === undefined) throw new Error(`node '${id}' has no weight '${name}'`);
  return found[1];
};

const count = (graph: Graph, op: GraphNode["op"]): number => graph.nodes.filter((n) => n.op === op).length;

/** Each node's op, output shape and weight shapes: the structure, whatever the ids. */
function structure(graph: Graph, cost: GraphCost): string[] {
  return graph.nodes.map((n, i) => `${n.op} [${cost.nodes[i].outputShape}] ${weightsOf(n).map(([, w]) => `[${w.shape}]`).join(" ")}`);
}

/** The zoo graph built in tfjs and imported back: same costs, same layers (in any order), same tfjs counts. */
function expectRoundTrip(zoo: Graph): void {
  const model = buildTfjsModel(zoo);
  const imported = graphFromTfjs(model);
  const [zooCost, importedCost] = [graphCost(zoo), graphCost(imported)];
  expect({ macs: importedCost.macs, params: importedCost.params, trainable: importedCost.trainableParams }).toEqual({
    macs: zooCost.macs, params: zooCost.params, trainable: zooCost.trainableParams,
  });
  // tfjs lists layers by depth, so the order of parallel branches can differ; compare as multisets.
  expect(structure(imported, importedCost).sort()).toEqual(structure(zoo, zooCost).sort());
  const trainable = model.trainableWeights.reduce((sum, w) => sum + w.shape.reduce((p: number, d) => p * (d ?? 1), 1), 0);
  expect({ params: model.countParams(), trainable }).toEqual({ params: zooCost.params, trainable: zooCost.trainableParams });
  model.dispose();
}

describe("reference configurations: exact parameters and MACs", () => {
  it.each<[string, CreateNetOptions, number, number, number]>([
    // name, options, params (all), trainable params, MACs
    ["lenet", {}, 61_706, 61_706, 416_520],
    ["convnet", {}, 3_274_634, 3_274_634, 13_883_904],
    ["resnet20", {}, 274_042, 272_474, 40_813_184],
    ["resnet32", {}, 469_370, 466_906, 69_124_736],
    ["resnet56", {}, 860_026, 855_770, 125_747_840],
    ["mobilenet-v1", {}, 4_253_864, 4_231_976, 568_740_352],
    ["mobilenet-v2", {}, 3_538_984, 3_504_872, 300_774_272],
    ["mobilenet-v2", { widthMultiplier: 0.5, inputShape: [32, 32, 3], classes: 10 }, 719_034, 700_490, 1_968_960],
  ])("%s %j: %i params, %i trainable, %i MACs", (name, options, params, trainable, macs) => {
    const graph = createNet(name, options);
    const cost = graphCost(graph);
    expect({ params: cost.params, trainable: cost.trainableParams, macs: cost.macs }).toEqual({ params, trainable, macs });
  });

  it("lenet 28×28×1: by hand (61,706 params, 416,520 MACs), layer by layer, and through tfjs unchanged", () => {
    const graph = lenet();
    // conv 28·28·25·1·6 + conv 10·10·25·6·16 + dense 400·120 + 120·84 + 84·10
    expect(graphCost(graph).macs).toBe(117_600 + 240_000 + 48_000 + 10_080 + 840);
    expect(graphCost(graph).macs).toBe(416_520);
    // (25·1+1)·6 + (25·6+1)·16 + 401·120 + 121·84 + 85·10
    expect(graphCost(graph).params).toBe(156 + 2_416 + 48_120 + 10_164 + 850);
    expect(graphCost(graph).params).toBe(61_706);
    expect(structure(graph, graphCost(graph))).toEqual([
      "input [28,28,1] ", "conv2d [28,28,6] [5,5,1,6] [6]", "relu [28,28,6] ", "maxPool [14,14,6] ",
      "conv2d [10,10,16] [5,5,6,16] [16]", "relu [10,10,16] ", "maxPool [5,5,16] ", "flatten [400] ",
      "dense [120] [400,120] [120]", "relu [120] ", "dense [84] [120,84] [84]", "relu [84] ", "dense [10] [84,10] [10]", "softmax [10] ",
    ]);
    expectRoundTrip(graph);
  });

  it("convnet 28×28×1 (PocketFlow's Fashion-MNIST ConvNet): by hand", () => {
    const cost = graphCost(convnet());
    // conv 28·28·25·1·32 + conv 14·14·25·32·64 + dense 3136·1024 + 1024·10
    expect(cost.macs).toBe(627_200 + 10_035_200 + 3_211_264 + 10_240);
    // (25+1)·32 + (800+1)·64 + 3137·1024 + 1025·10
    expect(cost.params).toBe(832 + 51_264 + 3_212_288 + 10_250);
  });

  it("resnet20 32×32×3: by hand (He et al. 2016 with projections: 272,474 trainable, 40,813,184 MACs), and through tfjs unchanged", () => {
    const graph = resnet({ depth: 20 });
    const stage = (size: number, inChannels: number, channels: number): number =>
      size * size * 9 * inChannels * channels + 5 * size * size * 9 * channels * channels + size * size * inChannels * channels;
    expect(graphCost(graph).macs).toBe(32 * 32 * 27 * 16 + 6 * 32 * 32 * 9 * 16 * 16 + stage(16, 16, 32) + stage(8, 32, 64) + 640);
    expect(graphCost(graph).macs).toBe(40_813_184);
    expect(graphCost(graph).trainableParams).toBe(272_474);
    expect(count(graph, "conv2d")).toBe(19 + 2);
    expect(count(graph, "batchNorm")).toBe(19 + 2);
    expect(count(graph, "add")).toBe(9);
    expect(count(graph, "relu")).toBe(1 + 2 * 9);
    // The projections: 1×1 stride-2 conv-bn where a stage starts.
    expect(graph.nodes.filter((n) => n.op === "conv2d" && n.kernelSize[0] === 1).map((n) => [n.id, inferShapes(graph).get(n.id)])).toEqual([
      ["stage2_block1_shortcut_conv", [16, 16, 32]], ["stage3_block1_shortcut_conv", [8, 8, 64]],
    ]);
    expectRoundTrip(graph);
  });

  it("resnet 6n+2: option-A counts plus the two projections (0.27M / 0.46M / 0.85M, He et al. 2016 table 6)", () => {
    // The projections: 1×1 convs 16→32 and 32→64 (2,560) and their batch-norm gamma/beta (192);
    // 16·16·16·32 + 8·8·32·64 MACs.
    for (const [depth, optionA] of [[20, 269_722], [32, 464_154], [56, 853_018], [110, 1_727_962]]) {
      const cost = graphCost(resnet({ depth }));
      expect(cost.trainableParams - optionA, `depth ${depth}`).toBe(2_560 + 192);
    }
    const [macs20, macs56] = [graphCost(resnet({ depth: 20 })).macs, graphCost(resnet({ depth: 56 })).macs];
    // Six more blocks per stage each add 2 3×3 convs at 32², 16², 8² (16, 32, 64 channels).
    expect(macs56 - macs20).toBe(6 * 2 * 9 * (32 * 32 * 16 * 16 + 16 * 16 * 32 * 32 + 8 * 8 * 64 * 64));
  });

  it("mobilenet-v1 224×224×3: by hand from Howard et al. 2017 table 1 (569M MACs, 4.2M params)", () => {
    const graph = mobilenetV1();
    const blocks: Array<[number, number, number]> = [
      // output size, in channels, out channels
      [112, 32, 64], [56, 64, 128], [56, 128, 128], [28, 128, 256], [28, 256, 256], [14, 256, 512],
      [14, 512, 512], [14, 512, 512], [14, 512, 512], [14, 512, 512], [14, 512, 512], [7, 512, 1024], [7, 1024, 1024],
    ];
    const blockMacs = blocks.reduce((sum, [size, c, out]) => sum + size * size * (9 * c + c * out), 0);
    expect(graphCost(graph).macs).toBe(112 * 112 * 27 * 32 + blockMacs + 1024 * 1000);
    // Batch-norm channels: the stem's 32 plus each block's depthwise and pointwise outputs; Keras
    // reports their moving statistics as its 21,888 non-trainable parameters.
    const bnChannels = 32 + blocks.reduce((sum, [, c, out]) => sum + c + out, 0);
    const cost = graphCost(graph);
    expect(cost.params - cost.trainableParams).toBe(2 * bnChannels);
    expect(2 * bnChannels).toBe(21_888);
    expect(count(graph, "depthwiseConv2d")).toBe(13);
    // The dense classifier has the weights of Keras' 1×1 conv classifier: 1024·1000 + 1000.
    expect(graphCost(graph).nodes.find((n) => n.id === "logits")?.params).toBe(1_025_000);
    expect(node(graph, "dropout")).toMatchObject({ op: "dropout", rate: 1e-3 });
  });

  it("mobilenet-v2 32×32×3 width 0.5 (the training bench's): 700,490 trainable, 1,968,960 MACs, block widths, and through tfjs unchanged", () => {
    const graph = mobilenetV2({ widthMultiplier: 0.5, inputShape: [32, 32, 3], classes: 10 });
    const cost = graphCost(graph);
    expect({ params: cost.params, trainable: cost.trainableParams, macs: cost.macs }).toEqual({ params: 719_034, trainable: 700_490, macs: 1_968_960 });
    const shapes = inferShapes(graph);
    expect(shapes.get("stem_relu6")).toEqual([16, 16, 16]);
    // makeDivisible(c·0.5) of table 2's 16, 24, 32, 64, 96, 160, 320; total stride 32 ends at 1×1.
    const outputs = Array.from({ length: 17 }, (_, i) => shapes.get(`block${i}_project_bn`));
    expect(outputs).toEqual([
      [16, 16, 8], [8, 8, 16], [8, 8, 16], [4, 4, 16], [4, 4, 16], [4, 4, 16], [2, 2, 32], [2, 2, 32], [2, 2, 32], [2, 2, 32],
      [2, 2, 48], [2, 2, 48], [2, 2, 48], [1, 1, 80], [1, 1, 80], [1, 1, 80], [1, 1, 160],
    ]);
    expect(shapes.get("head_relu6")).toEqual([1, 1, 1280]);
    expect(count(graph, "add")).toBe(10);
    expectRoundTrip(graph);
  });

  it("mobilenet-v2 224×224×3: 17 inverted residuals, 10 residual adds, 1280-channel head (Sandler et al. 2018 table 2)", () => {
    const graph = mobilenetV2();
    expect(count(graph, "depthwiseConv2d")).toBe(17);
    expect(count(graph, "add")).toBe(10);
    expect(count(graph, "relu6")).toBe(1 + 16 + 17 + 1);
    const shapes = inferShapes(graph);
    expect(shapes.get("block16_project_bn")).toEqual([7, 7, 320]);
    expect(shapes.get("head_relu6")).toEqual([7, 7, 1280]);
    // The projection is linear: its batch-norm feeds the add or the next block, never an activation.
    const projected = new Set(graph.nodes.filter((n) => n.id.endsWith("_project_bn")).map((n) => n.id));
    for (const n of graph.nodes) if (n.inputs.some((id) => projected.has(id))) expect(["add", "conv2d"]).toContain(n.op);
  });
});

describe("every net", () => {
  it.each(NET_NAMES)("%s: shapes infer, ends in a dense of `classes` units and a separate softmax", (name) => {
    const graph = createNet(name, { classes: 7 });
    const shapes = inferShapes(graph);
    const last = graph.nodes.at(-1) as GraphNode;
    expect(graph.outputs).toEqual([last.id]);
    expect(last.op).toBe("softmax");
    expect(node(graph, last.inputs[0])).toMatchObject({ op: "dense", units: 7, useBias: true });
    expect(shapes.get(last.id)).toEqual([7]);
    expect(count(graph, "softmax")).toBe(1);
    expect(graph.nodes[0]).toMatchObject({ op: "input", shape: name.startsWith("mobilenet") ? [224, 224, 3] : name.startsWith("resnet") ? [32, 32, 3] : [28, 28, 1] });
  });

  it.each(NET_NAMES)("%s: the same seed gives the same weights, another seed others", (name) => {
    const options = name.startsWith("mobilenet") ? { inputShape: [32, 32, 3], classes: 10 } : {};
    const values = (seed: number) => createNet(name, { ...options, seed }).nodes.flatMap((n) => weightsOf(n).map(([, w]) => w.values));
    const [first, again, other] = [values(7), values(7), values(8)];
    first.forEach((array, i) => expect(Buffer.from(again[i].buffer).equals(Buffer.from(array.buffer)), `weight ${i}`).toBe(true));
    expect(first[0]).not.toEqual(other[0]);
    expect(first.at(-2)).not.toEqual(other.at(-2));
  });
});

describe("initial weights", () => {
  const stats = (values: Float32Array) => {
    const mean = values.reduce((sum, v) => sum + v, 0) / values.length;
    const std = Math.sqrt(values.reduce((sum, v) => sum + (v - mean) ** 2, 0) / values.length);
    const maxAbs = values.reduce((max, v) => Math.max(max, Math.abs(v)), 0);
    return { mean, std, maxAbs };
  };

  it("conv kernel [3,3,64,64]: He-normal, std sqrt(2/576), truncated at 2σ of the untruncated normal", () => {
    const { mean, std, maxAbs } = stats(weight(resnet({ depth: 20, seed: 1 }), "stage3_block2_1_conv", "kernel").values);
    const expected = Math.sqrt(2 / 576);
    expect(Math.abs(std / expected - 1)).toBeLessThan(0.02);
    expect(Math.abs(mean)).toBeLessThan(0.02 * expected);
    expect(maxAbs).toBeLessThanOrEqual((2 * expected) / 0.87962566103423978 + 1e-7);
    expect(maxAbs).toBeGreaterThan(1.9 * expected);
  });

  it("depthwise kernel [3,3,960,1]: He-normal with fan-in 3·3 (one input channel per output)", () => {
    const graph = mobilenetV2({ inputShape: [32, 32, 3], classes: 10, seed: 2 });
    const kernel = weight(graph, "block16_dw_conv", "depthwiseKernel");
    expect(kernel.shape).toEqual([3, 3, 960, 1]);
    expect(Math.abs(stats(kernel.values).std / Math.sqrt(2 / 9) - 1)).toBeLessThan(0.04);
  });

  it("dense kernel [3136,1024]: Glorot-uniform within ±sqrt(6/(3136+1024)), std limit/sqrt(3)", () => {
    const { mean, std, maxAbs } = stats(weight(convnet({ seed: 3 }), "fc3", "kernel").values);
    const limit = Math.sqrt(6 / (3136 + 1024));
    expect(maxAbs).toBeLessThanOrEqual(limit);
    expect(maxAbs).toBeGreaterThan(0.999 * limit);
    expect(Math.abs(std / (limit / Math.sqrt(3)) - 1)).toBeLessThan(0.01);
    expect(Math.abs(mean)).toBeLessThan(0.01 * limit);
  });

  it("biases 0; batch-norm gamma 1, beta 0, moving mean 0, moving variance 1", () => {
    const graph = resnet({ depth: 20 });
    const every = (values: Float32Array, value: number) => values.every((v) => v === value);
    for (const n of graph.nodes) {
      if (n.op === "batchNorm") {
        const { gamma, beta, movingMean, movingVariance } = n.weights;
        expect([gamma, beta, movingMean, movingVariance].map((w, i) => every((w as Weight).values, [1, 0, 0, 1][i]))).toEqual([true, true, true, true]);
        expect(n.epsilon).toBe(1e-5);
      }
      if ((n.op === "conv2d" || n.op === "dense") && n.useBias) expect(every(n.weights.bias?.values as Float32Array, 0)).toBe(true);
      if (n.op === "conv2d") expect(n.useBias).toBe(false);
    }
    expect(every(weight(lenet(), "conv1", "bias").values, 0)).toBe(true);
  });

  it("two kernels of the same shape in one net differ (one stream, not one per layer)", () => {
    const graph = resnet({ depth: 20 });
    expect(weight(graph, "stage1_block1_1_conv", "kernel").values).not.toEqual(weight(graph, "stage1_block1_2_conv", "kernel").values);
  });
});

describe("width multiplier and input size", () => {
  it("mobilenet-v1 at 448×448: every conv's MACs multiply by 4, the classifier's stay, parameters stay", () => {
    const [base, large] = [graphCost(mobilenetV1()), graphCost(mobilenetV1({ inputShape: [448, 448, 3] }))];
    expect(large.macs - 1_024_000).toBe(4 * (base.macs - 1_024_000));
    expect(large.params).toBe(base.params);
  });

  it("mobilenet-v1 at 112×112: 'same' padding turns the odd 7×7 map into 4×4 (Keras' explicit padding: 3×3)", () => {
    expect(inferShapes(mobilenetV1({ inputShape: [112, 112, 3] })).get("block12_dw_conv")).toEqual([4, 4, 512]);
  });

  it("mobilenet-v1 width 0.5 at 224: 149M MACs, 1.3M params (Howard et al. 2017 table 6); channels trunc(c·α)", () => {
    const graph = mobilenetV1({ widthMultiplier: 0.5 });
    const cost = graphCost(graph);
    expect({ macs: cost.macs, params: cost.params }).toEqual({ macs: 149_497_088, params: 1_342_536 });
    expect(inferShapes(graph).get("pool")).toEqual([512]);
    expect(inferShapes(mobilenetV1({ widthMultiplier: 0.3 })).get("stem_conv")).toEqual([112, 112, 9]);
  });

  it.each<[number, number, number, number]>([
    // α, MACs (Sandler et al. 2018: 59M, 209M, 300M, 582M), params, head channels
    [0.35, 59_285_808, 1_691_208, 1280],
    [0.75, 209_069_792, 2_663_064, 1280],
    [1, 300_774_272, 3_538_984, 1280],
    [1.4, 582_195_824, 6_156_712, 1792],
  ])("mobilenet-v2 width %f at 224: %i MACs, %i params, head %i", (widthMultiplier, macs, params, head) => {
    const graph = mobilenetV2({ widthMultiplier });
    const cost = graphCost(graph);
    expect({ macs: cost.macs, params: cost.params }).toEqual({ macs, params });
    expect(inferShapes(graph).get("pool")).toEqual([head]);
  });

  it("makeDivisible: nearest multiple of 8, at least 8, never 10% below", () => {
    expect([16, 11.2, 12, 4, 1280 * 1.4, 36, 20].map((c) => makeDivisible(c))).toEqual([16, 16, 16, 8, 1792, 40, 24]);
  });

  it("resnet20 at 28×28×1 (Fashion-MNIST): stages at 28, 14, 7", () => {
    const graph = resnet({ depth: 20, inputShape: [28, 28, 1] });
    const shapes = inferShapes(graph);
    expect([shapes.get("stage1_block3_out"), shapes.get("stage2_block3_out"), shapes.get("stage3_block3_out")]).toEqual([[28, 28, 16], [14, 14, 32], [7, 7, 64]]);
    const stage = (size: number, inChannels: number, channels: number): number =>
      size * size * 9 * inChannels * channels + 5 * size * size * 9 * channels * channels + size * size * inChannels * channels;
    expect(graphCost(graph).macs).toBe(28 * 28 * 9 * 16 + 6 * 28 * 28 * 9 * 16 * 16 + stage(14, 16, 32) + stage(7, 32, 64) + 640);
  });

  it("lenet and convnet at 32×32×3 (CIFAR-10) grow their first dense layer", () => {
    expect(inferShapes(lenet({ inputShape: [32, 32, 3] })).get("flatten")).toEqual([16 * 6 * 6]);
    expect(inferShapes(convnet({ inputShape: [32, 32, 3] })).get("flatten")).toEqual([64 * 8 * 8]);
  });
});

describe("errors name the input, the rule and the choices", () => {
  it.each<[string, () => unknown, string]>([
    ["unknown net", () => createNet("resnet18"), "createNet: unknown net 'resnet18'; choose one of: lenet, convnet, resnet20, resnet32, resnet56, mobilenet-v1, mobilenet-v2"],
    ["unknown option", () => createNet("resnet20", { clases: 10 } as CreateNetOptions), "createNet: unknown option 'clases' for 'resnet20'; options are: inputShape, classes, widthMultiplier, seed"],
    ["width for a net without width", () => createNet("lenet", { widthMultiplier: 0.5 }), "createNet: widthMultiplier applies to mobilenet-v1, mobilenet-v2 only, but was given for 'lenet'"],
    ["resnet depth", () => resnet({ depth: 21 }), "resnet: depth must be 6n+2 with n >= 1 (20, 32, 56, 110, ...), but got 21"],
    ["resnet depth 2", () => resnet({ depth: 2 }), "resnet: depth must be 6n+2 with n >= 1 (20, 32, 56, 110, ...), but got 2"],
    ["resnet shortcut", () => resnet({ depth: 20, shortcut: "identity" as "projection" }), "resnet: shortcut must be 'projection' (option A's zero-padded identity has no op in the model IR), but got 'identity'"],
    ["mobilenet-v1 width too small", () => createNet("mobilenet-v1", { widthMultiplier: 0.01 }), "mobilenetV1: widthMultiplier must be a number >= 0.03125, but got 0.01"],
    ["mobilenet-v2 width not positive", () => mobilenetV2({ widthMultiplier: 0 }), "mobilenetV2: widthMultiplier must be a number > 0, but got 0"],
    ["input shape rank", () => createNet("lenet", { inputShape: [28, 28] }), "lenet: inputShape must be [height, width, channels] of positive integers, but got [28,28]"],
    ["input shape zero", () => convnet({ inputShape: [28, 0, 1] }), "convnet: inputShape must be [height, width, channels] of positive integers, but got [28,0,1]"],
    ["classes", () => createNet("resnet56", { classes: 1 }), "resnet: classes must be an integer >= 2, but got 1"],
    ["seed", () => lenet({ seed: 1.5 }), "lenet: seed must be an integer in 0..4294967295, but got 1.5"],
    ["input too small for a valid window", () => lenet({ inputShape: [8, 8, 1] }), "lenet with inputShape [8,8,1]: conv2d 'conv2': its 5-pixel window with 'valid' padding does not fit the 4-pixel height of 'pool1' [4,4,6]"],
  ])("%s", (_name, build, message) => {
    expect(build).toThrow(message);
  });
});
