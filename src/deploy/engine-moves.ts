// Steps that only move values (concatenate, zero padding) and the float softmax: JS over views
// of the engine's memory. They are rare in the nets we deploy (a pad the next convolution cannot
// absorb, Inception's joins) and bandwidth-bound, so copyWithin on the whole memory is as fast
// as a kernel would be. The moves work on bytes, so one version serves fp32 and uint8 tensors.
import type { KernelCore } from "../kernels/core.js";
import { sizeOf } from "../graph/ir.js";
import type { EngineStep, Runnable } from "./engine-step.js";

/**
 * Joins NHWC inputs along channels: each pixel of the output is each input's pixel in turn.
 * `channels[i]` is input i's channel count; `pixels` the pixels of one example.
 */
export function concatenateStep(
  core: KernelCore, output: string, inputs: readonly string[], channels: readonly number[], pixels: number, elementBytes: number,
): EngineStep {
  const outChannels = channels.reduce((a, b) => a + b, 0);
  return {
    output, inputs, outputBytesPerExample: pixels * outChannels * elementBytes,
    bind(batch, pointers): Runnable[] {
      const total = batch * pixels;
      const outStride = outChannels * elementBytes;
      // views made here, not per run: views of the shared memory stay valid as it grows
      const memory = new Uint8Array(core.buffer);
      return [() => {
        let offset = 0;
        for (let i = 0; i < channels.length; i++) {
          const rowBytes = channels[i] * elementBytes;
          const source = pointers.inputs[i];
          for (let p = 0; p < total; p++) {
            const from = source + p * rowBytes;
            memory.copyWithin(pointers.output + p * outStride + offset, from, from + rowBytes);
          }
          offset += rowBytes;
        }
      }];
    },
  };
}

/**
 * Pads NHWC images by [top, bottom, left, right] pixels of `fillByte` (0 for fp32 zeros; the
 * zero point for uint8, where real 0 is the zero point).
 */
export function zeroPadStep(
  core: KernelCore, output: string, input: string, inShape: readonly number[], padding: readonly [number, number, number, number],
  elementBytes: number, fillByte: number,
): EngineStep {
  const [height, width, channels] = inShape;
  const [top, bottom, left, right] = padding;
  const outWidth = width + left + right;
  const outHeight = height + top + bottom;
  const pixelBytes = channels * elementBytes;
  return {
    output, inputs: [input], outputBytesPerExample: outHeight * outWidth * pixelBytes,
    bind(batch, pointers): Runnable[] {
      const imageBytes = outHeight * outWidth * pixelBytes;
      const memory = new Uint8Array(core.buffer);
      return [() => {
        memory.fill(fillByte, pointers.output, pointers.output + batch * imageBytes);
        for (let n = 0; n < batch; n++) {
          for (let y = 0; y < height; y++) {
            const from = pointers.inputs[0] + ((n * height + y) * width) * pixelBytes;
            const to = pointers.output + n * imageBytes + ((y + top) * outWidth + left) * pixelBytes;
            memory.copyWithin(to, from, from + width * pixelBytes);
          }
        }
      }];
    },
  };
}

/** Softmax over the last axis of a float tensor, in place-safe JS (the classifier's few values). */
export function softmaxStep(core: KernelCore, output: string, input: string, shape: readonly number[]): EngineStep {
  const features = shape[shape.length - 1];
  const perExample = sizeOf(shape);
  return {
    output, inputs: [input], outputBytesPerExample: perExample * 4,
    bind(batch, pointers): Runnable[] {
      const rows = (batch * perExample) / features;
      const x = new Float32Array(core.buffer, pointers.inputs[0], rows * features);
      const y = new Float32Array(core.buffer, pointers.output, rows * features);
      return [() => {
        for (let r = 0; r < rows; r++) softmaxRow(x, y, r * features, features);
      }];
    },
  };
}

/** y = exp(x - max) / sum, as tfjs computes it (the max subtracted, so no overflow). */
function softmaxRow(x: Float32Array, y: Float32Array, start: number, length: number): void {
  let max = -Infinity;
  for (let i = start; i < start + length; i++) max = Math.max(max, x[i]);
  let sum = 0;
  for (let i = start; i < start + length; i++) {
    const e = Math.exp(x[i] - max);
    y[i] = e;
    sum += e;
  }
  for (let i = start; i < start + length; i++) y[i] /= sum;
}
