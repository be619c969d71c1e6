// A compressed model as the engine's deployment files: a JSON manifest (the graph with its
// weights replaced by places in one binary, the quantization, no history) and that binary. It is
// what a function bundle ships beside the engine, readable without tfjs. Weights with 8-bit
// symmetric uniform quantization (zero point 0: an int8 model's) are stored as their int8 codes
// and come back as q·scale, which the integer-model contract makes exactly the graph's floats;
// every other weight is stored as float32. So an int8 ResNet-20 ships in about a quarter of its
// float size.
import type { CompressedModel, NodeQuantization, UniformWeightQuantization } from "../graph/compressed-model.js";
import { sizeOf, type Graph, type GraphNode, type Weight } from "../graph/ir.js";

export const MODEL_PACK_FORMAT = "pocketflow-engine-model/1";

interface PackedWeight {
  shape: number[];
  dtype: "float32" | "int8";
  /** Byte offset in the binary (a multiple of 4 for float32). */
  offset: number;
}

type JsonQuantization = Record<string, unknown>;

interface Manifest {
  format: string;
  graph: { name: string; outputs: string[]; nodes: Array<Record<string, unknown>> };
  quantization: Record<string, JsonQuantization>;
}

/** The weight's int8 quantization when it is stored as int8 codes. */
function int8Quantization(quantization: NodeQuantization | undefined, name: string): UniformWeightQuantization | undefined {
  const q = quantization?.weights?.[name];
  return q?.scheme === "uniform" && q.bits === 8 && q.symmetric && q.zeroPoints.every((zp) => zp === 0) ? q : undefined;
}

const groupOf = (i: number, q: UniformWeightQuantization): number =>
  q.grouping.groups === 1 ? 0 : Math.floor(i / q.grouping.inner) % q.grouping.groups;

/** The model as { manifest (JSON text), weights (binary) }. */
export function packModel(model: CompressedModel): { manifest: string; weights: Uint8Array } {
  const chunks: Uint8Array[] = [];
  let offset = 0;
  const place = (bytes: Uint8Array, align: number): number => {
    const padding = (align - (offset % align)) % align;
    if (padding > 0) chunks.push(new Uint8Array(padding));
    offset += padding;
    chunks.push(bytes);
    const at = offset;
    offset += bytes.length;
    return at;
  };
  const nodes = model.graph.nodes.map((node) => {
    if (!("weights" in node)) return { ...node } as Record<string, unknown>;
    const weights: Record<string, PackedWeight> = {};
    for (const [name, weight] of Object.entries(node.weights) as Array<[string, Weight | undefined]>) {
      if (weight === undefined) continue;
      const q = int8Quantization(model.quantization[node.id], name);
      const codes = q && Int8Array.from(weight.values, (v, i) => Math.round(v / q.scales[groupOf(i, q)]));
      weights[name] = codes
        ? { shape: weight.shape, dtype: "int8", offset: place(new Uint8Array(codes.buffer), 1) }
        : { shape: weight.shape, dtype: "float32", offset: place(new Uint8Array(Float32Array.from(weight.values).buffer), 4) };
    }
    return { ...node, weights } as Record<string, unknown>;
  });
  const quantization = Object.fromEntries(Object.entries(model.quantization).map(([id, q]) => [id, jsonOf(q)]));
  const manifest: Manifest = { format: MODEL_PACK_FORMAT, graph: { name: model.graph.name, outputs: model.graph.outputs, nodes }, quantization };
  const weights = new Uint8Array(offset);
  let at = 0;
  for (const chunk of chunks) {
    weights.set(chunk, at);
    at += chunk.length;
  }
  return { manifest: JSON.stringify(manifest), weights };
}

/** Typed arrays as plain arrays, tagged so that they come back typed. */
function jsonOf(q: NodeQuantization): JsonQuantization {
  return JSON.parse(JSON.stringify(q, (_key, value: unknown) =>
    value instanceof Float32Array ? { float32: Array.from(value) } : value instanceof Int32Array ? { int32: Array.from(value) } : value)) as JsonQuantization;
}

function quantizationOf(json: JsonQuantization): NodeQuantization {
  return JSON.parse(JSON.stringify(json), (_key, value: unknown) => {
    const tagged = value as { float32?: number[]; int32?: number[] } | null;
    if (tagged && typeof tagged === "object" && Array.isArray(tagged.float32)) return Float32Array.from(tagged.float32);
    if (tagged && typeof tagged === "object" && Array.isArray(tagged.int32)) return Int32Array.from(tagged.int32);
    return value;
  }) as NodeQuantization;
}

/** The model back from packModel's files. */
export function unpackModel(manifestText: string, weights: Uint8Array): CompressedModel {
  const manifest = JSON.parse(manifestText) as Manifest;
  if (manifest.format !== MODEL_PACK_FORMAT) {
    throw new Error(`unpackModel: the manifest's format is '${String(manifest.format)}', but this engine reads '${MODEL_PACK_FORMAT}'; pack the model again with packModel`);
  }
  const quantization = Object.fromEntries(Object.entries(manifest.quantization).map(([id, q]) => [id, quantizationOf(q)]));
  const nodes = manifest.graph.nodes.map((node): GraphNode => {
    if (!("weights" in node)) return node as unknown as GraphNode;
    const packed = node.weights as Record<string, PackedWeight>;
    const restored = Object.fromEntries(Object.entries(packed).map(([name, w]) => [name, weightOf(w, weights, quantization[node.id as string], name)]));
    return { ...node, weights: restored } as unknown as GraphNode;
  });
  const graph: Graph = { name: manifest.graph.name, outputs: manifest.graph.outputs, nodes };
  return { graph, masks: {}, quantization, history: [] };
}

function weightOf(packed: PackedWeight, binary: Uint8Array, quantization: NodeQuantization | undefined, name: string): Weight {
  const n = sizeOf(packed.shape);
  if (packed.offset + n * (packed.dtype === "int8" ? 1 : 4) > binary.length) {
    throw new Error(`unpackModel: weight '${name}' [${packed.shape.join(", ")}] lies past the end of the ${binary.length}-byte weights file; the files do not belong together`);
  }
  if (packed.dtype === "float32") {
    // a copy (the binary may be a Node Buffer, whose slice() is a view of a shared pool)
    const values = new Float32Array(n);
    new Uint8Array(values.buffer).set(binary.subarray(packed.offset, packed.offset + 4 * n));
    return { shape: packed.shape, values };
  }
  const q = int8Quantization(quantization, name) as UniformWeightQuantization;
  const codes = new Int8Array(binary.buffer, binary.byteOffset + packed.offset, n);
  // a plain loop: TypedArray.from with a map function is ~100x slower per element, most of a cold start
  const values = new Float32Array(n);
  for (let i = 0; i < n; i++) values[i] = codes[i] * q.scales[groupOf(i, q)];
  return { shape: packed.shape, values };
}
