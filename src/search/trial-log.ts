// The trial log, `trials.jsonl` in the search's output directory: one JSON line per finished
// trial, appended with a single write and an fsync, so a search killed at any moment (kill -9)
// leaves every finished trial on disk and at most a torn last line, which reading ignores (and a
// resumed search cuts off before appending). A resumed search replays the log through ask and
// tell instead of running its trials again.
import { closeSync, fsyncSync, openSync, writeSync } from "node:fs";
import { readFile, truncate } from "node:fs/promises";
import type { ModelMeasurement } from "../learners/compress.js";
import type { Point } from "./space.js";

export const TRIAL_LOG = "trials.jsonl";

/**
 * What a trial measured of its candidate: compress's measurements of it (validation split only,
 * never the test set; latency on our backend when the search measures it).
 */
export type TrialMetrics = Pick<ModelMeasurement, "macs" | "params" | "unprunedParams" | "weightBytes" | "sparseBytes" | "packedBytes" | "latencyMs"> & {
  validationAccuracy: number;
};

export interface TrialRecord {
  index: number;
  /** The point the optimizer asked for. */
  point: Point;
  /** The point evaluated: the asked one after the budget's repair. */
  repaired: Point;
  /** The reward (higher is better); absent when the trial failed. */
  score?: number;
  metrics?: TrialMetrics;
  seconds: number;
  /** Why the trial failed (the learner's error, the worker's exit or memory limit). */
  error?: string;
  /** The learner's baseline this trial evaluated (the first trials), instead of an asked point. */
  baseline?: string;
}

/** Appends one record as one line: a single write, then fsync, so the line is whole or torn, never interleaved. */
export function appendTrial(path: string, record: TrialRecord): void {
  const fd = openSync(path, "a");
  try {
    writeSync(fd, `${JSON.stringify(record)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * The finished trials of a log (none when there is no log). A last line without its newline was
 * torn by a kill mid-write and is ignored; `repair` cuts it off the file so appends start clean.
 * A complete line that is not a trial is an error naming the line.
 */
export async function readTrials(path: string, options: { repair?: boolean } = {}): Promise<TrialRecord[]> {
  const text = await readFile(path, "utf8").catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return "";
    throw error;
  });
  const end = text.lastIndexOf("\n") + 1;
  if (end < text.length && options.repair === true) await truncate(path, Buffer.byteLength(text.slice(0, end)));
  const records = text.slice(0, end).split("\n").filter((line) => line.trim() !== "").map((line, i) => {
    let record: TrialRecord;
    try {
      record = JSON.parse(line) as TrialRecord;
    } catch {
      throw new Error(`${path}: line ${i + 1} is not JSON; the log was changed by hand: restore it, or start the search in a new --out`);
    }
    if (record.index !== i || typeof record.point !== "object" || typeof record.repaired !== "object") {
      throw new Error(`${path}: line ${i + 1} is not trial ${i} (index ${JSON.stringify(record.index)}); the log was changed by hand: restore it, or start the search in a new --out`);
    }
    return record;
  });
  return records;
}
