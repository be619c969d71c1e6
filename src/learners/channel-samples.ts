// The rows channel pruning fits one convolution on (He et al. 2017, §3): input patches X from
// the model pruned so far, at sampled output positions, and the outputs Y the ORIGINAL model
// gives there, so that each layer repairs the error of the layers pruned before it. Where the
// conv's output (through its batch norm) meets a residual add, the other branch of the add has
// changed too: Y is corrected by the difference of those branches (pruned − original), scaled
// back through the batch norm, so that the sum, not the branch, is what gets reproduced (as
// PocketFlow's ChannelPrunedLearner does for the last conv of a residual block).
import type { Dataset } from "../data/dataset.js";
import type { Normalization } from "../data/batches.js";
import type { BatchNormNode, Conv2DNode, Graph, GraphNode } from "../graph/ir.js";
import { soleReader } from "../graph/readers.js";
import { collectActivations } from "../tfjs/activation-taps.js";
import type { ConvSamples } from "./channel-selection.js";

export interface SampleOptions {
  /** Images drawn from the training set. */
  samples: number;
  /** Output positions per image (He et al.: 10). */
  positionsPerImage: number;
  seed: number;
  normalization?: Normalization;
}

const nodeById = (graph: Graph, id: string): GraphNode => graph.nodes.find((node) => node.id === id) as GraphNode;

/** The add the conv's output reaches through at most a batch norm, which of its inputs that is, and the batch norm's per-channel scale. */
function residualPath(graph: Graph, convId: string): { addId: string; branch: number; scale: Float64Array | undefined } | undefined {
  let reader = soleReader(graph, convId);
  let from = convId;
  let scale: Float64Array | undefined;
  if (reader?.op === "batchNorm") {
    const bn = reader as BatchNormNode;
    const { gamma, movingVariance } = bn.weights;
    scale = Float64Array.from(movingVariance.values, (v, c) => (gamma ? gamma.values[c] : 1) / Math.sqrt(v + bn.epsilon));
    from = bn.id;
    reader = soleReader(graph, bn.id);
  }
  if (reader?.op !== "add") return undefined;
  return { addId: reader.id, branch: reader.inputs.indexOf(from), scale };
}

/** The add's other input minus our branch's, at the rows' positions: whole images tapped, then gathered. */
function otherBranchRows(graph: Graph, data: Dataset, addId: string, branch: number, positions: Int32Array, rowsPerImage: number, options: SampleOptions): Float32Array {
  const taps = collectActivations(graph, data, { nodes: [addId], samples: options.samples, seed: options.seed, normalization: options.normalization });
  const add = taps.nodes.get(addId);
  if (add === undefined) throw new Error(`channel pruning: no taps of '${addId}'`);
  const [height, width, channels] = add.outputRowShape;
  const rows = positions.length / 2;
  const out = new Float32Array(rows * channels);
  for (let r = 0; r < rows; r++) {
    const image = Math.floor(r / rowsPerImage);
    const offset = image * height * width * channels + (positions[2 * r] * width + positions[2 * r + 1]) * channels;
    for (let c = 0; c < channels; c++) {
      let others = 0;
      add.inputs.forEach((input, i) => { if (i !== branch) others += input[offset + c]; });
      out[r * channels + c] = others;
    }
  }
  return out;
}

/** X from `current`, Y from `original` (residual-corrected, bias removed) for conv `id`. */
export function convSamples(original: Graph, current: Graph, id: string, data: Dataset, options: SampleOptions): ConvSamples {
  const tap = (graph: Graph) => {
    const taps = collectActivations(graph, data, { nodes: [id], ...options });
    return taps.nodes.get(id) as NonNullable<ReturnType<typeof taps.nodes.get>>;
  };
  const x = tap(current);
  const y = tap(original);
  const conv = nodeById(current, id) as Conv2DNode;
  const [kh, kw, inChannels, outChannels] = conv.weights.kernel.shape;
  const targets = Float32Array.from(y.output);
  const path = residualPath(current, id);
  if (path !== undefined && path.branch >= 0) {
    const positions = y.positions as Int32Array;
    const originalOther = otherBranchRows(original, data, path.addId, path.branch, positions, options.positionsPerImage, options);
    const currentOther = otherBranchRows(current, data, path.addId, path.branch, positions, options.positionsPerImage, options);
    for (let i = 0; i < targets.length; i++) targets[i] += (originalOther[i] - currentOther[i]) / (path.scale?.[i % outChannels] ?? 1);
  }
  const bias = conv.weights.bias?.values;
  if (bias !== undefined) for (let i = 0; i < targets.length; i++) targets[i] -= bias[i % outChannels];
  return { patches: x.input, targets, rows: x.rows, taps: kh * kw, inChannels, outChannels };
}
