// Conformance of the core's int8 kernels with ONNX: every QuantizeLinear, DequantizeLinear,
// QLinearConv, QLinearMatMul, MatMulInteger and ConvInteger backend test vector of Debian's
// libonnx-testdata runs through our kernels (quantize/dequantize, im2colQuantized, gemmQ8,
// requantize) by a small adapter per op, NCHW → NHWC where the op is a convolution, and must
// equal the expected output exactly. A case our kernels do not cover is skipped with its reason
// printed (listed in SKIPPED below, so a new one fails until it is reviewed).
import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { convGeometry } from "../../src/kernels/conv-geometry.js";
import { gemmQ8, type QuantizedMatrix } from "../../src/kernels/gemm.js";
import { perChannel, perTensor } from "../../src/kernels/grouping.js";
import { im2colQuantized } from "../../src/kernels/im2col.js";
import type { QuantParams } from "../../src/kernels/quant-params.js";
import { dequantize, quantize } from "../../src/kernels/quantize.js";
import { requantize, requantizeSpec } from "../../src/kernels/requantize.js";
import { attribute, nodeTestsDir, readNodeTest, stringAttribute, type NodeTest, type TestTensor } from "./onnx-testdata.js";

/** An op case our kernels do not cover, with the reason. */
class Unsupported extends Error {}

const OPS = ["QuantizeLinear", "DequantizeLinear", "QLinearConv", "QLinearMatMul", "MatMulInteger", "ConvInteger"];
/** Cases skipped on purpose, by test name: reviewed, and listed in the report. */
const SKIPPED: Record<string, string> = {};

const input = (t: NodeTest, index: number): TestTensor | undefined => {
  const name = t.node.input?.[index];
  return name ? t.inputs.get(name) : undefined;
};
const required = (t: NodeTest, index: number): TestTensor => {
  const tensor = input(t, index);
  if (tensor === undefined) throw new Error(`${t.name}: input ${index} missing`);
  return tensor;
};
/** The single value of a scale or zero point (per tensor); 0 when the optional input is absent. */
function scalar(t: NodeTest, index: number, what: string): number {
  const tensor = input(t, index);
  if (tensor === undefined) return 0;
  if (new Set(tensor.data).size !== 1) throw new Unsupported(`${what} differs per channel; gemmQ8 takes one zero point per matrix`);
  return tensor.data[0];
}

/** uint8 affine parameters (ONNX's default type), per tensor or along `axis` of `dims`. */
function uint8Params(t: NodeTest, dims: number[], scaleIndex: number, zpIndex: number): QuantParams {
  const scale = required(t, scaleIndex);
  const zp = input(t, zpIndex);
  if (zp !== undefined && !(zp.data instanceof Uint8Array)) {
    throw new Unsupported("int8 zero point: our int8 grid is symmetric narrow-range [-127, 127] with zero point 0, ONNX's int8 is [-128, 127] with any zero point");
  }
  const axis = (attribute(t.node, "axis") as number | undefined) ?? 1;
  const grouping = scale.data.length === 1 ? perTensor() : perChannel(dims, axis);
  const zeroPoints = zp === undefined ? new Int32Array(scale.data.length) : Int32Array.from(zp.data);
  return { bits: 8, symmetric: false, qmin: 0, qmax: 255, scales: Float32Array.from(scale.data), zeroPoints, grouping };
}

const quantizeLinear = (t: NodeTest): TestTensor => {
  const x = required(t, 0);
  return { dims: x.dims, data: quantize(x.data as Float32Array, uint8Params(t, x.dims, 1, 2)) };
};

const dequantizeLinear = (t: NodeTest): TestTensor => {
  const x = required(t, 0);
  if (!(x.data instanceof Uint8Array)) throw new Unsupported("int8 input: see the int8 zero point");
  return { dims: x.dims, data: dequantize(x.data, uint8Params(t, x.dims, 1, 2)) };
};

