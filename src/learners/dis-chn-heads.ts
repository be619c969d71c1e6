// The auxiliary classifiers of discrimination-aware channel pruning (Zhuang et al. 2018, §3.1):
// the network is cut into stages, and the output of each stage but the last feeds a small
// classifier, L_p = CE(dense(GAP(ReLU(BN(x))))), so the channels a stage keeps are chosen for
// what they tell the classes apart by, not only for reproducing the original's features.
// A head lives only while its stage is pruned: its layers are marked auxiliary, so trained
// weights are copied back into the graph without them, and the saved model never holds them.
// Every training model is built afresh from the IR, so a head keeps its weights as arrays and
// puts them into the new layers each time it is attached.
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import type { Graph } from "../graph/ir.js";
import { readersOf, soleReader } from "../graph/readers.js";
import { markAuxiliary } from "../tfjs/tfjs-from-graph.js";
import { seededRandom } from "../util/random.js";

/** Ops a stage's output passes through after its last pruned conv, up to where the block ends. */
const BLOCK_TAIL_OPS = new Set(["batchNorm", "relu", "relu6", "add"]);

/**
 * Where the block of conv `convId` ends: follow the conv's sole reader through batch norm,
 * activation and residual add while each node is read by one node alone (a ResNet block's
 * `..._out` relu, a plain net's relu after the conv).
 */
export function blockEnd(graph: Graph, convId: string): string {
  const readers = readersOf(graph);
  let end = convId;
  for (;;) {
    const next = soleReader(graph, end, readers);
    if (next === undefined || !BLOCK_TAIL_OPS.has(next.op)) return end;
    end = next.id;
  }
}

/** Glorot-uniform values from a seed, so a run is repeatable. */
function glorotUniform(fanIn: number, fanOut: number, seed: number): Float32Array {
  const random = seededRandom(seed);
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  return Float32Array.from({ length: fanIn * fanOut }, () => (2 * random() - 1) * limit);
}

/** Sets a built layer's weights from arrays, in its weights' order and shapes. */
function setWeights(layer: tfl.layers.Layer, values: readonly Float32Array[]): void {
  const tensors = layer.weights.map((weight, i) => tf.tensor(values[i], weight.shape as number[]));
  layer.setWeights(tensors);
  tf.dispose(tensors);
}

/** One stage's auxiliary classifier: BN → ReLU → global average pool → dense to the classes. */
export class AuxiliaryHead {
  private weights?: { batchNorm: Float32Array[]; dense: Float32Array[] };
  private layers?: { batchNorm: tfl.layers.Layer; dense: tfl.layers.Layer };

  constructor(readonly name: string, private readonly classes: number, private readonly seed: number) {}

  /** The head's logits on `features` ([batch, h, w, channels]), in a model being built. */
  attach(features: tfl.SymbolicTensor): tfl.SymbolicTensor {
    const batchNorm = markAuxiliary(tfl.layers.batchNormalization({ name: `${this.name}_bn`, momentum: 0.9 }));
    const relu = markAuxiliary(tfl.layers.reLU({ name: `${this.name}_relu` }));
    const pool = markAuxiliary(tfl.layers.globalAveragePooling2d({ name: `${this.name}_pool` }));
    const dense = markAuxiliary(tfl.layers.dense({ name: `${this.name}_dense`, units: this.classes }));
    const logits = dense.apply(pool.apply(relu.apply(batchNorm.apply(features)))) as tfl.SymbolicTensor;
    const channels = features.shape[features.shape.length - 1] as number;
    this.weights ??= {
      batchNorm: [new Float32Array(channels).fill(1), new Float32Array(channels), new Float32Array(channels), new Float32Array(channels).fill(1)],
      dense: [glorotUniform(channels, this.classes, this.seed), new Float32Array(this.classes)],
    };
    setWeights(batchNorm, this.weights.batchNorm);
    setWeights(dense, this.weights.dense);
    this.layers = { batchNorm, dense };
    return logits;
  }

  /** Keeps the weights the last attached layers were trained to, for the next model built. */
  remember(): void {
    if (this.layers === undefined) return;
    const read = (layer: tfl.layers.Layer) => layer.getWeights().map((w) => Float32Array.from(w.dataSync() as Float32Array));
    this.weights = { batchNorm: read(this.layers.batchNorm), dense: read(this.layers.dense) };
  }
}
