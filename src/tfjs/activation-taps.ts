// Activation taps: the input and output tensors of chosen IR nodes on sampled images, exactly as
// the IR defines them, for learners that fit a layer to its own activations (channel pruning's
// LASSO selection and least-squares reconstruction, He et al. 2017, "Channel pruning for
// accelerating very deep neural networks"). A model built for training folds conv → batch norm
// → relu into one kernel at inference on our backend, so a tensor read from inside it is not the
// node's output. Here the tapped nodes and their inputs are the model's outputs, which fuse with
// nothing, and the model holds only their ancestors. Batches run one at a time and only the
// sampled rows are kept, so memory is what the rows take, checked before anything runs.
import * as tf from "@tensorflow/tfjs-core";
import type * as tfl from "@tensorflow/tfjs-layers";
import { sizeOf, type Graph, type GraphNode, type InputNode } from "../graph/ir.js";
import { inferShapes } from "../graph/shapes.js";
import { batches, type Batch, type Normalization } from "../data/batches.js";
import { gatherSamples, sampleCount, shuffledIndices, type Dataset } from "../data/dataset.js";
import { checkInteger, fail } from "../util/check.js";
import { seededRandom } from "../util/random.js";
import { buildTfjsModel } from "./tfjs-from-graph.js";
import { gatherPatch, gatherVector, samplePositions, tapLayout, type TapLayout } from "./tap-rows.js";

const WHERE = "collectActivations";
const MIB = 1024 * 1024;

export interface ActivationTapOptions {
  /** Ids of the nodes to tap. */
  nodes: readonly string[];
  /** How many images to draw from the dataset (a seeded choice, without replacement). */
  samples: number;
  /** Images per forward pass (default 32): bounds the activations in flight. */
  batchSize?: number;
  normalization?: Normalization;
  /** Seeds the images drawn and the positions sampled in them (default 0). */
  seed?: number;
  /**
   * Rows of this many distinct random output positions per image (He et al. take 10) instead
   * of whole images; each node draws its own positions.
   */
  positionsPerImage?: number;
  /** The rows kept may take at most this many bytes (default 256 MiB), checked before anything runs. */
  maxBytes?: number;
}

/**
 * One tapped node's rows, row after row, in the order of `sampleIndices` (and of the positions
 * within an image). Without positionsPerImage a row is one image's whole tensor (NHWC); with it,
 * the output row is the output vector at one position and each input row the input patch a
 * convolution reads for it ([kh, kw, inChannels], im2col's order, zeros off the input) or the
 * input vector at that position.
 */
export interface NodeActivations {
  rows: number;
  /** One array per input of the node (an add has several), rows × the input's row size. */
  inputs: Float32Array[];
  inputRowShapes: number[][];
  /** inputs[0] and its row shape: the one input of every node but an add. */
  input: Float32Array;
  inputRowShape: number[];
  output: Float32Array;
  outputRowShape: number[];
  /** With positionsPerImage: the output position (y, x) of each row, rows × 2. */
  positions?: Int32Array;
}

export interface ActivationTaps {
  /** Dataset indices of the images drawn, in the order their rows come. */
  sampleIndices: Uint32Array;
  /** By requested node id. */
  nodes: Map<string, NodeActivations>;
}

interface ResolvedOptions {
  samples: number;
  batchSize: number;
  seed: number;
  positionsPerImage?: number;
  maxBytes: number;
}

function checkOptions(graph: Graph, dataset: Dataset, options: ActivationTapOptions): ResolvedOptions {
  const { samples, batchSize = 32, seed = 0, positionsPerImage, maxBytes = 256 * MIB } = options;
  if (options.nodes.length === 0) fail(WHERE, "nodes must name at least one node to tap, but is empty");
  const available = sampleCount(dataset);
  if (!Number.isInteger(samples) || samples < 1 || samples > available) {
    fail(WHERE, `samples must be an integer in 1..${available} (the images of dataset '${dataset.name}'), but got ${samples}`);
  }
  checkInteger(WHERE, "batchSize", batchSize, 1);
  checkInteger(WHERE, "seed", seed, -(2 ** 31), 2 ** 32 - 1);
  if (positionsPerImage !== undefined) checkInteger(WHERE, "positionsPerImage", positionsPerImage, 1);
  if (!(maxBytes > 0)) fail(WHERE, `maxBytes must be a positive number of bytes, but got ${maxBytes}`);
  const inputs = graph.nodes.filter((node): node is InputNode => node.op === "input");
  if (inputs.length !== 1) fail(WHERE, `graph '${graph.name}' must have one input node to feed the dataset's images, but has ${inputs.length}`);
  const imageShape = inputs[0].shape;
  if (imageShape.join(",") !== dataset.imageShape.join(",")) {
    fail(WHERE, `graph '${graph.name}' takes [${imageShape.join(",")}] images, but dataset '${dataset.name}' has [${dataset.imageShape.join(",")}]`);
  }
  return { samples, batchSize, seed, positionsPerImage, maxBytes };
}

