// A model directory: the IR graph saved as a standard tfjs LayersModel directory (model.json
// and its weight file, which plain `tf.loadLayersModel` reads), plus a sidecar JSON for what
// tfjs has no place for: what was done to the model, weight masks, quantization parameters.
// model.json references the sidecar by a per-save file name (userDefinedMetadata.pocketflow
// .sidecar), so the commit of model.json switches weights and sidecar together: a crash at any
// step leaves the old model with its sidecar or the new one with its own (file-handler.ts).
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { basename, join } from "node:path";
import { graphFromTfjs } from "../tfjs/graph-from-tfjs.js";
import { buildTfjsModel } from "../tfjs/tfjs-from-graph.js";
import type { HistoryEntry, NodeQuantization, WeightMask } from "../graph/compressed-model.js";
import { sizeOf, weightsOf, type Graph, type GraphNode } from "../graph/ir.js";
import { checkNodeQuantization, decodeQuantization, encodeQuantization } from "./quantization-json.js";
import { checkKerasSettings } from "./keras-settings.js";
import { checkModelDirectory } from "./model-path.js";
import { checkFiniteWeights } from "../graph/finite-weights.js";
import { FileDirectoryHandler, METADATA_KEY, MODEL_JSON, SIDECAR_JSON, pocketflowMetadata, readJsonFile, readSidecar, saveArtifacts } from "./file-handler.js";

export const SIDECAR_FORMAT_VERSION = 1;
export const PRODUCED_BY = "pocketflow-js";

export type { HistoryEntry, NodeQuantization, WeightMask } from "../graph/compressed-model.js";

export interface ModelSidecar {
  formatVersion: number;
  producedBy: typeof PRODUCED_BY;
  history: HistoryEntry[];
  /** Masks by node id, then weight name ("kernel", "depthwiseKernel", ...). */
  masks?: Record<string, Record<string, WeightMask>>;
  /** Quantization parameters by node id. */
  quantization?: Record<string, NodeQuantization>;
  /** Fields this version does not know are kept as they are. */
  [extra: string]: unknown;
}

export interface LoadedModel {
  graph: Graph;
  /** Undefined when the directory has no sidecar (a plain tfjs model). */
  sidecar: ModelSidecar | undefined;
}

/** A sidecar with an empty history. */
export function newSidecar(): ModelSidecar {
  return { formatVersion: SIDECAR_FORMAT_VERSION, producedBy: PRODUCED_BY, history: [] };
}

/** A copy of the sidecar with one more history entry, stamped with the current time. */
export function appendHistory(sidecar: ModelSidecar, step: string, details: Record<string, unknown> = {}): ModelSidecar {
  return { ...sidecar, history: [...sidecar.history, { ...details, step, at: new Date().toISOString() }] };
}

const show = (value: unknown): string => (typeof value === "string" ? `'${value}'` : JSON.stringify(value) ?? String(value));
const isRecord = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === "object" && !Array.isArray(value);
const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error));

function checkRecord(where: string, name: string, value: unknown): Record<string, unknown> {
  if (!isRecord(value)) throw new Error(`${where}: ${name} must be an object, but got ${show(value)}`);
  return value;
}

/** Bits of a mask packed 8 to a byte, lowest bit first, as base64: 1/8 of a byte per weight on disk. */
function packMask(kept: Uint8Array): string {
  const bytes = new Uint8Array(Math.ceil(kept.length / 8));
  kept.forEach((bit, i) => { if (bit !== 0) bytes[i >> 3] |= 1 << (i & 7); });
  return Buffer.from(bytes).toString("base64");
}

function unpackMask(where: string, name: string, value: unknown): WeightMask {
  const record = checkRecord(where, name, value);
  const shape = record.shape;
  if (!Array.isArray(shape) || !shape.every((dim) => Number.isInteger(dim) && dim >= 0)) throw new Error(`${where}: ${name}.shape must be an array of non-negative integers, but got ${show(shape)}`);
  if (typeof record.bits !== "string") throw new Error(`${where}: ${name}.bits must be a base64 string, but got ${show(record.bits)}`);
  const bytes = Buffer.from(record.bits, "base64");
  const count = sizeOf(shape);
  if (bytes.length !== Math.ceil(count / 8)) throw new Error(`${where}: ${name}.bits holds ${bytes.length} bytes, but shape ${show(shape)} needs ${Math.ceil(count / 8)}`);
  const kept = new Uint8Array(count);
  for (let i = 0; i < count; i++) kept[i] = (bytes[i >> 3] >> (i & 7)) & 1;
  return { shape: [...shape], kept };
}