const matrix = (data: TestTensor["data"], zeroPoint: number): QuantizedMatrix => ({ data: data as Uint8Array | Int8Array, zeroPoint });

/** (A - zpA)·(B - zpB) over the leading (batch) dims of A; B is 2-D or batched like A. */
function integerMatMul(t: NodeTest, a: TestTensor, b: TestTensor, zpA: number, zpB: number): { acc: Int32Array; rows: number; cols: number; dims: number[] } {
  const [m, k] = a.dims.slice(-2);
  const n = b.dims[b.dims.length - 1];
  const batches = a.data.length / (m * k);
  const acc = new Int32Array(batches * m * n);
  for (let i = 0; i < batches; i++) {
    const bi = b.dims.length === 2 ? b.data : b.data.subarray(i * k * n, (i + 1) * k * n);
    gemmQ8(matrix(a.data.subarray(i * m * k, (i + 1) * m * k), zpA), matrix(bi, zpB), { m, n, k }, {}, acc.subarray(i * m * n, (i + 1) * m * n));
  }
  return { acc, rows: batches * m, cols: n, dims: [...a.dims.slice(0, -1), n] };
}

const matMulInteger = (t: NodeTest): TestTensor => {
  const r = integerMatMul(t, required(t, 0), required(t, 1), scalar(t, 2, "a_zero_point"), scalar(t, 3, "b_zero_point"));
  return { dims: r.dims, data: r.acc };
};

const qlinearMatMul = (t: NodeTest): TestTensor => {
  const r = integerMatMul(t, required(t, 0), required(t, 3), scalar(t, 2, "a_zero_point"), scalar(t, 5, "b_zero_point"));
  const spec = requantizeSpec({ inputScale: scalar(t, 1, "a_scale"), weightScales: scalar(t, 4, "b_scale"), outputScale: scalar(t, 6, "y_scale"), outputZeroPoint: scalar(t, 7, "y_zero_point"), type: "uint8" });
  return { dims: r.dims, data: requantize(r.acc, r.rows, r.cols, spec) };
};

/** NCHW ↔ NHWC of a [n, c, h, w] / [n, h, w, c] array. */
function permute<T extends TestTensor["data"]>(data: T, [n, a, b, c]: number[], toLast: boolean): T {
  const out = new (data.constructor as new (length: number) => T)(data.length);
  for (let i = 0; i < n; i++) for (let x = 0; x < a; x++) for (let y = 0; y < b; y++) for (let z = 0; z < c; z++) {
    const src = ((i * a + x) * b + y) * c + z;
    // toLast: [n, a=C, b=H, c=W] → [n, H, W, C]; otherwise [n, a=H, b=W, c=C] → [n, C, H, W]
    const dst = toLast ? ((i * b + y) * c + z) * a + x : ((i * c + z) * a + x) * b + y;
    out[dst] = data[src];
  }
  return out;
}

/** The integer accumulators of an NCHW conv (ConvInteger's output), as [rows = N·OH·OW, cout] NHWC. */
function integerConv(t: NodeTest, wIndex: number, zpX: number, zpW: number): { acc: Int32Array; rows: number; cout: number; outDims: number[] } {
  const x = required(t, 0);
  const w = required(t, wIndex);
  const group = (attribute(t.node, "group") as number | undefined) ?? 1;
  if (group !== 1) throw new Unsupported(`group = ${group}: im2colQuantized + gemmQ8 compute one dense convolution`);
  const autoPad = stringAttribute(t.node, "auto_pad");
  if (autoPad !== undefined && autoPad !== "NOTSET") throw new Unsupported(`auto_pad ${autoPad}: only explicit pads are mapped`);
  const [n, cin, h, wd] = x.dims;
  const [cout, , kh, kw] = w.dims;
  const pads = (attribute(t.node, "pads") as number[] | undefined) ?? [0, 0, 0, 0];
  const g = convGeometry([n, h, wd, cin], [kh, kw], {
    strides: (attribute(t.node, "strides") as [number, number] | undefined) ?? 1,
    dilations: (attribute(t.node, "dilations") as [number, number] | undefined) ?? 1,
    padding: [pads[0], pads[2], pads[1], pads[3]],
  });
  const cols = im2colQuantized(permute(x.data as Uint8Array, x.dims, true), g, zpX);
  // OIHW → [kh·kw·cin, cout] in im2col's (ky, kx, c) order: the HWIO kernel
  const hwio = new (w.data.constructor as new (length: number) => Uint8Array)(w.data.length);
  for (let o = 0; o < cout; o++) for (let c = 0; c < cin; c++) for (let y = 0; y < kh; y++) for (let z = 0; z < kw; z++) {
    hwio[((y * kw + z) * cin + c) * cout + o] = w.data[((o * cin + c) * kh + y) * kw + z];
  }
  const acc = gemmQ8(matrix(cols, zpX), matrix(hwio, zpW), { m: g.rows, n: cout, k: g.patchSize });
  return { acc, rows: g.rows, cout, outDims: [n, g.outHeight, g.outWidth, cout] };
}

