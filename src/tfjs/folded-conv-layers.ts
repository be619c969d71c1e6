// tfjs-layers Conv2D and DepthwiseConv2D layers that, in inference on the pocketflow backend,
// fold the batch norm reading them into their own weights: with factor = gamma/sqrt(variance +
// epsilon), the convolution with W·factor (per output channel) and bias (b - mean)·factor + beta,
// through the batch norm's fused activation, gives what conv → batch norm → activation gives,
// in one kernel instead of three passes over the activations. The standard inference engines do
// this when they load a model; tfjs-layers runs layer by layer, so the layers do it here.
// The folded weights are computed once and kept until a weight or moving statistic changes
// (a variable's data id changes when it is assigned). The batch-norm layer then passes the
// output through (batch-norm-layer.ts); buildTfjsModel links the two where the batch norm is
// the convolution's only reader. Training, a gradient tape, other backends: the standard layers.
// They serialize as the standard classes (the class names are inherited, these classes are not
// registered), so saved models are what they were.
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
// Loaded for its side effect too: it registers the standard layer classes read below (the
// namespace import alone is erased, as only its types are used).
import "@tensorflow/tfjs-layers";
import type { FusedActivation } from "../kernels/batchnorm.js";
import { BACKEND_NAME } from "../backend/backend.js";

type Kwargs = Parameters<tfl.layers.Layer["call"]>[1];
type ConvArgs = NonNullable<Parameters<typeof tfl.layers.conv2d>[0]>;
type DepthwiseArgs = NonNullable<Parameters<typeof tfl.layers.depthwiseConv2d>[0]>;
type Layer = tfl.layers.Layer;
type DisposeResult = ReturnType<Layer["dispose"]>;

/** What a folded convolution reads of the batch-norm layer after it. */
export interface FoldableBatchNorm {
  readonly fusedActivation?: FusedActivation;
  /** gamma, beta (absent without scale / center), the moving mean and variance, epsilon. */
  inferenceParameters(): { gamma?: tf.Tensor; beta?: tf.Tensor; mean: tf.Tensor; variance: tf.Tensor; epsilon: number };
}

/** The standard layers' state, private in their type declarations. */
interface ConvFields {
  kernel?: tfl.LayerVariable;
  depthwiseKernel?: tfl.LayerVariable;
  bias?: tfl.LayerVariable | null;
  strides: [number, number];
  padding: string;
  dataFormat: string;
  dilationRate: [number, number];
  activation: { getClassName(): string };
}

const foldedBy = new WeakMap<tf.Tensor, FoldableBatchNorm>();

/** Whether x is a convolution's output with `batchNorm` (and its activation) already folded in. */
export const isFoldedOutput = (x: tf.Tensor, batchNorm: FoldableBatchNorm): boolean => foldedBy.get(x) === batchNorm;

/** Folded weights and the data ids of the tensors they were computed from. */
interface Folded {
  sources: readonly object[];
  filter: tf.Tensor;
  bias: tf.Tensor;
}

function classOf<T>(name: string): T {
  return tf.serialization.SerializationMap.getMap().classNameMap[name][0] as unknown as T;
}

/** The folding shared by both layers; `depthwise` says how the filter's last axes map to output channels. */
class ConvFolding {
  private folded?: Folded;

  constructor(private readonly layer: Layer, private readonly depthwise: boolean) {}

  private get fields(): ConvFields {
    return this.layer as unknown as ConvFields;
  }

  /** The layer's call: the folded path where it applies, else `standard` (the standard layer's call). */
  run(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs, batchNorm: FoldableBatchNorm | undefined, standard: () => tf.Tensor | tf.Tensor[]): tf.Tensor | tf.Tensor[] {
    const x = Array.isArray(inputs) && inputs.length === 1 ? inputs[0] : inputs;
    return !Array.isArray(x) && this.applies(x, kwargs, batchNorm) ? this.call(x, batchNorm) : standard();
  }