/** The sidecar as JSON text, masks packed. */
function sidecarText(sidecar: ModelSidecar): string {
  const masks = sidecar.masks === undefined ? undefined : Object.fromEntries(Object.entries(sidecar.masks).map(([id, byWeight]) => [
    id, Object.fromEntries(Object.entries(byWeight).map(([name, mask]) => [name, { shape: mask.shape, bits: packMask(mask.kept) }])),
  ]));
  const quantization = sidecar.quantization === undefined ? undefined : encodeQuantization(sidecar.quantization);
  return JSON.stringify({ ...sidecar, ...(masks === undefined ? {} : { masks }), ...(quantization === undefined ? {} : { quantization }) }, null, 2) + "\n";
}

/** The parts every sidecar must have, checked: version, producer, history. */
function checkHeader(where: string, record: Record<string, unknown>): void {
  const version = record.formatVersion;
  if (!Number.isInteger(version) || (version as number) < 1) throw new Error(`${where}: formatVersion must be a positive integer, but got ${show(version)}`);
  if ((version as number) > SIDECAR_FORMAT_VERSION) {
    throw new Error(`${where}: formatVersion ${String(version)} was written by a newer pocketflow-js; this version reads up to ${SIDECAR_FORMAT_VERSION}, upgrade it`);
  }
  if (record.producedBy !== PRODUCED_BY) throw new Error(`${where}: producedBy must be '${PRODUCED_BY}', but got ${show(record.producedBy)}`);
  if (!Array.isArray(record.history)) throw new Error(`${where}: history must be an array, but got ${show(record.history)}`);
  record.history.forEach((entry, i) => {
    const checked = checkRecord(where, `history[${i}]`, entry);
    if (typeof checked.step !== "string") throw new Error(`${where}: history[${i}].step must be a string, but got ${show(checked.step)}`);
    if (typeof checked.at !== "string") throw new Error(`${where}: history[${i}].at must be an ISO time string, but got ${show(checked.at)}`);
  });
}

/** Parses sidecar JSON: header checked, masks unpacked, unknown fields kept. */
function parseSidecar(where: string, json: unknown): ModelSidecar {
  const record = checkRecord(where, "the sidecar", json);
  checkHeader(where, record);
  const sidecar = { ...record } as ModelSidecar;
  if (record.masks !== undefined) {
    sidecar.masks = Object.fromEntries(Object.entries(checkRecord(where, "masks", record.masks)).map(([id, byWeight]) => [
      id, Object.fromEntries(Object.entries(checkRecord(where, `masks['${id}']`, byWeight)).map(([name, mask]) => [name, unpackMask(where, `masks['${id}']['${name}']`, mask)])),
    ]));
  }
  if (record.quantization !== undefined) sidecar.quantization = decodeQuantization(where, checkRecord(where, "quantization", record.quantization));
  return sidecar;
}

/** Masks and quantization entries refer to nodes and weights of the graph, with their shapes. */
function checkAgainstGraph(where: string, sidecar: ModelSidecar, graph: Graph): void {
  const nodes = new Map(graph.nodes.map((node) => [node.id, node]));
  for (const [id, byWeight] of Object.entries(sidecar.masks ?? {})) {
    const node = nodes.get(id);
    if (node === undefined) throw new Error(`${where}: masks['${id}'] names no node of graph '${graph.name}'`);
    const weights = new Map(weightsOf(node));
    for (const [name, mask] of Object.entries(byWeight)) {
      const weight = weights.get(name);
      const label = `masks['${id}']['${name}']`;
      if (weight === undefined) throw new Error(`${where}: ${label}: ${node.op} '${id}' has no '${name}' weight (it has: ${[...weights.keys()].join(", ") || "none"})`);
      if (show(mask.shape) !== show(weight.shape)) throw new Error(`${where}: ${label} has shape ${show(mask.shape)}, but the weight has ${show(weight.shape)}`);
      if (!(mask.kept instanceof Uint8Array) || mask.kept.length !== sizeOf(weight.shape)) throw new Error(`${where}: ${label}.kept must be a Uint8Array of ${sizeOf(weight.shape)} values`);
      if (mask.kept.some((bit) => bit > 1)) throw new Error(`${where}: ${label}.kept must hold only 0 (pruned) and 1 (kept)`);
    }
  }
  for (const [id, quantization] of Object.entries(sidecar.quantization ?? {})) {
    const node = nodes.get(id);
    if (node === undefined) throw new Error(`${where}: quantization['${id}'] names no node of graph '${graph.name}'`);
    checkNodeQuantization(`${where}: quantization['${id}']`, node, quantization);
  }
}

