// `exportOnnx`: a compressed model as an ONNX model (opset 13) that onnxruntime runs with the
// predictions of our own paths. Float models (pruned ones too: pruned channels are gone from the
// graph, pruned weights are zeros) export as float graphs; int8 models (deploy/int8-model.ts's
// convention) as QDQ graphs by default or as QOperator graphs (QLinearConv and onnxruntime's QLinear ops).
import type { CompressedModel } from "../graph/compressed-model.js";
import { writeFileAtomic } from "../io/file-handler.js";
import { ExportError, OnnxBuilder } from "./onnx-builder.js";
import { emitFloatGraph, emitOutputs, floatHooks, graphValueInfos } from "./onnx-float.js";
import { exportOnnxInt8, isInt8Model } from "./onnx-int8.js";

export type OnnxFlavor = "float" | "qdq" | "qoperator";

export interface OnnxExportOptions {
  /**
   * float: the float graph (of an int8 model too: its weights are on the int8 grid already);
   * qdq: QuantizeLinear/DequantizeLinear around the float ops; qoperator: integer ops.
   * Default: qdq for an int8 model, float otherwise.
   */
  flavor?: OnnxFlavor;
}

/** The model's float graph as ONNX bytes. */
export function exportOnnxFloat(model: CompressedModel): Uint8Array {
  const { graph } = model;
  const { inputs, outputs } = graphValueInfos(graph);
  const b = new OnnxBuilder([...inputs, ...outputs].map((v) => v.name));
  const refs = emitFloatGraph(graph, b, floatHooks(b), "onnx");
  emitOutputs(graph, b, refs);
  return b.model(graph.name, inputs, outputs);
}

/** The model as ONNX bytes; an op the format cannot express is an ExportError naming the layer. */
export function exportOnnx(model: CompressedModel, options: OnnxExportOptions = {}): Uint8Array {
  const flavor = options.flavor ?? (isInt8Model(model) ? "qdq" : "float");
  if (flavor === "float") return exportOnnxFloat(model);
  try {
    return exportOnnxInt8(model, flavor);
  } catch (error) {
    // an 8-bit model that is not an integer model was sent here by the default: say how to get its float graph
    if (options.flavor !== undefined || !(error instanceof Error) || error instanceof ExportError) throw error;
    throw new Error(`${error.message} (or export its float graph: flavor 'float', --float)`);
  }
}

/** exportOnnx, written atomically to `path`. Returns the bytes written. */
export async function saveOnnx(path: string, model: CompressedModel, options: OnnxExportOptions = {}): Promise<number> {
  const bytes = exportOnnx(model, options);
  await writeFileAtomic(path, bytes); // never a half-written model
  return bytes.length;
}
