// A compressed model in a model directory: the graph as the tfjs LayersModel, its masks,
// quantization and history in the sidecar, so a chain can stop after any learner and go on later
// (`pocketflow compress --model <the last one's output>`). Other sidecar fields (the
// preprocessing a model was trained with) travel beside it untouched.
import type { CompressedModel } from "../graph/compressed-model.js";
import { loadModel, newSidecar, saveModel, type ModelSidecar } from "./model-dir.js";

export interface LoadedCompressedModel {
  model: CompressedModel;
  /** The sidecar's other fields (preprocessing, ...), as they were. */
  extras: Record<string, unknown>;
}

/** The sidecar of a compressed model, with the extras kept. */
export function sidecarOf(model: CompressedModel, extras: Record<string, unknown> = {}): ModelSidecar {
  const { masks, quantization, history } = model;
  return {
    ...extras,
    ...newSidecar(),
    history,
    ...(Object.keys(masks).length > 0 ? { masks } : {}),
    ...(Object.keys(quantization).length > 0 ? { quantization } : {}),
  };
}

/** Splits a sidecar into the compressed model's parts and the rest. */
export function compressedModelOf(graph: CompressedModel["graph"], sidecar: ModelSidecar | undefined): LoadedCompressedModel {
  const { formatVersion: _version, producedBy: _producer, history = [], masks = {}, quantization = {}, ...extras } = sidecar ?? newSidecar();
  return { model: { graph, masks, quantization, history }, extras };
}

/** Saves atomically (see saveModel): a crash leaves the old directory or the new one. */
export async function saveCompressedModel(dir: string, model: CompressedModel, extras: Record<string, unknown> = {}): Promise<void> {
  await saveModel(dir, model.graph, sidecarOf(model, extras));
}

/** Loads a model directory as a compressed model; a plain tfjs directory loads as an uncompressed one. */
export async function loadCompressedModel(dir: string): Promise<LoadedCompressedModel> {
  const { graph, sidecar } = await loadModel(dir);
  return compressedModelOf(graph, sidecar);
}
