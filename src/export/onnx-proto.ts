// The few ONNX protobuf messages an export writes (ModelProto and what it holds), encoded by hand:
// the wire format is small (varints and length-delimited fields), and writing it here keeps the
// library free of a protobuf runtime. Field numbers are those of onnx/onnx.proto (IR version 8);
// the tests decode our bytes with the official schema (onnx-proto) and run them in onnxruntime.

/** TensorProto.DataType values that exports use. */
export const DataType = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7 } as const;
export type DataTypeCode = (typeof DataType)[keyof typeof DataType];

export interface OnnxTensor {
  name: string;
  dataType: DataTypeCode;
  dims: number[];
  /** Little-endian element bytes (TensorProto.raw_data). */
  raw: Uint8Array;
}

export type OnnxAttribute =
  | { name: string; kind: "int"; value: number }
  | { name: string; kind: "float"; value: number }
  | { name: string; kind: "ints"; value: number[] }
  | { name: string; kind: "string"; value: string };

export interface OnnxNode {
  opType: string;
  inputs: string[];
  outputs: string[];
  name: string;
  /** "" for the default ONNX domain, "com.microsoft" for onnxruntime's contrib ops. */
  domain?: string;
  attributes?: OnnxAttribute[];
}

/** A graph input or output: a tensor of `elemType` whose dims are numbers or symbolic names. */
export interface OnnxValueInfo {
  name: string;
  elemType: DataTypeCode;
  dims: Array<number | string>;
}

export interface OnnxModel {
  graphName: string;
  producer: string;
  producerVersion: string;
  /** Opset per domain ("" is the default domain). */
  opsets: Array<{ domain: string; version: number }>;
  nodes: OnnxNode[];
  initializers: OnnxTensor[];
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  docString?: string;
}

const IR_VERSION = 8;
const WIRE_VARINT = 0;
const WIRE_FIXED32 = 5;
const WIRE_BYTES = 2;
// AttributeProto.AttributeType
const ATTRIBUTE_TYPE = { float: 1, int: 2, string: 3, ints: 7 } as const;

/** An append-only protobuf message writer. */
class Writer {
  private chunks: Uint8Array[] = [];
  private length = 0;

  private push(bytes: Uint8Array): void {
    this.chunks.push(bytes);
    this.length += bytes.length;
  }

  /** Varint of a non-negative or negative integer (negatives as 10-byte two's complement, as int64). */
  private varint(value: number): void {
    let v = BigInt.asUintN(64, BigInt(value));
    const bytes: number[] = [];
    do {
      const low = Number(v & 0x7fn);
      v >>= 7n;
      bytes.push(v === 0n ? low : low | 0x80);
    } while (v !== 0n);
    this.push(Uint8Array.from(bytes));
  }

  private tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  int(field: number, value: number): this {
    this.tag(field, WIRE_VARINT);
    this.varint(value);
    return this;
  }

  float(field: number, value: number): this {
    this.tag(field, WIRE_FIXED32);
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setFloat32(0, value, true);
    this.push(bytes);
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.tag(field, WIRE_BYTES);
    this.varint(value.length);
    this.push(value);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  message(field: number, inner: Writer): this {
    return this.bytes(field, inner.finish());
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let offset = 0;
    for (const chunk of this.chunks) {
      out.set(chunk, offset);
      offset += chunk.length;
    }
    return out;
  }
}

function tensorProto(t: OnnxTensor): Writer {
  const w = new Writer();
  for (const dim of t.dims) w.int(1, dim);
  return w.int(2, t.dataType).string(8, t.name).bytes(9, t.raw);
}

function attributeProto(a: OnnxAttribute): Writer {
  const w = new Writer().string(1, a.name);
  if (a.kind === "float") w.float(2, a.value);
  else if (a.kind === "int") w.int(3, a.value);
  else if (a.kind === "string") w.string(4, a.value);
  else for (const v of a.value) w.int(8, v);
  return w.int(20, ATTRIBUTE_TYPE[a.kind]);
}

function nodeProto(n: OnnxNode): Writer {
  const w = new Writer();
  for (const input of n.inputs) w.string(1, input);
  for (const output of n.outputs) w.string(2, output);
  w.string(3, n.name).string(4, n.opType);
  for (const a of n.attributes ?? []) w.message(5, attributeProto(a));
  if (n.domain !== undefined && n.domain !== "") w.string(7, n.domain);
  return w;
}

function valueInfoProto(v: OnnxValueInfo): Writer {
  const shape = new Writer();
  for (const dim of v.dims) shape.message(1, typeof dim === "number" ? new Writer().int(1, dim) : new Writer().string(2, dim));
  const tensorType = new Writer().int(1, v.elemType).message(2, shape);
  return new Writer().string(1, v.name).message(2, new Writer().message(1, tensorType));
}

/** The model as ONNX protobuf bytes (a .onnx file). */
export function encodeModel(m: OnnxModel): Uint8Array {
  const graph = new Writer();
  for (const n of m.nodes) graph.message(1, nodeProto(n));
  graph.string(2, m.graphName);
  for (const t of m.initializers) graph.message(5, tensorProto(t));
  if (m.docString !== undefined) graph.string(10, m.docString);
  for (const v of m.inputs) graph.message(11, valueInfoProto(v));
  for (const v of m.outputs) graph.message(12, valueInfoProto(v));
  const model = new Writer().int(1, IR_VERSION).string(2, m.producer).string(3, m.producerVersion);
  model.message(7, graph);
  for (const o of m.opsets) model.message(8, new Writer().string(1, o.domain).int(2, o.version));
  return model.finish();
}

/** Raw little-endian bytes of typed values (the platform's order is checked, not assumed). */
export function rawBytes(values: Float32Array | Int32Array | Int8Array | Uint8Array | BigInt64Array): Uint8Array {
  const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength).slice();
  if (LITTLE_ENDIAN || values.BYTES_PER_ELEMENT === 1) return bytes;
  for (let i = 0; i < bytes.length; i += values.BYTES_PER_ELEMENT) bytes.subarray(i, i + values.BYTES_PER_ELEMENT).reverse();
  return bytes;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export const floatTensor = (name: string, dims: number[], values: Float32Array): OnnxTensor => ({ name, dataType: DataType.FLOAT, dims, raw: rawBytes(values) });
export const int64Tensor = (name: string, dims: number[], values: number[]): OnnxTensor =>
  ({ name, dataType: DataType.INT64, dims, raw: rawBytes(BigInt64Array.from(values, (v) => BigInt(v))) });
