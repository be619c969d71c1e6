// What every ONNX export shares: a growing list of nodes and initializers with unique tensor
// names, and the IR → ONNX layout conversions. The IR is NHWC with Keras weight layouts; ONNX
// convolutions are NCHW with OIHW weights, so weights are permuted here once, at export.
import type { GraphNode, Weight, WindowPadding } from "../graph/ir.js";
import { DataType, encodeModel, floatTensor, int64Tensor, type OnnxAttribute, type OnnxModel, type OnnxNode, type OnnxTensor, type OnnxValueInfo } from "./onnx-proto.js";

export const ONNX_OPSET = 13;
/** onnxruntime's contrib ops (QLinearAdd, QLinearAveragePool, ...) live in this domain. */
export const MS_DOMAIN = "com.microsoft";

/** An ONNX tensor of the export and its rank in the exported graph (4: NCHW map, 2: [N, features]). */
export interface TensorRef {
  name: string;
  rank: number;
}

/** An export error: the layer, the format and why; nothing is written after one. */
export class ExportError extends Error {}

export const unsupported = (format: string, node: GraphNode, why: string): ExportError =>
  new ExportError(`export to ${format}: ${node.op} '${node.id}' is not supported: ${why}`);

export class OnnxBuilder {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxTensor[] = [];
  private readonly used = new Set<string>();

  /** Names that only the graph's inputs and outputs may take. */
  constructor(reserved: Iterable<string>) {
    for (const name of reserved) this.used.add(name);
  }

  /** `base`, or `base_2`, `base_3`, ...: the first name not taken yet. */
  fresh(base: string): string {
    let name = base;
    for (let i = 2; this.used.has(name); i++) name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }

  /** Adds a node with fresh output names from `outputBases`; returns those names. */
  op(opType: string, inputs: string[], outputBases: string | string[], attributes: OnnxAttribute[] = [], domain = ""): string[] {
    const outputs = (Array.isArray(outputBases) ? outputBases : [outputBases]).map((base) => this.fresh(base));
    this.nodes.push({ opType, inputs, outputs, name: this.fresh(`${outputs[0]}/${opType}`), attributes, domain });
    return outputs;
  }

  /** Adds a node writing to names already reserved (the graph outputs). */
  opTo(opType: string, inputs: string[], outputs: string[], attributes: OnnxAttribute[] = []): void {
    this.nodes.push({ opType, inputs, outputs, name: this.fresh(`${outputs[0]}/${opType}`), attributes });
  }

  initializer(tensor: Omit<OnnxTensor, "name">, base: string): string {
    const name = this.fresh(base);
    this.initializers.push({ ...tensor, name });
    return name;
  }

  float(base: string, dims: number[], values: Float32Array): string {
    return this.initializer(floatTensor("", dims, values), base);
  }

  int64(base: string, dims: number[], values: number[]): string {
    return this.initializer(int64Tensor("", dims, values), base);
  }

  model(graphName: string, inputs: OnnxValueInfo[], outputs: OnnxValueInfo[], domains: string[] = []): Uint8Array {
    const model: OnnxModel = {
      graphName, producer: "pocketflow-js", producerVersion: "1",
      opsets: [{ domain: "", version: ONNX_OPSET }, ...domains.map((domain) => ({ domain, version: 1 }))],
      nodes: this.nodes, initializers: this.initializers, inputs, outputs,
    };
    return encodeModel(model);
  }
}

export const floatInput = (name: string, shape: number[]): OnnxValueInfo => ({ name, elemType: DataType.FLOAT, dims: ["N", ...shape] });

/** Conv kernel HWIO [kh, kw, in, out] → OIHW [out, in, kh, kw]. */
export function oihwFromHwio(kernel: Weight): { dims: number[]; values: Float32Array } {
  const [kh, kw, cin, cout] = kernel.shape;
  const out = new Float32Array(kernel.values.length);
  for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) for (let i = 0; i < cin; i++) for (let o = 0; o < cout; o++) {
    out[((o * cin + i) * kh + y) * kw + x] = kernel.values[((y * kw + x) * cin + i) * cout + o];
  }
  return { dims: [cout, cin, kh, kw], values: out };
}

/**
 * Depthwise kernel [kh, kw, channels, multiplier] → grouped-conv OIHW [channels·multiplier, 1, kh, kw]:
 * tfjs's output channel c·multiplier + m reads input channel c, as ONNX group = channels does.
 */
export function oihwFromDepthwise(kernel: Weight): { dims: number[]; values: Float32Array } {
  const [kh, kw, channels, multiplier] = kernel.shape;
  const out = new Float32Array(kernel.values.length);
  for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) for (let c = 0; c < channels; c++) for (let m = 0; m < multiplier; m++) {
    out[((c * multiplier + m) * kh + y) * kw + x] = kernel.values[((y * kw + x) * channels + c) * multiplier + m];
  }
  return { dims: [channels * multiplier, 1, kh, kw], values: out };
}

/**
 * ONNX pads [top, left, bottom, right] of a window over an [height, width] input, as TensorFlow
 * computes 'same' (the odd pixel goes after: bottom/right), so the export matches tfjs exactly.
 */
export function windowPads(inHW: readonly number[], kernel: readonly number[], strides: readonly number[], dilation: readonly number[], padding: WindowPadding): number[] {
  if (padding === "valid") return [0, 0, 0, 0];
  const [before, after] = [0, 1].map((axis) => {
    const effective = (kernel[axis] - 1) * dilation[axis] + 1;
    const out = Math.ceil(inHW[axis] / strides[axis]);
    const total = Math.max((out - 1) * strides[axis] + effective - inHW[axis], 0);
    return [Math.floor(total / 2), total - Math.floor(total / 2)];
  }).reduce<number[][]>((acc, [b, a]) => [[...acc[0], b], [...acc[1], a]], [[], []]);
  return [...before, ...after];
}
