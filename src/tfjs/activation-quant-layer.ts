// Fake quantization of activations, as PocketFlow's UniformQuantLearner applies it after every
// ReLU: in training, each batch is quantized over its own [min, max] (the min-max quantizer of
// uql_activation_bits) with a straight-through gradient, and an exponential moving average of
// those ranges is kept (Jacob et al. 2018, §3.1), for inference and for the stored
// ActivationQuantization. In inference the averaged range is used (no range yet: identity).
// The grid is the core's (quant-params.ts): widened to hold 0, so a ReLU's zeros stay exact.
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { quantParamsFromRange } from "../kernels/quant-params.js";
import { perTensor } from "../kernels/grouping.js";
import { straightThrough } from "../train/straight-through.js";

type Kwargs = Parameters<tfl.layers.Layer["call"]>[1];

export interface ActivationRange {
  min: number;
  max: number;
}

/** x on the `bits`-bit asymmetric grid of [min, max]: (clip(round(x / s) + zp) − zp) · s, rounding half to even as tf.round does. */
export function fakeQuantizeRange(x: tf.Tensor, bits: number, range: ActivationRange): tf.Tensor {
  const params = quantParamsFromRange(Float32Array.of(range.min), Float32Array.of(range.max), { bits }, perTensor());
  const [scale, zeroPoint] = [params.scales[0], params.zeroPoints[0]];
  return tf.tidy(() => tf.mul(tf.sub(tf.clipByValue(tf.add(tf.round(tf.div(x, scale)), zeroPoint), params.qmin, params.qmax), zeroPoint), scale));
}

export interface ActivationFakeQuantArgs {
  name: string;
  bits: number;
  /** Weight of the old range in the moving average (default 0.9). */
  momentum?: number;
  /** A fixed range (inference of a quantized model): training then neither measures nor moves it. */
  range?: ActivationRange;
}

export class ActivationFakeQuant extends tfl.layers.Layer {
  static readonly className = "PocketflowActivationFakeQuant";
  readonly bits: number;
  private readonly momentum: number;
  private readonly fixed: boolean;
  private averaged: ActivationRange | undefined;

  constructor(args: ActivationFakeQuantArgs) {
    super({ name: args.name });
    this.bits = args.bits;
    this.momentum = args.momentum ?? 0.9;
    this.fixed = args.range !== undefined;
    this.averaged = args.range;
  }

  /** The moving-average range so far (undefined before the first training batch). */
  get range(): ActivationRange | undefined {
    return this.averaged === undefined ? undefined : { ...this.averaged };
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape | tfl.Shape[] {
    return inputShape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    let range = this.averaged;
    if (kwargs.training === true && !this.fixed) {
      range = { min: tf.min(x).dataSync()[0], max: tf.max(x).dataSync()[0] };
      const m = this.momentum;
      this.averaged = this.averaged === undefined ? range : { min: m * this.averaged.min + (1 - m) * range.min, max: m * this.averaged.max + (1 - m) * range.max };
    }
    if (range === undefined) return tf.clone(x);
    const fixedRange = range;
    return straightThrough((value) => fakeQuantizeRange(value, this.bits, fixedRange))(x);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), bits: this.bits, momentum: this.momentum };
  }
}
