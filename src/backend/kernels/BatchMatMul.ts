// BatchMatMul on the SIMD GEMM: one gemmF32 per batch entry (batch dims broadcast as tfjs does).
import { BatchMatMul, broadcast_util, type BatchMatMulAttrs, type BatchMatMulInputs, type KernelConfig, type KernelFunc, type TensorInfo } from "@tensorflow/tfjs-core";
import { gemmF32Op } from "../../kernels/gemm.js";
import { BACKEND_NAME, type PocketflowBackend } from "../backend.js";
import { runKernelOp } from "../executor.js";
import { float32Values, makeTensor } from "../tensor-data.js";

const size = (dims: readonly number[]): number => dims.reduce((p, d) => p * d, 1);

export function batchMatMul(args: { inputs: BatchMatMulInputs; backend: PocketflowBackend; attrs: BatchMatMulAttrs }): TensorInfo {
  const { inputs, backend, attrs } = args;
  const a = inputs.a as TensorInfo;
  const b = inputs.b as TensorInfo;
  const { transposeA, transposeB } = attrs;
  const aRank = a.shape.length;
  const bRank = b.shape.length;
  const m = transposeA ? a.shape[aRank - 1] : a.shape[aRank - 2];
  const k = transposeA ? a.shape[aRank - 2] : a.shape[aRank - 1];
  const kB = transposeB ? b.shape[bRank - 1] : b.shape[bRank - 2];
  const n = transposeB ? b.shape[bRank - 2] : b.shape[bRank - 1];
  if (k !== kB) {
    throw new Error(`BatchMatMul: inner dimensions ${k} of A [${a.shape}] and ${kB} of B [${b.shape}] must match (transposeA=${transposeA}, transposeB=${transposeB})`);
  }
  const batchShape = broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const batch = size(batchShape);
  const batchA = size(a.shape.slice(0, -2));
  const batchB = size(b.shape.slice(0, -2));
  const aValues = float32Values(backend, a, "BatchMatMul");
  const bValues = float32Values(backend, b, "BatchMatMul");
  const out = new Float32Array(batch * m * n);
  for (let i = 0; i < batch; i++) {
    // broadcasting in tfjs's batchMatMul repeats the smaller batch cyclically
    const ai = i % batchA;
    const bi = i % batchB;
    runKernelOp(gemmF32Op(
      aValues.subarray(ai * m * k, (ai + 1) * m * k),
      bValues.subarray(bi * k * n, (bi + 1) * k * n),
      { m, n, k },
      { transA: transposeA, transB: transposeB },
      out.subarray(i * m * n, (i + 1) * m * n),
    ));
  }
  return makeTensor(backend, [...batchShape, m, n], out);
}

export const batchMatMulConfig: KernelConfig = {
  kernelName: BatchMatMul,
  backendName: BACKEND_NAME,
  kernelFunc: batchMatMul as unknown as KernelFunc,
};
