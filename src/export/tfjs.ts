// A compressed model as a plain tfjs LayersModel directory whose weights manifest stores
// quantized weights, so `tf.loadLayersModel` loads a smaller download. tfjs decodes a uint8 or
// uint16 entry as value = q·scale + min, one affine grid per tensor. A weight quantized per
// tensor with 8 bits or fewer is stored as uint8 on the model's own grid, which tfjs decodes to
// exactly the model's values. Grids tfjs cannot express (per channel, per bucket, codebooks) are
// stored as uint8 when the dequantized values happen to lie on one grid of at most 256 steps,
// else as uint16 over the tensor's range (or float32 / uint8 with --quantize-bytes); each
// weight's choice, bytes and largest decoding error are reported. A float model's weights stay
// float32 unless quantizeBytes asks for post-training weight quantization as tfjs's converter
// does it (uint8 or uint16 per tensor), with the range widened to hold 0 so pruned weights
// stay exactly 0.
import * as tf from "@tensorflow/tfjs-core";
import type { CompressedModel, WeightQuantization } from "../graph/compressed-model.js";
import { saveArtifacts, METADATA_KEY } from "../io/file-handler.js";
import { buildTfjsModel } from "../tfjs/tfjs-from-graph.js";
import { irWeightOfParameter } from "../tfjs/weight-names.js";
import { checkInteger } from "../util/check.js";

export interface TfjsExportOptions {
  /** Bytes per stored value of weights without an exact grid: 1 (uint8) or 2 (uint16). Default: 2 for quantized weights, 4 (float32) for float ones. */
  quantizeBytes?: 1 | 2;
}

export type WeightStorage = "uint8 (own grid)" | "uint8 (exact grid)" | "uint8" | "uint16" | "float32";

export interface StoredWeight {
  /** The tfjs weight name, e.g. 'conv1/kernel'. */
  name: string;
  storage: WeightStorage;
  bytes: number;
  /** Largest |decoded − model value| over the weight's elements. */
  maxError: number;
}

export interface TfjsExportSummary {
  weights: StoredWeight[];
  /** Bytes of the weights file. */
  weightBytes: number;
  /** Bytes the weights would take as float32. */
  float32Bytes: number;
}

/** An affine grid as tfjs decodes it: value = u·scale + min, u in 0..levels-1. */
interface Grid {
  scale: number;
  min: number;
  levels: number;
}

/** The model's own grid of a per-tensor uniform quantization of at most 8 bits, or undefined. */
function ownGrid(q: WeightQuantization | undefined): Grid | undefined {
  if (q === undefined || q.scheme !== "uniform" || q.bits > 8 || q.grouping.groups !== 1) return undefined;
  const scale = q.scales[0];
  // value = (q - zp)·scale: asymmetric q in [0, 2^b-1] is stored as it is (min = -zp·scale);
  // symmetric q in [-(2^(b-1)-1), 2^(b-1)-1] (zp 0) shifted up by 2^(b-1)-1
  const shift = q.symmetric ? 2 ** (q.bits - 1) - 1 : q.zeroPoints[0];
  return { scale, min: -shift * scale, levels: 2 ** q.bits };
}

/** A grid of at most 256 steps holding every value, found from the smallest gap, or undefined. */
function observedGrid(values: Float32Array): Grid | undefined {
  const distinct = [...new Set(values)].sort((a, b) => a - b);
  if (distinct.length > 256) return undefined;
  if (distinct.length === 1) return { scale: 1, min: distinct[0], levels: 1 };
  let step = Infinity;
  for (let i = 1; i < distinct.length; i++) step = Math.min(step, distinct[i] - distinct[i - 1]);
  return { scale: step, min: distinct[0], levels: 256 };
}

/** tfjs converter's per-tensor grid of 2^(8·bytes) levels over [min, max] widened to hold 0, 0 on the grid. */
function rangeGrid(values: Float32Array, bytes: 1 | 2): Grid {
  let lo = 0;
  let hi = 0;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const levels = 2 ** (8 * bytes);
  const scale = hi > lo ? (hi - lo) / (levels - 1) : 1;
  return { scale, min: -Math.round(-lo / scale) * scale, levels };
}

