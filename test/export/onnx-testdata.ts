// Reading the ONNX backend node tests of Debian's libonnx-testdata: each test directory holds a
// one-node model.onnx and test_data_set_0/{input_N,output_0}.pb (TensorProto). The tests need
// the package: a missing one is an error that says how to install it, never a silent skip.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { onnx } from "onnx-proto";

export const TESTDATA_PACKAGE = "libonnx-testdata";
export const NODE_TESTS_DIR = "/usr/share/libonnx-testdata/data/node";

/** The node tests directory, or an error naming the package and the script that installs it. */
export function nodeTestsDir(): string {
  if (!existsSync(NODE_TESTS_DIR)) {
    throw new Error(`the ONNX backend test vectors are missing from ${NODE_TESTS_DIR}: install Debian's ${TESTDATA_PACKAGE} ` +
      `(apt-get install ${TESTDATA_PACKAGE}, or run scripts/test-data.sh, which npm test runs first)`);
  }
  return NODE_TESTS_DIR;
}

export interface TestTensor {
  dims: number[];
  data: Float32Array | Uint8Array | Int8Array | Int32Array;
}

const ELEMENT_TYPES: Record<number, { bytes: number; make: (buffer: ArrayBuffer) => TestTensor["data"] }> = {
  [onnx.TensorProto.DataType.FLOAT]: { bytes: 4, make: (b) => new Float32Array(b) },
  [onnx.TensorProto.DataType.UINT8]: { bytes: 1, make: (b) => new Uint8Array(b) },
  [onnx.TensorProto.DataType.INT8]: { bytes: 1, make: (b) => new Int8Array(b) },
  [onnx.TensorProto.DataType.INT32]: { bytes: 4, make: (b) => new Int32Array(b) },
};

/** A TensorProto's values, from raw_data or from its typed field (float_data / int32_data). */
export function tensorValues(t: onnx.ITensorProto): TestTensor {
  const type = ELEMENT_TYPES[t.dataType ?? 0];
  if (type === undefined) throw new Error(`tensor '${t.name}': data type ${t.dataType} is not read by these tests`);
  const dims = (t.dims ?? []).map(Number);
  if (t.rawData && t.rawData.length > 0) return { dims, data: type.make(Uint8Array.from(t.rawData).buffer) };
  const typed = t.dataType === onnx.TensorProto.DataType.FLOAT ? t.floatData ?? [] : t.int32Data ?? [];
  const out = type.make(new ArrayBuffer(typed.length * type.bytes));
  out.set(typed as number[]);
  return { dims, data: out };
}

export interface NodeTest {
  name: string;
  node: onnx.INodeProto;
  /** By the node's input names (optional inputs left out are absent). */
  inputs: Map<string, TestTensor>;
  expected: TestTensor;
}

/** One node test (its node, its inputs by name, its expected first output), or undefined when its op is not one of `ops`. */
export function readNodeTest(name: string, ops: readonly string[]): NodeTest | undefined {
  const dir = join(nodeTestsDir(), name);
  const model = onnx.ModelProto.decode(readFileSync(join(dir, "model.onnx")));
  const node = model.graph?.node?.[0];
  if (node === undefined) throw new Error(`${dir}/model.onnx has no node`);
  if (!ops.includes(node.opType ?? "")) return undefined;
  const data = join(dir, "test_data_set_0");
  const files = readdirSync(data);
  const inputs = new Map<string, TestTensor>();
  for (const file of files.filter((f) => f.startsWith("input_")).sort()) {
    const tensor = onnx.TensorProto.decode(readFileSync(join(data, file)));
    inputs.set(tensor.name, tensorValues(tensor));
  }
  const expected = tensorValues(onnx.TensorProto.decode(readFileSync(join(data, "output_0.pb"))));
  return { name, node, inputs, expected };
}

/** An integer or ints attribute of the node, or the default. */
export function attribute(node: onnx.INodeProto, name: string): number | number[] | undefined {
  const a = node.attribute?.find((candidate) => candidate.name === name);
  if (a === undefined) return undefined;
  if (a.type === onnx.AttributeProto.AttributeType.INTS) return (a.ints ?? []).map(Number);
  if (a.type === onnx.AttributeProto.AttributeType.INT) return Number(a.i);
  if (a.type === onnx.AttributeProto.AttributeType.STRING) return undefined;
  throw new Error(`attribute '${name}' of type ${a.type} is not read by these tests`);
}

export function stringAttribute(node: onnx.INodeProto, name: string): string | undefined {
  const a = node.attribute?.find((candidate) => candidate.name === name);
  return a?.s ? new TextDecoder().decode(a.s) : undefined;
}
