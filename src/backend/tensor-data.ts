// Reading and making tensors inside our kernels.
import type { DataType, TensorInfo } from "@tensorflow/tfjs-core";
import type { PocketflowBackend } from "./backend.js";

/**
 * The float32 values of a tensor, without a copy when they are stored as float32. A tensor cast
 * to float32 from bool or int32 by the cpu kernels shares its source's Uint8Array/Int32Array:
 * those are converted, since our kernels read raw f32 bytes.
 */
export function float32Values(backend: PocketflowBackend, tensor: TensorInfo, kernel: string): Float32Array {
  if (tensor.dtype !== "float32") {
    throw new TypeError(`${kernel}: the pocketflow backend computes in float32, but got a ${tensor.dtype} tensor; cast it with tf.cast(x, "float32")`);
  }
  const values = backend.data.get(tensor.dataId).values as unknown;
  return values instanceof Float32Array ? values : Float32Array.from(values as ArrayLike<number>);
}

export function makeTensor(backend: PocketflowBackend, shape: number[], values: Float32Array, dtype: DataType = "float32"): TensorInfo {
  return backend.makeTensorInfo(shape, dtype, values);
}
