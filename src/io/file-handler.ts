// A tfjs IOHandler for a model directory on the local file system: `model.json` plus its
// weight files, the layout plain `tf.loadLayersModel` reads. Plain @tensorflow/tfjs ships no
// file handler for Node, so we provide one. Every file is written to a temp file in the same
// directory and then renamed, so a reader never sees a half-written file (rename is atomic
// within one file system). A save is consistent at every instant: its weights (and sidecar)
// go to new file names that nothing references yet, then model.json, the one entry point, is
// renamed over the old one, and only then are the files the old model.json referenced removed.
// A crash at any step leaves either the old model or the new one, whole; its leftovers are
// unreferenced files that the next save removes. One writer per directory at a time.
import { randomBytes } from "node:crypto";
import { mkdir, open, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import * as tf from "@tensorflow/tfjs-core";

export const MODEL_JSON = "model.json";
/** The weight file name of directories written by others (and by versions before unique names). */
export const WEIGHTS_BIN = "weights.bin";
export const SIDECAR_JSON = "pocketflow.json";
const GENERATED_BY = "pocketflow-js";
/** Key of our entry in model.json's userDefinedMetadata: `{ sidecar?: file name, ... }`. */
export const METADATA_KEY = "pocketflow";

/** Names of the files one save writes, `weights-<id>.bin` and `pocketflow-<id>.json`. */
const SAVE_ID_HEX = 16;
const weightsFileOf = (saveId: string): string => `weights-${saveId}.bin`;
const sidecarFileOf = (saveId: string): string => `pocketflow-${saveId}.json`;
/** A file one of our saves wrote; unreferenced ones are leftovers of a save that died. */
const SAVED_FILE = new RegExp(`^(weights-[0-9a-f]{${SAVE_ID_HEX}}\\.bin|pocketflow-[0-9a-f]{${SAVE_ID_HEX}}\\.json)$`);
/** writeFileAtomic's temp file for `name`: `.name.<12 hex>.tmp`. */
const TEMP_FILE = /^\.(.+)\.[0-9a-f]{12}\.tmp$/;

function isLeftover(name: string): boolean {
  const temp = TEMP_FILE.exec(name);
  const target = temp === null ? name : temp[1];
  return SAVED_FILE.test(target) || (temp !== null && target === MODEL_JSON);
}

/** Writes `data` to `file` through a temp file in the same directory and a rename. */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const temp = join(dirname(file), `.${basename(file)}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    const handle = await open(temp, "wx");
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Reads and parses a JSON file; every failure names the file. */
export async function readJsonFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new Error(code === "ENOENT" ? `${file}: file not found` : `${file}: cannot read: ${describe(error)}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`${file}: invalid JSON: ${describe(error)}`);
  }
}

const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, complex64: 8 };
const QUANTIZED_BYTES: Record<string, number> = { uint8: 1, uint16: 2, float16: 2 };

/** Bytes the specs of one manifest group occupy, or undefined when strings make it unknowable. */
function groupBytes(specs: tf.io.WeightsManifestEntry[]): number | undefined {
  let total = 0;
  for (const spec of specs) {
    if (spec.dtype === "string") return undefined;
    const count = spec.shape.reduce((product, dim) => product * dim, 1);
    const bytes = spec.quantization?.dtype != null
      ? QUANTIZED_BYTES[spec.quantization.dtype]
      : DTYPE_BYTES[spec.dtype];
    if (bytes === undefined) return undefined;
    total += count * bytes;
  }
  return total;
}

