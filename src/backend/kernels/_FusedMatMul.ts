// _FusedMatMul (the dense layer: matmul + bias + activation) on the SIMD GEMM. The product is
// our BatchMatMul; bias and activation that broadcast per output column run in one pass over
// its result, any other broadcast with the cpu backend's kernels, as the cpu kernel does.
import { _FusedMatMul, type _FusedMatMulAttrs, type _FusedMatMulInputs, type KernelConfig, type KernelFunc, type TensorInfo } from "@tensorflow/tfjs-core";
import { applyEpilogue } from "../../kernels/conv2d.js";
import { BACKEND_NAME, type PocketflowBackend } from "../backend.js";
import { batchMatMul } from "./BatchMatMul.js";
import { applyTailWithCpuKernels, fusedEpilogue, fusedTail } from "./FusedConv2D.js";

export function fusedMatMul(args: { inputs: _FusedMatMulInputs; backend: PocketflowBackend; attrs: _FusedMatMulAttrs }): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { a, b } = inputs;
  const product = batchMatMul({ inputs: { a, b }, backend, attrs: { transposeA: attrs.transposeA, transposeB: attrs.transposeB } });
  const tail = fusedTail(inputs, attrs);
  const epilogue = fusedEpilogue(backend, "_FusedMatMul", tail, product.shape);
  if (!epilogue) return applyTailWithCpuKernels(backend, "_FusedMatMul", product, tail);
  // the product is a fresh tensor of ours: apply the tail in place
  const values = backend.data.get(product.dataId).values as Float32Array;
  applyEpilogue(values, values, product.shape[product.shape.length - 1], epilogue);
  return product;
}

export const fusedMatMulConfig: KernelConfig = {
  kernelName: _FusedMatMul,
  backendName: BACKEND_NAME,
  kernelFunc: fusedMatMul as unknown as KernelFunc,
};
