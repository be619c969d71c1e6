// Reading and making tensors inside our kernels.
import type { DataType, TensorInfo } from "@tensorflow/tfjs-core";
import type { PocketflowBackend } from "./backend.js";

/** The float32 values of a tensor, without a copy. */
export function float32Values(backend: PocketflowBackend, tensor: TensorInfo, kernel: string): Float32Array {
  if (tensor.dtype !== "float32") {
    throw new TypeError(`${kernel}: the pocketflow backend computes in float32, but got a ${tensor.dtype} tensor; cast it with tf.cast(x, "float32")`);
  }
  return backend.data.get(tensor.dataId).values as Float32Array;
}

export function makeTensor(backend: PocketflowBackend, shape: number[], values: Float32Array, dtype: DataType = "float32"): TensorInfo {
  return backend.makeTensorInfo(shape, dtype, values);
}