/** Reads every weight file of the manifest in order and checks each group's total size. */
async function readWeights(
  modelFile: string, manifest: tf.io.WeightsManifestConfig,
): Promise<[tf.io.WeightsManifestEntry[], ArrayBuffer]> {
  if (!Array.isArray(manifest)) throw new Error(`${modelFile}: weightsManifest must be an array`);
  const specs: tf.io.WeightsManifestEntry[] = [];
  const buffers: ArrayBuffer[] = [];
  for (const group of manifest) {
    if (!Array.isArray(group?.paths) || !Array.isArray(group?.weights)) {
      throw new Error(`${modelFile}: every weightsManifest entry needs "paths" and "weights" arrays`);
    }
    let actual = 0;
    const files = group.paths.map((path) => join(dirname(modelFile), path));
    for (const file of files) {
      let bytes: Buffer;
      try {
        bytes = await readFile(file);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        throw new Error(code === "ENOENT"
          ? `${file}: weight file listed in ${modelFile} not found`
          : `${file}: cannot read weight file: ${describe(error)}`);
      }
      buffers.push(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
      actual += bytes.byteLength;
    }
    const expected = groupBytes(group.weights);
    if (expected !== undefined && expected !== actual) {
      throw new Error(`${files.join(", ")}: weight data is ${actual} bytes, but the manifest in ` +
        `${modelFile} describes ${expected} bytes (${group.weights.map((w) => w.name).join(", ")})`);
    }
    specs.push(...group.weights);
  }
  return [specs, tf.io.CompositeArrayBuffer.join(buffers)];
}

/** The model.json tfjs reads, for artifacts whose weights lie in `weightsFile`. */
function modelJsonOf(artifacts: tf.io.ModelArtifacts, weightsFile: string, metadata: tf.io.ModelJSON["userDefinedMetadata"]): tf.io.ModelJSON {
  const modelJSON: tf.io.ModelJSON = {
    modelTopology: artifacts.modelTopology as tf.io.ModelJSON["modelTopology"],
    format: artifacts.format,
    generatedBy: artifacts.generatedBy ?? GENERATED_BY,
    convertedBy: artifacts.convertedBy ?? null,
    weightsManifest: [{ paths: [weightsFile], weights: artifacts.weightSpecs ?? [] }],
  };
  if (artifacts.trainingConfig != null) modelJSON.trainingConfig = artifacts.trainingConfig;
  if (metadata != null) modelJSON.userDefinedMetadata = metadata;
  if (artifacts.signature != null) modelJSON.signature = artifacts.signature;
  if (artifacts.modelInitializer != null) modelJSON.modelInitializer = artifacts.modelInitializer;
  if (artifacts.initializerSignature != null) modelJSON.initializerSignature = artifacts.initializerSignature;
  return modelJSON;
}

/** Our entry in model.json's userDefinedMetadata, or undefined. */
export function pocketflowMetadata(modelJSON: { userDefinedMetadata?: unknown }): Record<string, unknown> | undefined {
  const metadata = modelJSON.userDefinedMetadata as Record<string, unknown> | undefined;
  const entry = metadata?.[METADATA_KEY];
  return entry !== null && typeof entry === "object" && !Array.isArray(entry) ? entry as Record<string, unknown> : undefined;
}

/**
 * The metadata with our entry's `sidecar` set to `sidecar`, or removed when undefined: a model
 * loaded from one of our directories carries the old reference, and a save that writes no
 * sidecar cannot vouch that the old one still describes the weights.
 */
function withSidecar(metadata: tf.io.ModelArtifacts["userDefinedMetadata"], sidecar: string | undefined): tf.io.ModelJSON["userDefinedMetadata"] {
  const { [METADATA_KEY]: _old, ...others } = metadata ?? {};
  const entry = { ...pocketflowMetadata({ userDefinedMetadata: metadata }) };
  delete entry.sidecar;
  if (sidecar !== undefined) entry.sidecar = sidecar;
  const result: Record<string, unknown> = Object.keys(entry).length > 0 ? { ...others, [METADATA_KEY]: entry } : others;
  return Object.keys(result).length > 0 ? result as tf.io.ModelJSON["userDefinedMetadata"] : undefined;
}

/** Plain file names in the directory that a model.json refers to: weight files and the sidecar. */
function referencedFiles(modelJSON: unknown): Set<string> {
  const names = new Set<string>();
  const json = modelJSON as Partial<tf.io.ModelJSON> | null;
  if (json === null || typeof json !== "object") return names;
  const add = (name: unknown): void => {
    // Only plain names inside the directory: never delete what lies elsewhere.
    if (typeof name === "string" && name === basename(name) && name !== "." && name !== ".." && name !== MODEL_JSON) names.add(name);
  };
  if (Array.isArray(json.weightsManifest)) for (const group of json.weightsManifest) if (Array.isArray(group?.paths)) group.paths.forEach(add);
  add(pocketflowMetadata(json)?.sidecar);
  return names;
}

/** Makes the renames in `dir` durable before anything is deleted; not every platform can. */
async function syncDirectory(dir: string): Promise<void> {
  try {
    const handle = await open(dir, "r");
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Windows cannot open a directory; its renames are ordered anyway.
  }
}

/**
 * Removes, once the new model.json is in place, the files the old one referenced and the
 * leftovers of saves that died, except what the new one references. Best effort: a file left
 * is harmless (nothing references it) and the next save tries again.
 */
async function removeUnreferenced(dir: string, previous: Set<string>, current: Set<string>): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (current.has(name) || !(previous.has(name) || isLeftover(name))) continue;
    await rm(join(dir, name), { force: true }).catch(() => undefined);
  }
}

