// The --out directory of `pocketflow train`: what a run may do with what is already there, and
// cleaning up after a run that fails. A finished model is never overwritten without --force, a
// --resume with nothing to resume is refused instead of quietly starting over, and a directory
// the run created is removed again when the run fails before it wrote anything resumable.
import { access, mkdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { MODEL_JSON } from "../io/file-handler.js";
import { UsageError } from "./args.js";

export const CHECKPOINT_FILE = "train-checkpoint.msgpack";

/** What --out holds before the run starts. */
export interface OutDirContents {
  exists: boolean;
  hasModel: boolean;
  hasCheckpoint: boolean;
}

const exists = (path: string): Promise<boolean> => access(path).then(() => true, () => false);

export async function inspectOutDir(out: string): Promise<OutDirContents> {
  const info = await stat(out).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return undefined;
    throw error;
  });
  if (info === undefined) return { exists: false, hasModel: false, hasCheckpoint: false };
  if (!info.isDirectory()) throw new UsageError(`pocketflow train: --out must be a directory to write the model to, but '${out}' is a file; pass another path`);
  return { exists: true, hasModel: await exists(join(out, MODEL_JSON)), hasCheckpoint: await exists(join(out, CHECKPOINT_FILE)) };
}

/**
 * Refuses what would lose work or do nothing useful: starting over on a model or checkpoint
 * without --force, and resuming where there is no checkpoint. A finished run keeps its checkpoint
 * (trainer.ts), so resuming one finds it and reports the finished result.
 */
export function checkOutDir(out: string, contents: OutDirContents, flags: { resume: boolean; force: boolean }): void {
  if (flags.resume && flags.force) throw new UsageError("pocketflow train: give --resume (continue the run in --out) or --force (start it over), not both");
  if (flags.resume) {
    if (contents.hasCheckpoint) return;
    if (contents.hasModel) {
      throw new UsageError(`pocketflow train: nothing to resume in ${out}: it holds a model but no training checkpoint (${CHECKPOINT_FILE}); drop --resume and pass --force to train it again from the start`);
    }
    throw new UsageError(`pocketflow train: nothing to resume in ${out}; drop --resume to start`);
  }
  if (flags.force) return;
  const what = contents.hasModel ? `a model (${MODEL_JSON})` : contents.hasCheckpoint ? `a training checkpoint (${CHECKPOINT_FILE})` : undefined;
  if (what !== undefined) throw new UsageError(`pocketflow train: ${out} already holds ${what}; pass --force to overwrite it, or --resume to continue its run`);
}

/**
 * Creates --out when needed, runs `body`, and when `body` fails removes what this call created,
 * unless the run left a checkpoint or a model in it (work a --resume can continue). A directory
 * that existed before is never removed. A forced start drops the old run's checkpoint first, so
 * that a resume can never pair it with the new run's model.
 */
export async function withOutDir<T>(out: string, contents: OutDirContents, force: boolean, body: () => Promise<T>): Promise<T> {
  // mkdir reports the first directory it had to create: removing that one removes all it made
  const created = await mkdir(out, { recursive: true });
  if (force && contents.hasCheckpoint) await rm(join(out, CHECKPOINT_FILE), { force: true });
  try {
    return await body();
  } catch (error) {
    if (created !== undefined && !(await exists(join(out, CHECKPOINT_FILE))) && !(await exists(join(out, MODEL_JSON)))) {
      await rm(created, { recursive: true, force: true });
    }
    throw error;
  }
}
