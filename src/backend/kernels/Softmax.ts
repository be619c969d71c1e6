// Softmax over the last axis (the only axis tfjs's Softmax kernel takes) for float32 logits:
// one pass per row, exp(x - max) / sum. The cpu kernel composes it from max, sub, exp, sum and
// div, whose sub and div take tfjs's generic broadcasting loop (index arithmetic per element):
// 0.2 ms for a [32, 10] classifier output, more than the rest of a small network's head. The
// row is short and exp has no SIMD form, so this is plain TypeScript; other dtypes go to the
// cpu kernel.
import { Softmax, util, type KernelConfig, type KernelFunc, type SoftmaxAttrs, type SoftmaxInputs, type TensorInfo } from "@tensorflow/tfjs-core";
import { BACKEND_NAME } from "../backend.js";
import { float32Values, makeTensor, outputArray } from "../tensor-data.js";
import { allFloat32, onCpu, type KernelArgs } from "./MaxPool.js";

/** out[r, j] = exp(x[r, j] - max_j x[r, j]) / sum_j exp(...), rows of `cols` values. */
export function softmaxRows(x: Float32Array, cols: number, out: Float32Array): Float32Array {
  for (let start = 0; start < x.length; start += cols) {
    const end = start + cols;
    let max = -Infinity;
    for (let i = start; i < end; i++) max = Math.max(max, x[i]);
    let sum = 0;
    for (let i = start; i < end; i++) {
      const e = Math.exp(x[i] - max);
      out[i] = e;
      sum += e;
    }
    for (let i = start; i < end; i++) out[i] /= sum;
  }
  return out;
}

export function softmax(args: KernelArgs<SoftmaxInputs, SoftmaxAttrs>): TensorInfo {
  const { backend } = args;
  const logits = args.inputs.logits as TensorInfo;
  const size = util.sizeFromShape(logits.shape);
  const cols = logits.shape.length > 0 ? logits.shape[logits.shape.length - 1] : 1;
  if (!allFloat32(logits) || size === 0) return onCpu(Softmax, args);
  const out = softmaxRows(float32Values(backend, logits, Softmax), cols, outputArray(backend, size));
  return makeTensor(backend, logits.shape, out);
}

export const softmaxConfig: KernelConfig = {
  kernelName: Softmax,
  backendName: BACKEND_NAME,
  kernelFunc: softmax as unknown as KernelFunc,
};
