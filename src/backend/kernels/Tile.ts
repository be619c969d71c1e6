// Tile for the case batch-norm gradients produce: a tensor whose leading axes have size 1,
// tiled along those axes only (a [1, 1, 1, C] vector to [N, H, W, C]). The output is then the
// input repeated end to end, built by doubling copies. Other tilings and string tensors go to
// the cpu kernel.
import { Tile, util, type KernelConfig, type KernelFunc, type TensorInfo, type TileAttrs, type TileInputs } from "@tensorflow/tfjs-core";
import { BACKEND_NAME } from "../backend.js";
import { onCpu, type KernelArgs } from "./MaxPool.js";

type Numeric = Float32Array | Int32Array | Uint8Array;

/** The storage of each dtype; a cast tensor may still hold its source's storage, converted on copy. */
const STORAGE = { float32: Float32Array, int32: Int32Array, bool: Uint8Array } as const;

/** How many times the whole input repeats in the output, or undefined when tiling is not a plain repetition. */
export function plainRepeats(shape: readonly number[], reps: readonly number[]): number | undefined {
  if (reps.length !== shape.length) return undefined;
  let first = 0;
  while (first < shape.length && shape[first] === 1) first++;
  for (let axis = first; axis < shape.length; axis++) if (reps[axis] !== 1) return undefined;
  return reps.slice(0, first).reduce((p, r) => p * r, 1);
}

export function tile(args: KernelArgs<TileInputs, TileAttrs>): TensorInfo {
  const { backend, attrs } = args;
  const x = args.inputs.x as TensorInfo;
  const Storage = Object.hasOwn(STORAGE, x.dtype) ? STORAGE[x.dtype as keyof typeof STORAGE] : undefined;
  const repeats = Storage ? plainRepeats(x.shape, attrs.reps) : undefined;
  const values = backend.data.get(x.dataId).values as Numeric | undefined;
  if (!Storage || repeats === undefined || !ArrayBuffer.isView(values)) return onCpu(Tile, args);
  const size = values.length;
  const out: Numeric = new Storage(size * repeats);
  if (out.length > 0) {
    out.set(values);
    for (let filled = size; filled < out.length; filled *= 2) out.copyWithin(filled, 0, Math.min(filled, out.length - filled));
  }
  const outShape = x.shape.map((d, axis) => d * attrs.reps[axis]);
  return backend.makeTensorInfo(outShape, x.dtype, out);
}

export const tileConfig: KernelConfig = {
  kernelName: Tile,
  backendName: BACKEND_NAME,
  kernelFunc: tile as unknown as KernelFunc,
};
