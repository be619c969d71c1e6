// PocketflowMovingAverage: tfjs-layers' moving-average update of a batch-norm statistic,
// moving − (moving − value)·decay, as one kernel of our own where the layer's ops cost three
// (Sub, Multiply, Sub) per statistic, 126 kernel calls a ResNet-20 step spent on [C] vectors.
// The vectors are a few dozen values, so the kernel is a plain loop: at that size the engine's
// per-kernel work, not the arithmetic, is the cost, and wasm staging would add to it. Each
// step rounds to f32 as the ops do, so the result is theirs bit for bit. Inputs moving and
// value, float32 of one shape; attribute decay; output the new moving value. Registered for
// the pocketflow backend only; no gradient.
import type { KernelConfig, KernelFunc, TensorInfo } from "@tensorflow/tfjs-core";
import { BACKEND_NAME } from "../backend.js";
import { float32Values, makeTensor } from "../tensor-data.js";
import type { KernelArgs } from "./MaxPool.js";

export const MOVING_AVERAGE = "PocketflowMovingAverage";

export interface MovingAverageInputs {
  moving: TensorInfo;
  value: TensorInfo;
}

export interface MovingAverageAttrs {
  decay: number;
}

/** out[i] = moving[i] − (moving[i] − value[i])·decay, every operation in f32. */
export function movingAverage(moving: Float32Array, value: Float32Array, decay: number): Float32Array {
  const f = Math.fround;
  const d = f(decay);
  return moving.map((m, i) => f(m - f(f(m - value[i]) * d)));
}

export function pocketflowMovingAverage(args: KernelArgs<MovingAverageInputs, MovingAverageAttrs>): TensorInfo {
  const { inputs, backend, attrs } = args;
  const values = (t: TensorInfo): Float32Array => float32Values(backend, t, MOVING_AVERAGE);
  return makeTensor(backend, inputs.moving.shape, movingAverage(values(inputs.moving), values(inputs.value), attrs.decay));
}

export const movingAverageConfig: KernelConfig = {
  kernelName: MOVING_AVERAGE,
  backendName: BACKEND_NAME,
  kernelFunc: pocketflowMovingAverage as unknown as KernelFunc,
};
