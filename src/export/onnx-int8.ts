// An integer model (deploy/int8-model.ts) as ONNX, in the two forms onnxruntime runs as integer
// inference: QDQ (the float graph with QuantizeLinear → DequantizeLinear on every activation and
// DequantizeLinear on the int8 weights and int32 biases: onnxruntime fuses these into integer
// kernels; TensorRT and other runtimes read the same form) and QOperator (QLinearConv and
// onnxruntime's com.microsoft QLinearAdd, QLinearConcat, QLinearAveragePool,
// QLinearGlobalAveragePool, with float islands DequantizeLinear → op → QuantizeLinear for the
// rest). Both use the model's own parameters: int8 per-channel weights (zero point 0), uint8
// activations from quantParamsFromRange, int32 biases round(bias / (inputScale·weightScale[c])).
import type { CompressedModel } from "../graph/compressed-model.js";
import { checkInt8Model, isWeightedNode, looksInt8, type ActivationParams } from "../deploy/int8-model.js";
import { OnnxBuilder, type TensorRef } from "./onnx-builder.js";
import { emitFloatGraph, emitOutputs, graphValueInfos, type FloatGraphHooks } from "./onnx-float.js";
import { Int8Tensors } from "./onnx-int8-tensors.js";
import { DataType } from "./onnx-proto.js";
import { emitQOperatorGraph } from "./onnx-qoperator.js";

/** The export's default for a model: QDQ when the model carries 8-bit activation ranges. */
export const isInt8Model = looksInt8;

/** Q → DQ of a tensor on a node's output parameters: what every reader of a QDQ graph sees. */
function quantizeDequantize(t: Int8Tensors, ref: TensorRef, p: ActivationParams): TensorRef {
  const [scale, zp] = t.scaleAndZeroPoint(p);
  const [q] = t.b.op("QuantizeLinear", [ref.name, scale, zp], `${ref.name}_quantized`);
  return { name: t.b.op("DequantizeLinear", [q, scale, zp], `${ref.name}_dequantized`)[0], rank: ref.rank };
}

function qdqHooks(t: Int8Tensors): FloatGraphHooks {
  const { b, model } = t;
  return {
    weight(node, irName, dims, values) {
      if (!isWeightedNode(node)) return b.float(`${node.id}/${irName}`, dims, values);
      if (irName === "bias") {
        const { q, scales } = t.bias(node, values);
        const zeros = b.initializer({ dataType: DataType.INT32, dims: [scales.length], raw: new Uint8Array(4 * scales.length) }, `${node.id}/bias_zero_point`);
        return b.op("DequantizeLinear", [q, b.float(`${node.id}/bias_scale`, [scales.length], scales), zeros], `${node.id}/bias`, [{ name: "axis", kind: "int", value: 0 }])[0];
      }
      const axis = node.op === "dense" ? 1 : 0; // dense [in, units]: units last; OIHW: O first
      const k = t.kernel(node, dims, values, axis);
      return b.op("DequantizeLinear", [k.q, k.scales, k.zeroPoints], `${node.id}/${irName}`, [{ name: "axis", kind: "int", value: axis }])[0];
    },
    output(node, ref) {
      const finalSoftmax = node.op === "softmax" && model.graph.outputs.includes(node.id);
      // a dropout hands on its input's tensor, already quantized; a fused layer's relu quantizes
      if (finalSoftmax || node.op === "dropout" || t.fused.has(node.id)) return ref;
      return quantizeDequantize(t, ref, t.params(node.id));
    },
  };
}

/** The integer model as QDQ or QOperator ONNX bytes; a model that breaks the contract is an error naming the node. */
export function exportOnnxInt8(model: CompressedModel, flavor: "qdq" | "qoperator"): Uint8Array {
  checkInt8Model(model);
  const { graph } = model;
  const { inputs, outputs } = graphValueInfos(graph);
  const b = new OnnxBuilder([...inputs, ...outputs].map((v) => v.name));
  const t = new Int8Tensors(model, b);
  if (flavor === "qdq") {
    emitOutputs(graph, b, emitFloatGraph(graph, b, qdqHooks(t), "onnx (QDQ)"));
    return b.model(graph.name, inputs, outputs);
  }
  emitQOperatorGraph(t);
  return b.model(graph.name, inputs, outputs, ["com.microsoft"]);
}
