// A weightless tfjs layer that maps its input through a function of the tensor and the
// training flag, for NodeOverride.output wrappers that are not a standard layer (activation fake
// quantizers and their range trackers). It has no weights, so copyWeightsToGraph passes it by,
// and it is never saved: the graph it wraps is.
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";

type Kwargs = Parameters<tfl.layers.Layer["call"]>[1];
type SymbolicTensor = tfl.SymbolicTensor;

/** What the layer computes; returning the input itself is allowed (the layer then hands on a clone). */
export type TensorMap = (x: tf.Tensor, training: boolean) => tf.Tensor;

class MapLayer extends tfl.layers.Layer {
  static readonly className = "PocketflowMap";

  constructor(name: string, private readonly map: TensorMap) {
    super({ name, trainable: false });
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape | tfl.Shape[] {
    return inputShape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    const y = this.map(x, kwargs.training === true);
    // the layers' executor disposes an input once its readers ran, so never hand it on as is
    return y === x ? tf.clone(x) : y;
  }
}

/** An output wrapper applying `map` (see NodeOverride.output); `name` must be unique in the model. */
export function mapOutput(name: string, map: TensorMap): (output: SymbolicTensor) => SymbolicTensor {
  return (output) => new MapLayer(name, map).apply(output) as SymbolicTensor;
}
