// A tfjs IOHandler for a model directory on the local file system: `model.json` plus its
// weight files, the layout plain `tf.loadLayersModel` reads. Plain @tensorflow/tfjs ships no
// file handler for Node, so we provide one. Every file is written to a temp file in the same
// directory and then renamed, so a reader never sees a half-written file (rename is atomic
// within one file system).
import { randomBytes } from "node:crypto";
import { mkdir, open, readFile, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import * as tf from "@tensorflow/tfjs-core";

export const MODEL_JSON = "model.json";
export const WEIGHTS_BIN = "weights.bin";
export const SIDECAR_JSON = "pocketflow.json";
const GENERATED_BY = "pocketflow-js";

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
async function readJsonFile(file: string): Promise<unknown> {
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
    if (artifacts.modelTopology == null) throw new Error(`${this.path}: cannot save a model without modelTopology`);
    if (artifacts.modelTopology instanceof ArrayBuffer) {
      throw new Error(`${this.path}: saving a binary model topology is not supported; expected JSON`);
    }
    await mkdir(this.path, { recursive: true });
    const weightsManifest: tf.io.WeightsManifestConfig = [{ paths: [WEIGHTS_BIN], weights: artifacts.weightSpecs ?? [] }];
    const modelJSON: tf.io.ModelJSON = {
      modelTopology: artifacts.modelTopology,
      format: artifacts.format,
      generatedBy: artifacts.generatedBy ?? GENERATED_BY,
      convertedBy: artifacts.convertedBy ?? null,
      weightsManifest,
    };
    if (artifacts.trainingConfig != null) modelJSON.trainingConfig = artifacts.trainingConfig;
    if (artifacts.userDefinedMetadata != null) modelJSON.userDefinedMetadata = artifacts.userDefinedMetadata;
    if (artifacts.signature != null) modelJSON.signature = artifacts.signature;
    if (artifacts.modelInitializer != null) modelJSON.modelInitializer = artifacts.modelInitializer;
    if (artifacts.initializerSignature != null) modelJSON.initializerSignature = artifacts.initializerSignature;
    const weights = new Uint8Array(tf.io.CompositeArrayBuffer.join(artifacts.weightData ?? []));
    // Weights first: model.json is the entry point, so it only appears once its weights exist.
    await writeFileAtomic(join(this.path, WEIGHTS_BIN), weights);
    await writeFileAtomic(join(this.path, MODEL_JSON), JSON.stringify(modelJSON));
    return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
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