/**
 * Saves the graph as a tfjs LayersModel directory plus its sidecar (a new one with an empty
 * history when none is given), consistently at every instant. The sidecar is checked against
 * the graph first: masks must match their weights' shapes, entries must name nodes.
 */
export async function saveModel(dir: string, graph: Graph, sidecar: ModelSidecar = newSidecar()): Promise<void> {
  const where = `saveModel '${dir}': sidecar`;
  checkHeader(where, sidecar as Record<string, unknown>);
  checkAgainstGraph(where, sidecar, graph);
  const model = buildTfjsModel(graph);
  try {
    // tfjs lists layers by depth; the node order lets loadModel give back the graph as it was.
    model.setUserDefinedMetadata({ [METADATA_KEY]: { nodeOrder: graph.nodes.map((node) => node.id) } });
    await model.save(tf.io.withSaveHandler((artifacts) => saveArtifacts(dir, artifacts, sidecarText(sidecar))));
  } finally {
    model.dispose();
  }
}

/** The graph with its nodes in the saved order, when that order is a topological order of them. */
function inSavedOrder(graph: Graph, order: unknown): Graph {
  if (!Array.isArray(order) || order.length !== graph.nodes.length) return graph;
  const byId = new Map(graph.nodes.map((node) => [node.id, node]));
  const seen = new Set<string>();
  for (const id of order) {
    const node = byId.get(id as string);
    // An order that does not fit (edited by hand) is ignored: tfjs's own order is valid too.
    if (node === undefined || seen.has(node.id) || !node.inputs.every((input) => seen.has(input))) return graph;
    seen.add(node.id);
  }
  return { ...graph, nodes: order.map((id) => byId.get(id as string) as GraphNode) };
}

/** The sidecar model.json references, or the plain pocketflow.json of older directories. */
async function loadSidecar(root: string, metadata: Record<string, unknown> | undefined, graph: Graph): Promise<ModelSidecar | undefined> {
  const reference = metadata?.sidecar;
  if (reference !== undefined && (typeof reference !== "string" || reference !== basename(reference))) {
    throw new Error(`${join(root, MODEL_JSON)}: userDefinedMetadata.${METADATA_KEY}.sidecar must be a file name in the directory, but got ${show(reference)}`);
  }
  const file = join(root, reference ?? SIDECAR_JSON);
  // A referenced sidecar must exist; an unreferenced one is optional.
  const json = reference === undefined ? await readSidecar(root) : await readJsonFile(file);
  if (json === undefined) return undefined;
  const sidecar = parseSidecar(file, json);
  checkAgainstGraph(file, sidecar, graph);
  return sidecar;
}

/**
 * Loads a model directory: the graph (nodes in the order they were saved) and its sidecar.
 * Plain tfjs directories (`weights.bin`, no sidecar) load too. A corrupt or mismatched file is
 * an error that names the file and the problem; so is a NaN or infinite weight. A path that is
 * not a model directory is a ModelPathError.
 */
export async function loadModel(dir: string): Promise<LoadedModel> {
  const root = await checkModelDirectory(dir);
  const modelFile = join(root, MODEL_JSON);
  const artifacts = await new FileDirectoryHandler(root).load();
  try {
    checkKerasSettings(artifacts.modelTopology);
  } catch (error) {
    throw new Error(`${modelFile}: ${describe(error)}`);
  }
  let model: tfl.LayersModel;
  try {
    model = await tfl.loadLayersModel(tf.io.fromMemory(artifacts));
  } catch (error) {
    throw new Error(`${modelFile}: not a loadable tfjs LayersModel with these weights: ${describe(error)}`);
  }
  try {
    let graph: Graph;
    try {
      graph = graphFromTfjs(model);
      checkFiniteWeights(graph);
    } catch (error) {
      throw new Error(`${modelFile}: ${describe(error)}`);
    }
    const metadata = pocketflowMetadata(artifacts);
    graph = inSavedOrder(graph, metadata?.nodeOrder);
    return { graph, sidecar: await loadSidecar(root, metadata, graph) };
  } finally {
    model.dispose();
  }
}
