// Running exported ONNX bytes in onnxruntime-node, and the same graph through our tfjs path
// (buildTfjsModel + predict on tfjs's cpu backend), on one seeded NHWC batch.
import * as tf from "@tensorflow/tfjs-core";
import * as ort from "onnxruntime-node";
import { sizeOf, type Graph, type GraphNode } from "../../src/graph/ir.js";
import { buildTfjsModel } from "../../src/tfjs/tfjs-from-graph.js";
import { randomFloats } from "../kernels/random.js";

/** A seeded batch for the graph's (single) input: NHWC, values in [-1, 1). */
export function seededBatch(graph: Graph, batch: number, seed: number): { shape: number[]; values: Float32Array } {
  const input = graph.nodes.find((node): node is Extract<GraphNode, { op: "input" }> => node.op === "input");
  if (input === undefined) throw new Error(`graph '${graph.name}' has no input`);
  const shape = [batch, ...input.shape];
  return { shape, values: randomFloats(sizeOf(shape), seed) };
}

/** Outputs of the ONNX model by output name, for one float input fed under `inputName`. */
export async function runOnnx(bytes: Uint8Array, inputName: string, x: { shape: number[]; values: Float32Array }, optimization: "all" | "disabled" = "all"): Promise<Record<string, Float32Array>> {
  // "disabled" runs QuantizeLinear/DequantizeLinear as written (float fake quantization); "all"
  // lets onnxruntime fuse QDQ groups into its integer kernels
  const session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: optimization });
  try {
    const result = await session.run({ [inputName]: new ort.Tensor("float32", x.values, x.shape) });
    return Object.fromEntries(Object.entries(result).map(([name, tensor]) => [name, Float32Array.from(tensor.data as Float32Array)]));
  } finally {
    await session.release();
  }
}

/** The graph's outputs through tfjs (cpu backend), in graph.outputs order. */
export function tfjsOutputs(graph: Graph, x: { shape: number[]; values: Float32Array }): Float32Array[] {
  const model = buildTfjsModel(graph);
  try {
    return tf.tidy(() => {
      const out = model.predict(tf.tensor(x.values, x.shape));
      return (Array.isArray(out) ? out : [out]).map((t) => t.dataSync() as Float32Array);
    });
  } finally {
    model.dispose();
  }
}
