// Reading and making tensors inside our kernels.
import type { DataType, TensorInfo } from "@tensorflow/tfjs-core";
import type { PocketflowBackend } from "./backend.js";

/**
 * The float32 values of a tensor, for our kernels. Values outside the kernels' memory move
 * into it first (the tensor's entry now holds the copy): tfjs never changes a tensor's values,
 * so a weight read by every inference costs one copy in its life instead of one per kernel call.
 * A tensor cast to float32 from bool or int32 by the cpu kernels shares its source's
 * Uint8Array/Int32Array: its copy is converted, since our kernels read raw f32 bytes.
 */
export function float32Values(backend: PocketflowBackend, tensor: TensorInfo, kernel: string): Float32Array {
  if (tensor.dtype !== "float32") {
    throw new TypeError(`${kernel}: the pocketflow backend computes in float32, but got a ${tensor.dtype} tensor; cast it with tf.cast(x, "float32")`);
  }
  const entry = backend.data.get(tensor.dataId);
  const values = entry.values as unknown;
  if (backend.outputs.isResident(values)) return values;
  const floats = values instanceof Float32Array ? values : Float32Array.from(values as ArrayLike<number>);
  if (floats.length === 0) return floats;
  const resident = backend.outputs.adopt(floats);
  entry.values = resident;
  return resident;
}

/** A tensor of ours on `values`, made by our kernel (see output-arrays.ts for their reuse). */
export function makeTensor(backend: PocketflowBackend, shape: number[], values: Float32Array, dtype: DataType = "float32"): TensorInfo {
  backend.outputs.claim(values);
  return backend.makeTensorInfo(shape, dtype, values);
}

/** An array of `length` for a kernel output that writes every element (old values remain). */
export const outputArray = (backend: PocketflowBackend, length: number): Float32Array => backend.outputs.take(length);

/** Marks the values of `inputs` as seen outside our kernels (a cpu kernel may keep a view of them). */
export function escapeInputs(backend: PocketflowBackend, inputs: Record<string, unknown>): void {
  for (const input of Object.values(inputs)) {
    const dataId = (input as TensorInfo | undefined)?.dataId;
    if (dataId !== undefined && backend.data.has(dataId)) backend.escapedValues(dataId);
  }
}
