// Node quantization in the sidecar JSON: typed arrays (scales, zero points, centroids) as
// base64 of their little-endian bytes, so a save and a load give back the very same values;
// and the checks that make a loaded entry fit the node it describes.
import type { NodeQuantization, WeightQuantization } from "../graph/compressed-model.js";
import { sizeOf, weightsOf, type GraphNode } from "../graph/ir.js";
import { checkGrouping } from "../kernels/grouping.js";

const show = (value: unknown): string => JSON.stringify(value) ?? String(value);
const isRecord = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === "object" && !Array.isArray(value);

function record(where: string, value: unknown): Record<string, unknown> {
  if (!isRecord(value)) throw new Error(`${where} must be an object, but got ${show(value)}`);
  return value;
}

const encodeArray = (array: Float32Array | Int32Array): string => Buffer.from(array.buffer, array.byteOffset, array.byteLength).toString("base64");

function decodeArray<T extends Float32Array | Int32Array>(where: string, value: unknown, type: { new (buffer: ArrayBuffer): T; BYTES_PER_ELEMENT: number }): T {
  if (typeof value !== "string") throw new Error(`${where} must be a base64 string, but got ${show(value)}`);
  const bytes = Buffer.from(value, "base64");
  if (bytes.length % type.BYTES_PER_ELEMENT !== 0) throw new Error(`${where} holds ${bytes.length} bytes, not a whole number of ${type.BYTES_PER_ELEMENT}-byte values`);
  const copy = new ArrayBuffer(bytes.length);
  new Uint8Array(copy).set(bytes);
  return new type(copy);
}

function encodeWeight(weight: WeightQuantization): Record<string, unknown> {
  return weight.scheme === "uniform"
    ? { ...weight, scales: encodeArray(weight.scales), zeroPoints: encodeArray(weight.zeroPoints) }
    : { ...weight, centroids: encodeArray(weight.centroids) };
}

function decodeWeight(where: string, value: unknown): WeightQuantization {
  const entry = record(where, value);
  const grouping = record(`${where}.grouping`, entry.grouping) as unknown as WeightQuantization["grouping"];
  const bits = entry.bits as number;
  if (entry.scheme === "uniform") {
    return {
      scheme: "uniform", bits, symmetric: entry.symmetric === true, grouping,
      scales: decodeArray(`${where}.scales`, entry.scales, Float32Array), zeroPoints: decodeArray(`${where}.zeroPoints`, entry.zeroPoints, Int32Array),
    };
  }
  if (entry.scheme === "codebook") return { scheme: "codebook", bits, grouping, centroids: decodeArray(`${where}.centroids`, entry.centroids, Float32Array) };
  throw new Error(`${where}.scheme must be 'uniform' or 'codebook', but got ${show(entry.scheme)}`);
}

/** The sidecar's JSON form of every node's quantization. */
export function encodeQuantization(quantization: Record<string, NodeQuantization>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(quantization).map(([id, node]) => [id, {
    ...node,
    ...(node.weights === undefined ? {} : { weights: Object.fromEntries(Object.entries(node.weights).map(([name, weight]) => [name, encodeWeight(weight)])) }),
  }]));
}

/** Parses the sidecar's JSON form back (shapes are checked against the graph by checkNodeQuantization). */
export function decodeQuantization(where: string, json: Record<string, unknown>): Record<string, NodeQuantization> {
  return Object.fromEntries(Object.entries(json).map(([id, value]) => {
    const entry = record(`${where}: quantization['${id}']`, value);
    const weights = entry.weights === undefined ? undefined : Object.fromEntries(Object.entries(record(`${where}: quantization['${id}'].weights`, entry.weights))
      .map(([name, weight]) => [name, decodeWeight(`${where}: quantization['${id}'].weights['${name}']`, weight)]));
    return [id, { ...entry, ...(weights === undefined ? {} : { weights }) } as NodeQuantization];
  }));
}

function checkBits(where: string, bits: unknown, min: number): void {
  if (!(Number.isInteger(bits) && (bits as number) >= min && (bits as number) <= 8)) throw new Error(`${where}.bits must be an integer in ${min}..8, but got ${show(bits)}`);
}

function checkWeight(where: string, weight: WeightQuantization, count: number): void {
  checkGrouping(where, count, weight.grouping);
  const groups = weight.grouping.groups;
  if (weight.scheme === "uniform") {
    checkBits(where, weight.bits, 2);
    if (weight.scales.length !== groups || weight.zeroPoints.length !== groups) {
      throw new Error(`${where} needs ${groups} scales and zero points (one per group), but has ${weight.scales.length} and ${weight.zeroPoints.length}`);
    }
    const bad = weight.scales.findIndex((scale) => !(scale > 0 && Number.isFinite(scale)));
    if (bad >= 0) throw new Error(`${where}.scales[${bad}] must be finite and > 0, but is ${weight.scales[bad]}`);
  } else {
    checkBits(where, weight.bits, 1);
    const expected = groups * 2 ** weight.bits;
    if (weight.centroids.length !== expected) throw new Error(`${where} needs ${expected} centroids (${groups} groups of 2^${weight.bits}), but has ${weight.centroids.length}`);
  }
}

/** Fails unless the entry fits the node: weights it has, groupings of their sizes, sane bits and ranges. */
export function checkNodeQuantization(where: string, node: GraphNode, quantization: NodeQuantization): void {
  const weights = new Map(weightsOf(node));
  for (const [name, weight] of Object.entries(quantization.weights ?? {})) {
    const target = weights.get(name);
    if (target === undefined) throw new Error(`${where}.weights['${name}']: ${node.op} '${node.id}' has no '${name}' weight (it has: ${[...weights.keys()].join(", ") || "none"})`);
    checkWeight(`${where}.weights['${name}']`, weight, sizeOf(target.shape));
  }
  const activation = quantization.activation;
  if (activation !== undefined) {
    checkBits(`${where}.activation`, activation.bits, 2);
    if (!(Number.isFinite(activation.min) && Number.isFinite(activation.max) && activation.min <= activation.max)) {
      throw new Error(`${where}.activation must have finite min <= max, but has [${activation.min}, ${activation.max}]`);
    }
  }
}