const convInteger = (t: NodeTest): TestTensor => {
  const r = integerConv(t, 1, scalar(t, 2, "x_zero_point"), scalar(t, 3, "w_zero_point"));
  return { dims: [r.outDims[0], r.cout, r.outDims[1], r.outDims[2]], data: permute(r.acc, r.outDims, false) };
};

const qlinearConv = (t: NodeTest): TestTensor => {
  const r = integerConv(t, 3, scalar(t, 2, "x_zero_point"), scalar(t, 5, "w_zero_point"));
  const bias = input(t, 8);
  const spec = requantizeSpec({
    inputScale: scalar(t, 1, "x_scale"), weightScales: required(t, 4).data as Float32Array, outputScale: scalar(t, 6, "y_scale"),
    outputZeroPoint: scalar(t, 7, "y_zero_point"), type: "uint8", bias: bias === undefined ? undefined : (bias.data as Int32Array),
  });
  const y = requantize(r.acc, r.rows, r.cout, spec) as Uint8Array;
  return { dims: [r.outDims[0], r.cout, r.outDims[1], r.outDims[2]], data: permute(y, r.outDims, false) };
};

const ADAPTERS: Record<string, (t: NodeTest) => TestTensor> = {
  QuantizeLinear: quantizeLinear, DequantizeLinear: dequantizeLinear, MatMulInteger: matMulInteger,
  QLinearMatMul: qlinearMatMul, ConvInteger: convInteger, QLinearConv: qlinearConv,
};

/** Every node test whose node is one of OPS (read at collection: a missing package fails the file). */
const cases = readdirSync(nodeTestsDir()).filter((name) => name.startsWith("test_")).sort()
  .map((name) => readNodeTest(name, OPS)).filter((t): t is NodeTest => t !== undefined);

describe("ONNX backend node tests through our int8 kernels", () => {
  it("finds test vectors for every op", () => {
    expect(new Set(cases.map((t) => t.node.opType))).toEqual(new Set(OPS));
  });

  it.each(cases.map((t) => [t.name, t.node.opType, t] as const))("%s (%s) equals the expected output exactly", (name, _op, t) => {
    let actual: TestTensor;
    try {
      actual = ADAPTERS[t.node.opType as string](t);
    } catch (error) {
      if (!(error instanceof Unsupported)) throw error;
      console.log(`skipped ${name}: ${error.message}`);
      expect(SKIPPED[name], `${name} is skipped (${error.message}) but not listed in SKIPPED`).toBe(error.message);
      return;
    }
    expect(SKIPPED[name], `${name} is listed in SKIPPED but now runs: remove it`).toBeUndefined();
    expect(actual.dims).toEqual(t.expected.dims);
    expect(actual.data.constructor).toBe(t.expected.data.constructor);
    expect(Array.from(actual.data)).toEqual(Array.from(t.expected.data));
  });
});
