// An integer model made in the test, keeping deploy/int8-model.ts's contract the way the
// uniform-tf learner does: batch norms folded, per-output-channel symmetric int8 weights put on
// their grid, and uint8 activation ranges from the min/max of every node's output on a
// calibration batch (through tfjs), range-preserving ops sharing their input's.
import * as tf from "@tensorflow/tfjs-core";
import { uncompressed, withQuantization, type CompressedModel, type NodeQuantization } from "../../src/graph/compressed-model.js";
import { foldBatchNorms } from "../../src/graph/fold-batch-norm.js";
import type { Graph, Weight } from "../../src/graph/ir.js";
import { checkInt8Model, isWeightedNode, kernelNameOf, outputChannelGrouping, RANGE_PRESERVING_OPS } from "../../src/deploy/int8-model.js";
import { computeQuantParams, fakeQuantize } from "../../src/kernels/quantize.js";
import { buildTfjsModel } from "../../src/tfjs/tfjs-from-graph.js";

function minMax(values: Float32Array): { min: number; max: number } {
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { min, max };
}

/** Every node's output on the batch, by id (the input node's is the batch itself). */
function nodeOutputs(graph: Graph, x: { shape: number[]; values: Float32Array }): Map<string, Float32Array> {
  const ids = graph.nodes.filter((node) => node.op !== "input" && !graph.outputs.includes(node.id)).map((node) => node.id);
  const model = buildTfjsModel(graph, { extraOutputs: ids });
  try {
    const outputs = tf.tidy(() => {
      const out = model.predictOnBatch(tf.tensor(x.values, x.shape));
      return (Array.isArray(out) ? out : [out]).map((t) => t.dataSync() as Float32Array);
    });
    const byId = new Map([...graph.outputs, ...ids].map((id, i) => [id, outputs[i]]));
    byId.set(graph.nodes[0].id, x.values);
    return byId;
  } finally {
    model.dispose();
  }
}

/** The graph as an integer model, calibrated on `x`; checked against the contract. */
export function int8Model(floatGraph: Graph, x: { shape: number[]; values: Float32Array }): CompressedModel {
  const graph = foldBatchNorms(floatGraph);
  const quantization: Record<string, NodeQuantization> = {};
  for (const node of graph.nodes) {
    if (!isWeightedNode(node)) continue;
    const name = kernelNameOf(node);
    const weight = (node.weights as Record<string, Weight>)[name];
    const grouping = outputChannelGrouping(node);
    const params = computeQuantParams(weight.values, { bits: 8, symmetric: true }, grouping);
    weight.values = fakeQuantize(weight.values, params);
    quantization[node.id] = { weights: { [name]: { scheme: "uniform", bits: 8, symmetric: true, grouping, scales: params.scales, zeroPoints: params.zeroPoints } } };
  }
  const outputs = nodeOutputs(graph, x);
  for (const node of graph.nodes) {
    if (node.op === "softmax" && graph.outputs.includes(node.id)) continue;
    const range = RANGE_PRESERVING_OPS.has(node.op) ? quantization[node.inputs[0]].activation : { bits: 8, symmetric: false, ...minMax(outputs.get(node.id) as Float32Array) };
    quantization[node.id] = { ...quantization[node.id], activation: range };
  }
  const model = withQuantization(uncompressed(graph), quantization);
  checkInt8Model(model);
  return model;
}

/** The graph without the softmax that ends it: its outputs are the logits. */
export function withoutFinalSoftmax(graph: Graph): Graph {
  const softmaxes = new Map(graph.nodes.filter((node) => node.op === "softmax" && graph.outputs.includes(node.id)).map((node) => [node.id, node.inputs[0]]));
  return { ...graph, nodes: graph.nodes.filter((node) => !softmaxes.has(node.id)), outputs: graph.outputs.map((id) => softmaxes.get(id) ?? id) };
}