/** The layout of every requested node, checked: known, no input, no repeats. */
function tapLayouts(graph: Graph, ids: readonly string[], positionsPerImage: number | undefined): TapLayout[] {
  const byId = new Map(graph.nodes.map((node) => [node.id, node]));
  const shapes = inferShapes(graph);
  return ids.map((id, i) => {
    const node = byId.get(id);
    if (node === undefined) fail(WHERE, `graph '${graph.name}' has no node '${id}'; tap one of its node ids`);
    if (node.op === "input") fail(WHERE, `node '${id}' is the graph's input; tap the nodes that read it (their inputs are the images)`);
    if (ids.indexOf(id) !== i) fail(WHERE, `nodes names '${id}' twice; name each node once`);
    const inputMaps = node.inputs.map((input) => shapes.get(input) as number[]);
    return tapLayout(node, inputMaps, shapes.get(id) as number[], positionsPerImage);
  });
}

/** Fails, before anything runs, when the rows would take more than maxBytes. */
function checkMemory(layouts: readonly TapLayout[], rows: number, maxBytes: number, positionsPerImage: number | undefined): void {
  const valuesPerRow = layouts.map((layout) => [...layout.inputRowShapes, layout.outputRowShape].reduce((sum, shape) => sum + sizeOf(shape), 0));
  const totalPerRow = valuesPerRow.reduce((sum, values) => sum + values, 0);
  const bytes = rows * totalPerRow * Float32Array.BYTES_PER_ELEMENT;
  if (bytes <= maxBytes) return;
  const largest = valuesPerRow.indexOf(Math.max(...valuesPerRow));
  const rowsAre = positionsPerImage === undefined ? "images" : `images × ${positionsPerImage} positions`;
  fail(WHERE, `the taps would keep ${rows} rows (${rowsAre}) × ${totalPerRow} values over ${layouts.length} node(s) `
    + `(most: '${layouts[largest].node.id}', ${valuesPerRow[largest]} per row) = ${(bytes / MIB).toFixed(1)} MiB, over maxBytes ${(maxBytes / MIB).toFixed(1)} MiB; `
    + `lower samples${positionsPerImage === undefined ? ", set positionsPerImage" : ", positionsPerImage"} or tap fewer nodes, or raise maxBytes`);
}

/** The graph cut down to the ancestors of `ids`, with those of them that are no input as its outputs. */
function tapGraph(graph: Graph, ids: ReadonlySet<string>): Graph {
  const needed = new Set(ids);
  for (let i = graph.nodes.length - 1; i >= 0; i--) {
    const node = graph.nodes[i];
    if (needed.has(node.id)) for (const input of node.inputs) needed.add(input);
  }
  const nodes = graph.nodes.filter((node) => needed.has(node.id));
  return { name: `${graph.name}_taps`, nodes, outputs: nodes.filter((node) => ids.has(node.id) && node.op !== "input").map((node) => node.id) };
}

/** A requested node's rows as they fill, with its own seeded positions. */
interface Collector {
  layout: TapLayout;
  activations: NodeActivations;
  filledRows: number;
  random: () => number;
  order: Int32Array;
}

/** FNV-1a of the node id over the seed: each node draws its own positions, whatever else is tapped. */
function nodeSeed(seed: number, id: string): number {
  let hash = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < id.length; i++) hash = Math.imul(hash ^ id.charCodeAt(i), 0x01000193) >>> 0;
  return hash;
}

function newCollector(layout: TapLayout, rows: number, seed: number, positionsPerImage: number | undefined): Collector {
  const inputs = layout.inputRowShapes.map((shape) => new Float32Array(rows * sizeOf(shape)));
  const activations: NodeActivations = {
    rows, inputs, inputRowShapes: layout.inputRowShapes, input: inputs[0], inputRowShape: layout.inputRowShapes[0],
    output: new Float32Array(rows * sizeOf(layout.outputRowShape)), outputRowShape: layout.outputRowShape,
    ...(positionsPerImage === undefined ? {} : { positions: new Int32Array(rows * 2) }),
  };
  const [height = 1, width = 1] = layout.outputMap;
  return { layout, activations, filledRows: 0, random: seededRandom(nodeSeed(seed, layout.node.id)), order: new Int32Array(height * width) };
}

