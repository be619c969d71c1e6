// What a command is pointed at before it loads a model: the directory that holds model.json.
// Users pass the model.json file itself, or a folder that is not there (yet); each gets the
// reason and the fix instead of a raw ENOTDIR or a bare "file not found".
import { stat } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { MODEL_JSON } from "./file-handler.js";

/** The path given is not a model directory: the CLI reports it as a usage error. */
export class ModelPathError extends Error {
  override name = "ModelPathError";
}

const HOW_TO_GET = `pass the folder that holds ${MODEL_JSON} (train one with \`pocketflow train\`)`;

async function kindOf(path: string): Promise<"directory" | "file" | "missing"> {
  try {
    return (await stat(path)).isDirectory() ? "directory" : "file";
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return "missing";
    throw new Error(`'${path}': cannot read: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** The absolute path of the model directory `dir`, checked to be a directory holding model.json. */
export async function checkModelDirectory(dir: string): Promise<string> {
  const root = resolve(dir);
  const kind = await kindOf(root);
  if (kind === "missing") throw new ModelPathError(`no model directory at '${dir}'; ${HOW_TO_GET}`);
  if (kind === "file") {
    const fix = basename(root) === MODEL_JSON ? `pass its folder '${dirname(dir)}'` : HOW_TO_GET;
    throw new ModelPathError(`'${dir}' is a file, but a model directory (the folder holding ${MODEL_JSON}) is expected; ${fix}`);
  }
  if ((await kindOf(join(root, MODEL_JSON))) !== "file") throw new ModelPathError(`'${dir}' holds no ${MODEL_JSON}, so it is not a model directory; ${HOW_TO_GET}`);
  return root;
}
