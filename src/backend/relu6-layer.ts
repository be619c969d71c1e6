// A tfjs-layers ReLU whose relu6 (maxValue 6, MobileNet's activation) is one Relu6 kernel
// instead of the standard layer's relu followed by clipByValue: on the pocketflow backend each
// kernel copies the whole activation into and out of the kernels' memory, so two passes cost
// twice one. Values are the same (min(max(x, 0), 6)). It serializes as a plain 'ReLU' with
// maxValue 6 (the class name is inherited and this class is not registered), so saved models
// load with tf.loadLayersModel and graphFromTfjs reads them as before.
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";

type ReLULayerArgs = NonNullable<Parameters<typeof tfl.layers.reLU>[0]>;
type StandardReLU = ReturnType<typeof tfl.layers.reLU>;
type Kwargs = Parameters<tfl.layers.Layer["call"]>[1];

// tfjs-layers exports the layer's factory, not its class; the class is where tfjs-layers
// registered it for deserialization.
const Standard = tf.serialization.SerializationMap.getMap().classNameMap.ReLU[0] as unknown as new (args?: ReLULayerArgs) => StandardReLU;

export class PocketflowReLU6 extends Standard {
  constructor(args: Omit<ReLULayerArgs, "maxValue"> = {}) {
    super({ ...args, maxValue: 6 });
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor | tf.Tensor[] {
    const x = Array.isArray(inputs) && inputs.length === 1 ? inputs[0] : inputs;
    if (Array.isArray(x)) return super.call(inputs, kwargs);
    return tf.relu6(x);
  }
}

/** tfl.layers.reLU({ maxValue: 6 }) computed as one Relu6 kernel. */
export function pocketflowReLU6(args: Omit<ReLULayerArgs, "maxValue"> = {}): StandardReLU {
  return new PocketflowReLU6(args);
}