  /** Whether this call can take the folded path. */
  private applies(x: tf.Tensor, kwargs: Kwargs, batchNorm: FoldableBatchNorm | undefined): batchNorm is FoldableBatchNorm {
    const f = this.fields;
    return batchNorm !== undefined && kwargs.training !== true && !tf.engine().isTapeOn() && tf.getBackend() === BACKEND_NAME
      && x.rank === 4 && x.dtype === "float32" && f.dataFormat === "channelsLast" && f.activation.getClassName() === "linear"
      && (!this.depthwise || f.dilationRate.every((d) => d === 1));
  }

  /** The convolution with the batch norm folded in, through its activation; marked for it. */
  private call(x: tf.Tensor, batchNorm: FoldableBatchNorm): tf.Tensor {
    const f = this.fields;
    const { filter, bias } = this.weights(batchNorm);
    const common = {
      x: x as tf.Tensor4D, strides: f.strides, pad: f.padding === "same" ? "same" as const : "valid" as const, dataFormat: "NHWC" as const,
      dilations: f.dilationRate, bias, activation: batchNorm.fusedActivation ?? "linear" as const,
    };
    const y = this.depthwise
      ? tf.fused.depthwiseConv2d({ ...common, filter: filter as tf.Tensor4D })
      : tf.fused.conv2d({ ...common, filter: filter as tf.Tensor4D });
    foldedBy.set(y, batchNorm);
    return y;
  }

  private weights(batchNorm: FoldableBatchNorm): Folded {
    const f = this.fields;
    const kernel = (this.depthwise ? f.depthwiseKernel : f.kernel)?.read();
    if (kernel === undefined) throw new Error(`${this.layer.name}: folding a batch norm into a convolution that is not built`);
    const bias = f.bias ? f.bias.read() : undefined;
    const { gamma, beta, mean, variance, epsilon } = batchNorm.inferenceParameters();
    const sources = [kernel, bias, gamma, beta, mean, variance].filter((t): t is tf.Tensor => t !== undefined).map((t) => t.dataId);
    const cached = this.folded;
    if (cached && cached.sources.length === sources.length && cached.sources.every((id, i) => id === sources[i])) return cached;
    this.dispose();
    const [filter, foldedBias] = tf.tidy(() => {
      const factor = tf.mul(gamma ?? 1, tf.rsqrt(tf.add(variance, epsilon)));
      const perOutput = this.depthwise ? tf.reshape(factor, kernel.shape.slice(2)) : factor;
      const shifted = bias ? tf.sub(bias, mean) : tf.neg(mean);
      const b = tf.mul(shifted, factor);
      return [tf.keep(tf.mul(kernel, perOutput)), tf.keep(beta ? tf.add(b, beta) : b)];
    });
    this.folded = { sources, filter, bias: foldedBias };
    return this.folded;
  }

  dispose(): void {
    if (this.folded) tf.dispose([this.folded.filter, this.folded.bias]);
    this.folded = undefined;
  }
}

const StandardConv2D = classOf<new (args: ConvArgs) => Layer>("Conv2D");
const StandardDepthwiseConv2D = classOf<new (args: DepthwiseArgs) => Layer>("DepthwiseConv2D");

export class PocketflowConv2D extends StandardConv2D {
  /** The batch norm to fold in at inference (set by buildTfjsModel). */
  foldedBatchNorm?: FoldableBatchNorm;
  private readonly folding = new ConvFolding(this, false);

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor | tf.Tensor[] {
    return this.folding.run(inputs, kwargs, this.foldedBatchNorm, () => super.call(inputs, kwargs));
  }

  override dispose(): DisposeResult {
    this.folding.dispose();
    return super.dispose();
  }
}

export class PocketflowDepthwiseConv2D extends StandardDepthwiseConv2D {
  /** The batch norm to fold in at inference (set by buildTfjsModel). */
  foldedBatchNorm?: FoldableBatchNorm;
  private readonly folding = new ConvFolding(this, true);

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor | tf.Tensor[] {
    return this.folding.run(inputs, kwargs, this.foldedBatchNorm, () => super.call(inputs, kwargs));
  }

  override dispose(): DisposeResult {
    this.folding.dispose();
    return super.dispose();
  }
}
