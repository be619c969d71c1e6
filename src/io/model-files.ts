// The files a model directory consists of: model.json, the sidecar, and exactly the weight files
// model.json's manifest names. Weight files are named by whoever exported the model (tfjs's
// converter writes `group1-shard1of1`, with no extension), so a directory listing filtered by
// extension would miss some and count strangers.
import { stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { MODEL_JSON, SIDECAR_JSON, pocketflowMetadata, readJsonFile } from "./file-handler.js";

export interface ModelFile {
  /** Path relative to the model directory, as model.json names it. */
  name: string;
  sizeBytes: number;
}

/** Weight file names of the manifest, in order, each once. */
function manifestPaths(modelFile: string, modelJSON: Record<string, unknown>): string[] {
  const manifest = modelJSON.weightsManifest ?? [];
  if (!Array.isArray(manifest)) throw new Error(`${modelFile}: weightsManifest must be an array`);
  const paths = manifest.flatMap((group: { paths?: unknown }) => (Array.isArray(group?.paths) ? group.paths : []));
  const bad = paths.find((path) => typeof path !== "string");
  if (bad !== undefined) throw new Error(`${modelFile}: weightsManifest paths must be file names, but got ${JSON.stringify(bad)}`);
  return [...new Set(paths as string[])];
}

async function sizeOrMissing(file: string): Promise<number | undefined> {
  try {
    return (await stat(file)).size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new Error(`${file}: cannot read: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** The files of the model directory `dir` with their sizes; a file model.json names that is missing is an error. */
export async function modelFiles(dir: string): Promise<ModelFile[]> {
  const root = resolve(dir);
  const modelFile = join(root, MODEL_JSON);
  const modelJSON = await readJsonFile(modelFile);
  if (modelJSON === null || typeof modelJSON !== "object" || Array.isArray(modelJSON)) throw new Error(`${modelFile}: expected a JSON object`);
  const json = modelJSON as Record<string, unknown>;
  const referencedSidecar = pocketflowMetadata(json)?.sidecar;
  const names = [MODEL_JSON, ...manifestPaths(modelFile, json)];
  if (typeof referencedSidecar === "string") names.push(referencedSidecar);
  // Older directories keep an unreferenced pocketflow.json, which loadModel reads when present.
  else if ((await sizeOrMissing(join(root, SIDECAR_JSON))) !== undefined) names.push(SIDECAR_JSON);
  const files: ModelFile[] = [];
  for (const name of names) {
    const sizeBytes = await sizeOrMissing(join(root, name));
    if (sizeBytes === undefined) throw new Error(`${modelFile} names '${name}', which is missing from ${root}; copy the model directory again with every file model.json lists`);
    files.push({ name, sizeBytes });
  }
  return files;
}