/** Appends the whole tensors of the batch's images. */
function appendImages(collector: Collector, inputMaps: Float32Array[], outputMap: Float32Array, images: number): void {
  const { layout, activations } = collector;
  const row = collector.filledRows;
  inputMaps.forEach((map, i) => activations.inputs[i].set(map.subarray(0, images * sizeOf(layout.inputMaps[i])), row * sizeOf(layout.inputMaps[i])));
  activations.output.set(outputMap.subarray(0, images * sizeOf(layout.outputMap)), row * sizeOf(layout.outputMap));
  collector.filledRows += images;
}

/** Appends k sampled positions of each of the batch's images: output vectors, and input patches or vectors. */
function appendPositions(collector: Collector, inputMaps: Float32Array[], outputMap: Float32Array, images: number, k: number): void {
  const { layout, activations } = collector;
  const positions = activations.positions as Int32Array;
  const [height, width] = layout.outputMap;
  const inputRowSizes = layout.inputRowShapes.map(sizeOf);
  const outputRowSize = sizeOf(layout.outputRowShape);
  for (let image = 0; image < images; image++) {
    const first = collector.filledRows;
    samplePositions(collector.random, height, width, k, collector.order, positions, 2 * first);
    for (let row = first; row < first + k; row++) {
      const [y, x] = [positions[2 * row], positions[2 * row + 1]];
      gatherVector(outputMap, layout.outputMap, image, y, x, activations.output, row * outputRowSize);
      inputMaps.forEach((map, i) => {
        const out = activations.inputs[i];
        if (layout.window) gatherPatch(map, layout.inputMaps[i], image, layout.window, y, x, out, row * inputRowSizes[i]);
        else gatherVector(map, layout.inputMaps[i], image, y, x, out, row * inputRowSizes[i]);
      });
    }
    collector.filledRows += k;
  }
}

/**
 * One forward pass in inference mode; every collector takes its rows before the tensors are
 * disposed (a backend may reuse the memory behind a disposed tensor's data).
 */
function collectBatch(model: tfl.LayersModel, outputIds: readonly string[], inputId: string, batch: Batch, imageShape: readonly number[], collectors: Collector[], k: number | undefined): void {
  tf.tidy(() => {
    const images = tf.tensor4d(batch.images, [batch.size, imageShape[0], imageShape[1], imageShape[2]]);
    const outputs = model.apply(images, { training: false }) as tf.Tensor | tf.Tensor[];
    const tensors = Array.isArray(outputs) ? outputs : [outputs];
    const values = new Map(outputIds.map((id, i) => [id, tensors[i].dataSync() as Float32Array]));
    values.set(inputId, batch.images);
    for (const collector of collectors) {
      const node: GraphNode = collector.layout.node;
      const inputMaps = node.inputs.map((id) => values.get(id) as Float32Array);
      const outputMap = values.get(node.id) as Float32Array;
      if (k === undefined) appendImages(collector, inputMaps, outputMap, batch.size);
      else appendPositions(collector, inputMaps, outputMap, batch.size, k);
    }
  });
}

/**
 * The inputs and outputs of the `nodes` of `graph` on `samples` images drawn from `dataset`
 * (seeded), as the IR defines them: whole tensors, or rows at `positionsPerImage` random
 * positions per image, whose convolution input rows are patches (X in Y = X·W). Runs on the
 * current tfjs backend in inference mode, one batch at a time; every tensor is disposed.
 */
export function collectActivations(graph: Graph, dataset: Dataset, options: ActivationTapOptions): ActivationTaps {
  const resolved = checkOptions(graph, dataset, options);
  const { samples, batchSize, seed, positionsPerImage: k } = resolved;
  const layouts = tapLayouts(graph, options.nodes, k);
  const rows = samples * (k ?? 1);
  checkMemory(layouts, rows, resolved.maxBytes, k);
  const tapped = new Set(layouts.flatMap((layout) => [layout.node.id, ...layout.node.inputs]));
  const subgraph = tapGraph(graph, tapped);
  const inputId = subgraph.nodes.find((node) => node.op === "input")?.id as string;
  const sampleIndices = shuffledIndices(sampleCount(dataset), seed).slice(0, samples);
  const chosen = gatherSamples(dataset, sampleIndices, `${dataset.name} (taps)`);
  const collectors = layouts.map((layout) => newCollector(layout, rows, seed, k));
  const model = buildTfjsModel(subgraph);
  try {
    for (const batch of batches(chosen, { batchSize, normalization: options.normalization })) {
      collectBatch(model, subgraph.outputs, inputId, batch, dataset.imageShape, collectors, k);
    }
  } finally {
    model.dispose();
  }
  return { sampleIndices, nodes: new Map(collectors.map((collector) => [collector.layout.node.id, collector.activations])) };
}
