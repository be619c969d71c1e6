// The initializers of an integer model's ONNX export, made once each: uint8 activation scale and
// zero point pairs, int8 per-channel kernels in ONNX layout, int32 biases on the accumulator's
// scale. Shared by the QDQ and the QOperator forms, so both carry the very same numbers.
import type { CompressedModel } from "../graph/compressed-model.js";
import type { GraphNode } from "../graph/ir.js";
import { activationParams, fusedActivations, kernelNameOf, weightQuantizationOf, type ActivationParams, type WeightedNode } from "../deploy/int8-model.js";
import { int32Bias } from "../deploy/engine-int8-steps.js";
import type { OnnxBuilder } from "./onnx-builder.js";
import { DataType, rawBytes } from "./onnx-proto.js";

/** The tensors of the model's int8 parameters, each made once. */
export class Int8Tensors {
  private readonly cache = new Map<string, string>();
  readonly fused: Map<string, GraphNode>;

  constructor(readonly model: CompressedModel, readonly b: OnnxBuilder) {
    this.fused = fusedActivations(model.graph);
  }

  private once(key: string, make: () => string): string {
    let name = this.cache.get(key);
    if (name === undefined) this.cache.set(key, (name = make()));
    return name;
  }

  /** uint8 parameters a node's output is written with (its fused activation's when fused). */
  params(nodeId: string): ActivationParams {
    return activationParams(this.model, nodeId, this.fused);
  }

  /** Scale (float scalar) and zero point (uint8 scalar) initializers of these parameters. */
  scaleAndZeroPoint(p: ActivationParams): [string, string] {
    const scale = this.once(`scale ${p.scale}`, () => this.b.float("scale", [], Float32Array.of(p.scale)));
    const zp = this.once(`zp ${p.zeroPoint}`, () => this.b.initializer({ dataType: DataType.UINT8, dims: [], raw: Uint8Array.of(p.zeroPoint) }, "zero_point"));
    return [scale, zp];
  }

  /** int8 kernel q (ONNX layout: output channel on `axis`), its scales and int8 zero points. */
  kernel(node: WeightedNode, dims: number[], values: Float32Array, axis: number): { q: string; scales: string; zeroPoints: string } {
    const { scales } = weightQuantizationOf(this.model, node);
    const inner = dims.slice(axis + 1).reduce((p, d) => p * d, 1);
    const q = Int8Array.from(values, (v, i) => Math.round(v / scales[Math.floor(i / inner) % scales.length])); // on the grid: exact
    const id = `${node.id}/${kernelNameOf(node)}`;
    return {
      q: this.b.initializer({ dataType: DataType.INT8, dims, raw: rawBytes(q) }, `${id}_quantized`),
      scales: this.b.float(`${id}_scale`, [scales.length], Float32Array.from(scales)),
      zeroPoints: this.b.initializer({ dataType: DataType.INT8, dims: [scales.length], raw: new Uint8Array(scales.length) }, `${id}_zero_point`),
    };
  }

  /** The int32 bias on the accumulator's scale inputScale·weightScale[c], and that scale. */
  bias(node: WeightedNode, values: Float32Array): { q: string; scales: Float32Array } {
    const inputScale = this.params(node.inputs[0]).scale;
    const weightScales = weightQuantizationOf(this.model, node).scales;
    const scales = Float32Array.from(weightScales, (w) => inputScale * w);
    // the int8 engine's very biases (rounded in f64), so both run the same integers
    const q = int32Bias(values, inputScale, weightScales, values.length);
    return { q: this.b.initializer({ dataType: DataType.INT32, dims: [q.length], raw: rawBytes(q) }, `${node.id}/bias_quantized`), scales };
  }
}