/** What the model.json in `dir` references now; nothing when it is absent or unreadable. */
async function currentReferences(dir: string): Promise<Set<string>> {
  try {
    return referencedFiles(JSON.parse(await readFile(join(dir, MODEL_JSON), "utf8")));
  } catch {
    return new Set();
  }
}

/**
 * Writes a model directory consistently (see the top of this file): `weights-<id>.bin`, then
 * `pocketflow-<id>.json` when `sidecarText` is given (referenced from model.json's
 * userDefinedMetadata.pocketflow.sidecar), then model.json, then removes what is no longer
 * referenced.
 */
export async function saveArtifacts(path: string, artifacts: tf.io.ModelArtifacts, sidecarText?: string): Promise<tf.io.SaveResult> {
  const dir = resolve(path);
  if (artifacts.modelTopology == null) throw new Error(`${dir}: cannot save a model without modelTopology`);
  if (artifacts.modelTopology instanceof ArrayBuffer) throw new Error(`${dir}: saving a binary model topology is not supported; expected JSON`);
  await mkdir(dir, { recursive: true });
  const previous = await currentReferences(dir);
  const saveId = randomBytes(SAVE_ID_HEX / 2).toString("hex");
  const weightsFile = weightsFileOf(saveId);
  const metadata = withSidecar(artifacts.userDefinedMetadata, sidecarText === undefined ? undefined : sidecarFileOf(saveId));
  const modelJSON = modelJsonOf(artifacts, weightsFile, metadata);
  const files: Array<[string, string | Uint8Array]> = [[weightsFile, new Uint8Array(tf.io.CompositeArrayBuffer.join(artifacts.weightData ?? []))]];
  if (sidecarText !== undefined) files.push([sidecarFileOf(saveId), sidecarText]);
  const written: string[] = [];
  try {
    for (const [name, data] of files) {
      written.push(join(dir, name));
      await writeFileAtomic(join(dir, name), data);
    }
    await writeFileAtomic(join(dir, MODEL_JSON), JSON.stringify(modelJSON)); // the commit
  } catch (error) {
    await Promise.all(written.map((file) => rm(file, { force: true }).catch(() => undefined)));
    throw error;
  }
  await syncDirectory(dir);
  await removeUnreferenced(dir, previous, referencedFiles(modelJSON));
  return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
}

/**
 * Saves to and loads from a model directory. `path` is the directory for save; for load it is
 * either the `model.json` file or the directory that holds it.
 */
export class FileDirectoryHandler implements tf.io.IOHandler {
  readonly path: string;

  constructor(path: string) {
    if (typeof path !== "string" || path.length === 0) {
      throw new Error(`FileDirectoryHandler: path must be a non-empty string, but got ${String(path)}`);
    }
    this.path = resolve(path);
  }

  async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
    return saveArtifacts(this.path, artifacts);
  }

  async load(): Promise<tf.io.ModelArtifacts> {
    const modelFile = await this.modelFile();
    const json = await readJsonFile(modelFile);
    if (json === null || typeof json !== "object" || Array.isArray(json)) {
      throw new Error(`${modelFile}: expected a JSON object with modelTopology and weightsManifest`);
    }
    const modelJSON = json as tf.io.ModelJSON;
    if (modelJSON.modelTopology == null) throw new Error(`${modelFile}: missing modelTopology`);
    if (modelJSON.weightsManifest == null) {
      return tf.io.getModelArtifactsForJSONSync(modelJSON);
    }
    return tf.io.getModelArtifactsForJSON(modelJSON, (manifest) => readWeights(modelFile, manifest));
  }

  /** `path` itself when it is a file, `path/model.json` when it is a directory. */
  private async modelFile(): Promise<string> {
    try {
      return (await stat(this.path)).isDirectory() ? join(this.path, MODEL_JSON) : this.path;
    } catch {
      return this.path; // readJsonFile reports the missing file by name.
    }
  }
}

/** Writes `pocketflow.json` into `dir` atomically (the directory must exist). */
export async function writeSidecar(dir: string, value: unknown): Promise<void> {
  const text = JSON.stringify(value, null, 2);
  if (text === undefined) throw new Error(`writeSidecar: value must be JSON-serializable, but got ${typeof value}`);
  await writeFileAtomic(join(dir, SIDECAR_JSON), text + "\n");
}

/** Reads `pocketflow.json` from `dir`; undefined when there is none. */
export async function readSidecar(dir: string): Promise<unknown> {
  const file = join(dir, SIDECAR_JSON);
  try {
    await stat(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new Error(`${file}: cannot read: ${describe(error)}`);
  }
  return readJsonFile(file);
}
