// tfjs-layers ReLU layers for the models we build:
// - relu6 (maxValue 6, MobileNet's activation) is one Relu6 kernel instead of the standard
//   layer's relu followed by clipByValue: on the pocketflow backend each kernel is a pass over
//   the whole activation, so two passes cost twice one. Values are the same (min(max(x, 0), 6)).
// - both pass through an input that a batch-norm layer has already activated (fused-activation.ts),
//   as a new tensor sharing its values (the layers' executor disposes the input once read).
// They serialize as a plain 'ReLU' (the class name is inherited and this class is not
// registered), so saved models load with tf.loadLayersModel and graphFromTfjs reads them as before.
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
// Loaded for its side effect too: it registers the standard layer class read below (the
// namespace import alone is erased, as only its types are used).
import "@tensorflow/tfjs-layers";
import { alreadyActivated } from "../backend/fused-activation.js";

type ReLULayerArgs = NonNullable<Parameters<typeof tfl.layers.reLU>[0]>;
type StandardReLU = ReturnType<typeof tfl.layers.reLU>;
type Kwargs = Parameters<tfl.layers.Layer["call"]>[1];

// tfjs-layers exports the layer's factory, not its class; the class is where tfjs-layers
// registered it for deserialization.
const Standard = tf.serialization.SerializationMap.getMap().classNameMap.ReLU[0] as unknown as new (args?: ReLULayerArgs) => StandardReLU;

export class PocketflowReLU extends Standard {
  private readonly relu6: boolean;

  /** A plain relu, or relu6 with maxValue 6 (no other maxValue). */
  constructor(args: ReLULayerArgs = {}) {
    if (args.maxValue !== undefined && args.maxValue !== 6) throw new RangeError(`PocketflowReLU: maxValue must be 6 or absent, but got ${args.maxValue}`);
    super(args);
    this.relu6 = args.maxValue === 6;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor | tf.Tensor[] {
    const x = Array.isArray(inputs) && inputs.length === 1 ? inputs[0] : inputs;
    if (Array.isArray(x)) return super.call(inputs, kwargs);
    if (alreadyActivated(x, this.relu6 ? "relu6" : "relu")) return tf.clone(x);
    return this.relu6 ? tf.relu6(x) : tf.relu(x);
  }
}

/** tfl.layers.reLU(), passing through what a batch norm has activated. */
export function pocketflowReLU(args: Omit<ReLULayerArgs, "maxValue"> = {}): StandardReLU {
  return new PocketflowReLU(args);
}

/** tfl.layers.reLU({ maxValue: 6 }) computed as one Relu6 kernel, passing through what a batch norm has activated. */
export function pocketflowReLU6(args: Omit<ReLULayerArgs, "maxValue"> = {}): StandardReLU {
  return new PocketflowReLU({ ...args, maxValue: 6 });
}