/** The values on the grid as tfjs decodes them, with the largest error (Infinity when a value is off the grid's span). */
function encode(values: Float32Array, grid: Grid): { q: Uint8Array | Uint16Array; maxError: number } {
  const q = grid.levels <= 256 ? new Uint8Array(values.length) : new Uint16Array(values.length);
  let maxError = 0;
  for (let i = 0; i < values.length; i++) {
    const u = Math.round((values[i] - grid.min) / grid.scale);
    const clamped = Math.min(grid.levels - 1, Math.max(0, u));
    q[i] = clamped;
    maxError = Math.max(maxError, Math.abs(Math.fround(clamped * grid.scale + grid.min) - values[i]));
  }
  return { q, maxError };
}

/** How one weight is stored: the first exact grid, else the fallback width. */
function chooseStorage(values: Float32Array, quantization: WeightQuantization | undefined, options: TfjsExportOptions): { storage: WeightStorage; grid?: Grid } {
  const own = ownGrid(quantization);
  if (own !== undefined && encode(values, own).maxError === 0) return { storage: "uint8 (own grid)", grid: own };
  if (quantization !== undefined || options.quantizeBytes !== undefined) {
    const observed = observedGrid(values);
    if (observed !== undefined && encode(values, observed).maxError === 0) return { storage: "uint8 (exact grid)", grid: observed };
  }
  const bytes = options.quantizeBytes ?? (quantization !== undefined ? 2 : undefined);
  if (bytes === undefined) return { storage: "float32" };
  return { storage: bytes === 1 ? "uint8" : "uint16", grid: rangeGrid(values, bytes) };
}

/** The model's tfjs artifacts (float32 weights) as tfjs would save them. */
async function floatArtifacts(model: CompressedModel): Promise<tf.io.ModelArtifacts> {
  const layers = buildTfjsModel(model.graph);
  try {
    layers.setUserDefinedMetadata({ [METADATA_KEY]: { nodeOrder: model.graph.nodes.map((node) => node.id) } });
    let saved: tf.io.ModelArtifacts | undefined;
    await layers.save(tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    }));
    return saved as tf.io.ModelArtifacts;
  } finally {
    layers.dispose();
  }
}

/** The artifacts with quantized weight entries, and what each weight became. */
export async function quantizedArtifacts(model: CompressedModel, options: TfjsExportOptions = {}): Promise<{ artifacts: tf.io.ModelArtifacts; summary: TfjsExportSummary }> {
  if (options.quantizeBytes !== undefined) checkInteger("exportTfjs", "quantizeBytes", options.quantizeBytes, 1, 2);
  const artifacts = await floatArtifacts(model);
  const floatData = new Float32Array(tf.io.CompositeArrayBuffer.join(artifacts.weightData ?? []));
  const specs: tf.io.WeightsManifestEntry[] = [];
  const chunks: Uint8Array[] = [];
  const weights: StoredWeight[] = [];
  let offset = 0;
  for (const spec of artifacts.weightSpecs ?? []) {
    const count = spec.shape.reduce((p, d) => p * d, 1);
    const values = floatData.subarray(offset, offset + count);
    offset += count;
    const { nodeId, weight } = irWeightOfParameter(spec.name);
    const { storage, grid } = chooseStorage(values, model.quantization[nodeId]?.weights?.[weight], options);
    if (grid === undefined) {
      specs.push(spec);
      chunks.push(new Uint8Array(Float32Array.from(values).buffer));
      weights.push({ name: spec.name, storage, bytes: 4 * count, maxError: 0 });
      continue;
    }
    const { q, maxError } = encode(values, grid);
    const dtype = q instanceof Uint8Array ? "uint8" : "uint16";
    specs.push({ ...spec, quantization: { dtype, scale: grid.scale, min: grid.min } });
    chunks.push(new Uint8Array(q.buffer, q.byteOffset, q.byteLength));
    weights.push({ name: spec.name, storage, bytes: q.byteLength, maxError });
  }
  const weightData = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  chunks.reduce((at, chunk) => (weightData.set(chunk, at), at + chunk.length), 0);
  const summary = { weights, weightBytes: weightData.length, float32Bytes: floatData.byteLength };
  return { artifacts: { ...artifacts, weightSpecs: specs, weightData: weightData.buffer }, summary };
}

/** Writes the model to `dir` as a tfjs LayersModel directory with quantized weights (model.json is the commit). */
export async function saveTfjs(dir: string, model: CompressedModel, options: TfjsExportOptions = {}): Promise<TfjsExportSummary> {
  const { artifacts, summary } = await quantizedArtifacts(model, options);
  await saveArtifacts(dir, artifacts);
  return summary;
}
