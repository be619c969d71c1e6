// Training checkpoints: everything a killed run needs to continue as if it had never stopped —
// the step, every model weight (batch-norm moving statistics included), the optimizer's slots,
// the metrics so far, and a fingerprint of the run's options so that a resume with different
// options is refused instead of silently mixing two runs. Packed with msgpackr (typed arrays
// travel as raw bytes) and written atomically (temp file, then rename).
import { readdir, readFile, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { Packr } from "msgpackr";
import { writeFileAtomic } from "../io/file-handler.js";
import type { TrainingOptimizerState } from "./optimizers.js";

export const CHECKPOINT_FORMAT = 1;

export interface CheckpointWeight {
  name: string;
  shape: number[];
  values: Float32Array;
}

export interface EpochMetrics {
  epoch: number;
  loss: number;
  accuracy: number;
  validationLoss?: number;
  validationAccuracy?: number;
  learningRate: number;
  seconds: number;
}

export interface Checkpoint {
  format: number;
  /** What must not change between the run that wrote this and the one that resumes it. */
  fingerprint: Record<string, unknown>;
  /** Training steps completed. */
  globalStep: number;
  weights: CheckpointWeight[];
  optimizer: TrainingOptimizerState;
  history: EpochMetrics[];
  /** Running sums of the epoch in progress, so its metrics come out the same after a resume. */
  epochProgress: { lossSum: number; correct: number; seen: number; seconds: number };
  /**
   * Seconds spent training up to this checkpoint, summed over every process of the run, so a
   * resumed run reports the whole run's time. Added within format 1: absent in older checkpoints,
   * which still load (their earlier processes then count as 0 s).
   */
  trainingSeconds?: number;
}

const packr = new Packr({ moreTypes: true });

// msgpackr may hand back views into the file buffer at any offset; copy into aligned arrays.
const ownArray = (values: ArrayLike<number>): Float32Array => Float32Array.from(values);

export async function writeCheckpoint(file: string, checkpoint: Checkpoint): Promise<void> {
  await writeFileAtomic(file, packr.pack(checkpoint));
}

export async function readCheckpoint(file: string): Promise<Checkpoint> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (error) {
    throw new Error(`${file}: cannot read checkpoint: ${(error as Error).message}`);
  }
  let checkpoint: Checkpoint;
  try {
    checkpoint = packr.unpack(bytes) as Checkpoint;
  } catch (error) {
    throw new Error(`${file}: not a pocketflow checkpoint (msgpack decode failed: ${(error as Error).message}); delete it to start over`);
  }
  if (checkpoint === null || typeof checkpoint !== "object" || checkpoint.format !== CHECKPOINT_FORMAT || !Array.isArray(checkpoint.weights)) {
    throw new Error(`${file}: not a pocketflow checkpoint of format ${CHECKPOINT_FORMAT}; delete it to start over`);
  }
  for (const weight of checkpoint.weights) weight.values = ownArray(weight.values);
  for (const name of Object.keys(checkpoint.optimizer.slots)) checkpoint.optimizer.slots[name] = checkpoint.optimizer.slots[name].map(ownArray);
  return checkpoint;
}

/**
 * Removes the temp files writeFileAtomic leaves beside `file` (`.name.<12 hex>.tmp`) when its
 * process is killed between writing and renaming; returns their names. Only one process may
 * train into a directory at a time, so a temp file present when a run starts is stale.
 */
export async function removeStaleCheckpointTemps(file: string): Promise<string[]> {
  const directory = dirname(file);
  const prefix = `.${basename(file)}.`;
  let names: string[];
  try {
    names = await readdir(directory);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  const stale = names.filter((name) => name.startsWith(prefix) && /^[0-9a-f]{12}\.tmp$/.test(name.slice(prefix.length)));
  await Promise.all(stale.map((name) => rm(join(directory, name), { force: true })));
  return stale;
}

/** The keys whose values differ between two fingerprints (compared as JSON). */
export function fingerprintDifferences(saved: Record<string, unknown>, current: Record<string, unknown>): string[] {
  const keys = new Set([...Object.keys(saved), ...Object.keys(current)]);
  return [...keys].filter((key) => JSON.stringify(saved[key]) !== JSON.stringify(current[key]));
}
