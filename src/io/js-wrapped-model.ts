// A tfjs LayersModel shipped as JavaScript modules instead of files: model.json as a CommonJS
// module whose export is the model.json object, and each weight shard as a module whose export
// is the shard's bytes in base64 (the layout nsfwjs bundles its models in, `model.min.js` beside
// `group1-shard1of1.min.js`, so that bundlers can ship them without a file server). Turned into
// a standard model directory (model.json + one weight file) that `loadModel` reads; the
// manifest's weight specs are kept as they are, so 8-bit quantized weights stay quantized on
// disk and tfjs dequantizes them on load, as it would from the original files.
// Requiring a module runs it: load only packages you trust, as installing them already does.
import { createRequire } from "node:module";
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import type * as tf from "@tensorflow/tfjs-core";
import { MODEL_JSON, WEIGHTS_BIN, writeFileAtomic } from "./file-handler.js";

const WHERE = "jsWrappedModel";
/** What the shard modules are named after their manifest path: `group1-shard1of1` -> `group1-shard1of1.min.js`. */
export const SHARD_MODULE_SUFFIX = ".min.js";

export interface JsWrappedModel {
  /** model.json as the module exports it, with weightsManifest rewritten to one weight file. */
  modelJson: tf.io.ModelJSON;
  /** The shards' bytes, concatenated in manifest order. */
  weightData: Uint8Array;
}

const isRecord = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === "object" && !Array.isArray(value);

function requireModule(file: string, what: string, fix: string): unknown {
  const path = resolve(file);
  if (!existsSync(path)) throw new Error(`${WHERE}: ${what} '${file}' not found; ${fix}`);
  const require = createRequire(path);
  // Node caches a module by path: a file rewritten since (a re-exported model) must be read anew.
  delete require.cache[path];
  try {
    const exported = require(path) as unknown;
    // A module compiled from ESM may put its value under `default`.
    return isRecord(exported) && "default" in exported && Object.keys(exported).length === 1 ? exported.default : exported;
  } catch (error) {
    throw new Error(`${WHERE}: cannot load ${what} '${file}': ${error instanceof Error ? error.message : String(error)}; ${fix}`);
  }
}

function checkModelJson(file: string, value: unknown): tf.io.ModelJSON {
  if (!isRecord(value) || !isRecord(value.modelTopology) || !Array.isArray(value.weightsManifest)) {
    throw new Error(`${WHERE}: '${file}' must export a model.json object with modelTopology and weightsManifest, but exports ${isRecord(value) ? `an object with keys ${Object.keys(value).join(", ") || "none"}` : typeof value}; pass the model module (e.g. model.min.js), not a shard`);
  }
  return value as unknown as tf.io.ModelJSON;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** One shard module's bytes, checked to be base64 text. */
function shardBytes(modelFile: string, path: string): Uint8Array {
  const file = join(dirname(resolve(modelFile)), `${path}${SHARD_MODULE_SUFFIX}`);
  const text = requireModule(file, `the module of weight shard '${path}',`, `the shard modules must lie beside ${basename(modelFile)}, named as the manifest's paths plus '${SHARD_MODULE_SUFFIX}'`);
  if (typeof text !== "string" || text.length % 4 !== 0 || !BASE64.test(text)) {
    throw new Error(`${WHERE}: weight shard module '${file}' must export the shard's bytes as a base64 string, but exports ${typeof text === "string" ? "a string that is not base64" : typeof text}`);
  }
  return new Uint8Array(Buffer.from(text, "base64"));
}

/** Reads the model module and every shard module its manifest names, in order. */
export function readJsWrappedModel(modelModuleFile: string): JsWrappedModel {
  const modelJson = checkModelJson(modelModuleFile, requireModule(modelModuleFile, "the model module", "pass the path of the module that exports model.json"));
  const shards: Uint8Array[] = [];
  const weights: tf.io.WeightsManifestEntry[] = [];
  for (const group of modelJson.weightsManifest) {
    if (!Array.isArray(group?.paths) || !Array.isArray(group?.weights)) throw new Error(`${WHERE}: '${modelModuleFile}': every weightsManifest entry needs "paths" and "weights" arrays`);
    for (const path of group.paths) shards.push(shardBytes(modelModuleFile, path));
    weights.push(...group.weights);
  }
  const weightData = new Uint8Array(shards.reduce((sum, shard) => sum + shard.length, 0));
  let offset = 0;
  for (const shard of shards) {
    weightData.set(shard, offset);
    offset += shard.length;
  }
  return { modelJson: { ...modelJson, weightsManifest: [{ paths: [WEIGHTS_BIN], weights }] }, weightData };
}

/**
 * Writes the JS-wrapped model as a model directory (model.json + weights.bin) at `dir`, created
 * if missing; `loadModel(dir)` then reads it, with its checks of the weights' sizes.
 */
export async function writeJsWrappedModelDirectory(modelModuleFile: string, dir: string): Promise<void> {
  const { modelJson, weightData } = readJsWrappedModel(modelModuleFile);
  await mkdir(dir, { recursive: true });
  // Weights first: model.json is the entry point, so a crash in between leaves no model.
  await writeFileAtomic(join(dir, WEIGHTS_BIN), weightData);
  await writeFileAtomic(join(dir, MODEL_JSON), JSON.stringify(modelJson));
}
